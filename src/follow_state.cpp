#include "groupchat/follow_state.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace gc {

using nlohmann::json;

FollowState::FollowState(std::string user_uuid, std::optional<int64_t> since_seq,
                         FollowTiming timing)
    : user_uuid_(std::move(user_uuid)), timing_(timing), last_(since_seq.value_or(-1)) {}

void FollowState::start(int64_t now_ms, FollowOutput& out) {
  fetching_ = false;
  outstanding_ = 0;
  waiting_since_ms_ = -1;
  send_follow(now_ms, out);
}

void FollowState::send_follow(int64_t now_ms, FollowOutput& out) {
  json req = {{"action", "follow"}, {"user_uuid", user_uuid_}};
  if (last_ >= 0) req["since_seq"] = last_;
  out.requests.push_back(req.dump());
  if (outstanding_++ == 0) waiting_since_ms_ = now_ms;
  next_renew_ms_ = now_ms + timing_.renew_ms;
}

void FollowState::send_fetch(int64_t now_ms, FollowOutput& out) {
  json req = {{"action", "getMessage"},
              {"user_uuid", user_uuid_},
              {"since_seq", std::max<int64_t>(last_, 0)},
              {"limit", timing_.fetch_limit}};
  out.requests.push_back(req.dump());
  if (outstanding_++ == 0) waiting_since_ms_ = now_ms;
  fetching_ = true;
}

void FollowState::catch_up_if_behind(int64_t now_ms, FollowOutput& out) {
  if (!fetching_ && last_ >= 0 && known_last_ > last_) send_fetch(now_ms, out);
}

void FollowState::offer(ChatMessage msg, FollowOutput& out) {
  if (!msg.seq) return;
  if (*msg.seq != last_ + 1) return;  // a duplicate, or past a gap the fetch will fill
  last_ = *msg.seq;
  out.to_show.push_back(std::move(msg));
}

namespace {

ChatMessage to_message(const json& j) {
  ChatMessage m;
  m.user_uuid = j.value("user_uuid", "");
  m.name = j.value("name", "");
  m.message = j.value("message", "");
  m.timestamp = j.value("timestamp", "");
  if (j.contains("seq") && j["seq"].is_number_integer()) m.seq = j["seq"].get<int64_t>();
  return m;
}

}  // namespace

void FollowState::on_frame(std::string_view body, int64_t now_ms, FollowOutput& out) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return;  // not ours to understand; ignore

  if (j.contains("event")) {
    if (j["event"] != "message") return;
    ChatMessage m = to_message(j);
    if (!m.seq) return;
    known_last_ = std::max(known_last_, *m.seq);
    if (last_ < 0) return;  // the follow reply will tell us where we start
    if (!fetching_ && *m.seq > last_ + 1) {
      send_fetch(now_ms, out);  // a gap: pushes were dropped or came before the follow
      return;
    }
    if (!fetching_) offer(std::move(m), out);
    return;
  }

  // A reply to one of our requests.
  out.answered = true;
  if (outstanding_ > 0 && --outstanding_ == 0)
    waiting_since_ms_ = -1;
  else if (outstanding_ > 0)
    waiting_since_ms_ = now_ms;
  if (j.value("response", "") != "SUCCESS") {
    std::string error = j.value("error", "");
    out.refused = error.empty() ? "the group refused to deliver messages" : error;
    return;
  }
  std::optional<int64_t> reply_last;
  if (j.contains("last_seq") && j["last_seq"].is_number_integer()) {
    reply_last = j["last_seq"].get<int64_t>();
    known_last_ = std::max(known_last_, *reply_last);
  }
  if (j.contains("messages") && j["messages"].is_array()) {
    fetching_ = false;
    for (const auto& item : j["messages"]) {
      if (!item.is_object()) continue;
      ChatMessage m = to_message(item);
      if (m.seq) {
        known_last_ = std::max(known_last_, *m.seq);
        if (*m.seq > last_ + 1) last_ = *m.seq - 1;  // seqs are contiguous; nothing to wait for
        offer(std::move(m), out);
      }
    }
    if (j.value("more", false)) {
      send_fetch(now_ms, out);
      return;
    }
  } else if (last_ < 0) {
    // Follow from now on: the reply's last_seq is where "now" is. A push that
    // overtook the reply (stored in the same batch) is fetched, not skipped.
    last_ = std::max<int64_t>(reply_last.value_or(known_last_), 0);
  }
  catch_up_if_behind(now_ms, out);
}

void FollowState::on_tick(int64_t now_ms, FollowOutput& out) {
  if (waiting_since_ms_ >= 0 && now_ms - waiting_since_ms_ >= timing_.reply_timeout_ms) {
    // Lazy Pirate for a long-lived connection: no answer, so start afresh.
    out.reconnect = true;
    return;
  }
  if (now_ms >= next_renew_ms_) send_follow(now_ms, out);
}

int64_t FollowState::next_deadline_ms() const {
  int64_t d = next_renew_ms_;
  if (waiting_since_ms_ >= 0) d = std::min(d, waiting_since_ms_ + timing_.reply_timeout_ms);
  return d;
}

}  // namespace gc

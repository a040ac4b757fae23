#include "client/follow_state.hpp"

#include <algorithm>

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
  out.requests.push_back(
      make_follow_request(user_uuid_, last_ >= 0 ? std::optional(last_) : std::nullopt));
  if (outstanding_++ == 0) waiting_since_ms_ = now_ms;
  next_renew_ms_ = now_ms + timing_.renew_ms;
}

void FollowState::send_fetch(int64_t now_ms, FollowOutput& out) {
  MessageQuery query;
  query.since_seq = std::max<int64_t>(last_, 0);
  query.limit = timing_.fetch_limit;
  out.requests.push_back(make_get_request(user_uuid_, query));
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

void FollowState::on_frame(std::string_view body, int64_t now_ms, FollowOutput& out) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return;  // not ours to understand; ignore

  if (j.contains("event")) {
    std::optional<ChatMessage> m = decode_push(j);
    if (!m || !m->seq) return;
    known_last_ = std::max(known_last_, *m->seq);
    if (last_ < 0) return;  // the follow reply will tell us where we start
    if (!fetching_ && *m->seq > last_ + 1) {
      send_fetch(now_ms, out);  // a gap: pushes were dropped or came before the follow
      return;
    }
    if (!fetching_) offer(std::move(*m), out);
    return;
  }

  // A reply to one of our requests.
  out.answered = true;
  if (outstanding_ > 0 && --outstanding_ == 0)
    waiting_since_ms_ = -1;
  else if (outstanding_ > 0)
    waiting_since_ms_ = now_ms;
  auto reply = decode_parsed_group_reply(std::move(j));
  if (!reply || !reply->success) {
    std::string error = reply ? reply->error : std::string();
    out.refused = error.empty() ? "the group refused to deliver messages" : error;
    return;
  }
  const json& fields = reply->body;
  std::optional<int64_t> reply_last = decode_last_seq(fields);
  if (auto id = decode_history_id(fields)) {
    if (!history_id_.empty() && *id != history_id_) {
      history_id_ = std::move(*id);
      return restart_history(reply_last, now_ms, out);
    }
    history_id_ = std::move(*id);
  }
  if (reply_last) known_last_ = std::max(known_last_, *reply_last);
  if (fields.contains("messages")) {
    fetching_ = false;
    auto page = decode_messages(fields);  // a page we cannot read is fetched again
    if (page) {
      for (auto& m : page->messages) {
        if (!m.seq) continue;
        known_last_ = std::max(known_last_, *m.seq);
        if (*m.seq > last_ + 1) last_ = *m.seq - 1;  // seqs are contiguous; nothing to wait for
        offer(std::move(m), out);
      }
    }
    if (page && page->more) {
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

void FollowState::restart_history(std::optional<int64_t> reply_last, int64_t now_ms,
                                  FollowOutput& out) {
  // Whatever this reply carried belongs to the new history but was asked for
  // in terms of the old one: fetch the new history from its first message.
  out.notice =
      "the group's history was replaced (its storage was lost or restored; seq started again); "
      "showing the new history from its first message";
  last_ = 0;
  known_last_ = std::max<int64_t>(reply_last.value_or(0), 0);
  fetching_ = false;
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

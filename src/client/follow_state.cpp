#include "client/follow_state.hpp"

#include <algorithm>
#include <limits>

#include "protocol/json_parse.hpp"

namespace gc {

using nlohmann::json;

namespace {

// The largest seq taken from a server: one below int64's top, so that
// last_ + 1 never overflows whatever a hostile server sends.
constexpr int64_t kMaxSeq = std::numeric_limits<int64_t>::max() - 1;

// A message's seq, or nullopt when it cannot be one (seqs start at 1).
std::optional<int64_t> message_seq(std::optional<int64_t> seq) {
  if (!seq || *seq < 1 || *seq > kMaxSeq) return std::nullopt;
  return seq;
}

}  // namespace

FollowState::FollowState(std::string user_uuid, std::optional<int64_t> since_seq,
                         FollowTiming timing)
    : user_uuid_(std::move(user_uuid)),
      timing_(timing),
      last_(since_seq ? std::min(*since_seq, kMaxSeq) : -1) {}

void FollowState::start(int64_t now_ms, FollowOutput& out) {
  fetching_ = false;
  outstanding_ = 0;
  waiting_since_ms_ = -1;
  heard_ = false;
  probed_ = false;
  probe_outstanding_ = false;
  if (polling_)
    send_poll(now_ms, out);
  else
    send_follow(now_ms, out);
}

void FollowState::send_poll(int64_t now_ms, FollowOutput& out) {
  // No timestamp: the whole history, which a reference group returns in
  // order. Our group (answering a probe) gets a limit and answers one page.
  MessageQuery query;
  query.limit = timing_.fetch_limit;
  out.requests.push_back(make_get_request(user_uuid_, query));
  if (outstanding_++ == 0) waiting_since_ms_ = now_ms;
  next_poll_ms_ = now_ms + timing_.poll_ms;
}

void FollowState::on_poll_page(FetchedPage& page, FollowOutput& out) {
  const auto n = static_cast<int64_t>(page.messages.size());
  if (last_ < 0) {  // from now on: what is there now was stored before
    last_ = n;
    return;
  }
  if (n < last_) {
    // Fewer messages than shown: the group lost its history (a reference
    // group keeps it in memory only) and began again.
    out.notice =
        "the group's history is shorter than what was shown (it was restarted); "
        "showing its new history from its first message";
    last_ = 0;
  }
  for (int64_t i = last_; i < n; ++i)
    out.to_show.push_back(std::move(page.messages[static_cast<size_t>(i)]));
  last_ = n;
  known_last_ = n;
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

void FollowState::problem(std::string what, FollowOutput& out) {
  ++problems_;
  if (problems_ < kMaxFollowProblemReports)
    out.problems.push_back(std::move(what));
  else if (problems_ == kMaxFollowProblemReports)
    out.problems.push_back(std::move(what) + " (further unusable frames are skipped silently)");
}

void FollowState::on_frame(std::string_view body, int64_t now_ms, FollowOutput& out) {
  auto parsed = parse_untrusted_json(body);
  if (!parsed) return problem("skipped a frame that is not JSON: " + parsed.error(), out);
  json& j = *parsed;
  if (!j.is_object()) return problem("skipped a frame that is not a JSON object", out);

  if (auto ev = j.find("event"); ev != j.end()) {
    // Events other than messages are not ours to understand: ignored.
    if (!ev->is_string() || *ev != "message") return;
    auto m = decode_push(j);
    if (!m) return problem("skipped a push: " + m.error(), out);
    m->seq = message_seq(m->seq);
    if (!m->seq) return problem("skipped a push without a usable \"seq\"", out);
    known_last_ = std::max(known_last_, *m->seq);
    if (last_ < 0) return;  // the follow reply will tell us where we start
    if (!fetching_ && *m->seq > last_ + 1) {
      send_fetch(now_ms, out);  // a gap: pushes were dropped or came before the follow
      return;
    }
    if (!fetching_) offer(std::move(*m), out);
    return;
  }
  on_reply(std::move(j), now_ms, out);
}

void FollowState::on_reply(json frame, int64_t now_ms, FollowOutput& out) {
  // A reply to one of our requests.
  out.answered = true;
  heard_ = true;
  if (outstanding_ > 0 && --outstanding_ == 0)
    waiting_since_ms_ = -1;
  else if (outstanding_ > 0)
    waiting_since_ms_ = now_ms;
  auto reply = decode_parsed_group_reply(std::move(frame));
  if (!reply) {
    // Not the protocol: skipped; the next renewal asks again.
    fetching_ = false;
    return problem("skipped a reply: " + reply.error(), out);
  }
  if (!reply->success) {
    out.refused = reply->error.empty() ? "the group refused to deliver messages" : reply->error;
    return;
  }
  const json& fields = reply->body;
  auto reply_last = decode_last_seq(fields);
  if (!reply_last) {
    fetching_ = false;
    return problem("skipped a reply: " + reply_last.error(), out);
  }
  if (*reply_last && (**reply_last < 0 || **reply_last > kMaxSeq)) reply_last->reset();
  if (auto id = decode_public_id(fields)) public_id_ = std::move(*id);
  if (auto id = decode_history_id(fields)) {
    if (!history_id_.empty() && *id != history_id_) {
      history_id_ = std::move(*id);
      return restart_history(*reply_last, now_ms, out);
    }
    history_id_ = std::move(*id);
  }
  if (fields.contains("messages")) {
    const bool probe = probe_outstanding_ && !fetching_;
    probe_outstanding_ = false;
    fetching_ = false;
    auto page = decode_messages(fields);
    if (!page) {
      // Fetched again at the next renewal, not at once: a group that always
      // answers so would otherwise keep us asking as fast as it answers.
      return problem("skipped a page: " + page.error(), out);
    }
    if (page->from_reference && (probe || polling_)) {
      if (!polling_)
        out.notice = "the group does not push messages (a reference group); polling it every " +
                     std::to_string(timing_.poll_ms) + " ms instead";
      polling_ = true;
      return on_poll_page(*page, out);
    }
    if (probe) {
      // Our group answered the probe: it is alive; its page was not asked for
      // from where we stand, so only its last_seq counts (as a follow reply's).
      if (*reply_last) known_last_ = std::max(known_last_, **reply_last);
      if (last_ < 0) last_ = std::max<int64_t>(reply_last->value_or(known_last_), 0);
      return catch_up_if_behind(now_ms, out);
    }
    if (*reply_last) known_last_ = std::max(known_last_, **reply_last);
    return on_page(*page, now_ms, out);
  }
  if (*reply_last) known_last_ = std::max(known_last_, **reply_last);
  if (last_ < 0) {
    // Follow from now on: the reply's last_seq is where "now" is. A push that
    // overtook the reply (stored in the same batch) is fetched, not skipped.
    last_ = std::max<int64_t>(reply_last->value_or(known_last_), 0);
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

void FollowState::on_page(FetchedPage& page, int64_t now_ms, FollowOutput& out) {
  const int64_t before = last_;
  for (auto& m : page.messages) {
    m.seq = message_seq(m.seq);
    if (!m.seq) continue;
    known_last_ = std::max(known_last_, *m.seq);
    if (*m.seq > last_ + 1) last_ = *m.seq - 1;  // seqs are contiguous; nothing to wait for
    offer(std::move(m), out);
  }
  if (last_ == before) {
    // Nothing new although we asked for what is after last_: whatever made
    // us think there was more (a push, last_seq, `more`) is not believed
    // again until the group says so anew; no fetch until then.
    if (page.more)
      problem("skipped a page that says more messages follow but does not advance", out);
    known_last_ = last_;
    return;
  }
  if (page.more) return send_fetch(now_ms, out);
  catch_up_if_behind(now_ms, out);
}

void FollowState::on_tick(int64_t now_ms, FollowOutput& out) {
  if (waiting_since_ms_ >= 0 && now_ms - waiting_since_ms_ >= timing_.reply_timeout_ms) {
    if (!polling_ && !heard_ && !probed_) {
      // Nothing answered the follow: a group that does not push answers a
      // getMessage all the same. Asked once per connection.
      probed_ = true;
      probe_outstanding_ = true;
      outstanding_ = 0;
      send_poll(now_ms, out);
      return;
    }
    // Lazy Pirate for a long-lived connection: no answer, so start afresh.
    out.reconnect = true;
    return;
  }
  if (polling_) {
    if (outstanding_ == 0 && now_ms >= next_poll_ms_) send_poll(now_ms, out);
    return;
  }
  if (now_ms >= next_renew_ms_) send_follow(now_ms, out);
}

void FollowState::on_connected(int64_t now_ms) {
  if (waiting_since_ms_ >= 0) waiting_since_ms_ = now_ms;
}

int64_t FollowState::next_deadline_ms() const {
  int64_t d = polling_ ? next_poll_ms_ : next_renew_ms_;
  if (waiting_since_ms_ >= 0) d = std::min(d, waiting_since_ms_ + timing_.reply_timeout_ms);
  return d;
}

}  // namespace gc

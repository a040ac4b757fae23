#pragma once
// FollowState: the follower's side of live delivery, sans IO.
//
// A follower holds one DEALER connection to a group server. It sends
// `follow` (and renews it every renew_ms), receives pushed messages, and
// fetches with getMessage since_seq whatever it missed: a gap in the pushed
// sequence numbers, messages stored while it was away, or a server restart.
// Messages come out exactly once, in sequence order, because only the message
// whose seq is last_seq + 1 is ever shown (the Clone pattern: state replay by
// sequence number). The IO layer sends the requests it is told to, feeds every
// frame and clock tick in, and recreates its socket when told to reconnect.
//
// A group that does not push (the reference's group.py) answers no `follow`
// at all. When a connection's follow goes unanswered for reply_timeout_ms,
// one getMessage is sent on it as a probe: a reply without our fields
// (no last_seq) is a reference group, and the follower then polls getMessage
// every poll_ms instead, says so once (notice), and shows what it has not
// shown: with no timestamp a reference group returns its whole history in
// order, so a message's position is its seq. No answer to the probe either:
// the group is silent, and the follower reconnects as before.
//
// Seqs only mean something within one history. Our group server names its
// history in every follow and getMessage reply ("history_id"); when the id
// changes (the group's file was lost and a new history began at seq 1), the
// follower starts again from the new history's first message and says so
// once, instead of waiting for seqs past the old ones.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/group_protocol.hpp"
#include "protocol/limits.hpp"

namespace gc {

struct FollowTiming {
  int renew_ms = kFollowRenewMs;  // how often the follow is renewed
  int reply_timeout_ms = 3000;    // no reply to a request for this long: reconnect
  // A connection whose handshake has not finished is being set up (several
  // round trips on a slow network), not silent, for this long after it was
  // started; the reply timeout counts from the end of the handshake.
  int connect_timeout_ms = 10000;
  int fetch_limit = 1000;  // page size for catching up
  int poll_ms = 1000;       // a group that does not push: how often it is polled
};

// How many unusable frames one follower reports before it goes quiet about them.
inline constexpr int kMaxFollowProblemReports = 10;

struct FollowOutput {
  std::vector<std::string> requests;  // bodies to send, in order
  std::vector<ChatMessage> to_show;   // messages to show, in order
  bool reconnect = false;             // drop the socket, open a new one, then call start()
  std::string refused;                // the server refused (e.g. not a member); stop following
  bool answered = false;              // a reply to one of our requests arrived
  std::string notice;                 // something to tell the person once (a new history)
  // Frames that could not be used (not JSON, wrong types, pages that do not
  // advance), each skipped; for a warning. At most kMaxFollowProblemReports
  // over a FollowState's life, the last saying that further ones go unsaid.
  std::vector<std::string> problems;
  void clear() {
    notice.clear();
    requests.clear();
    to_show.clear();
    reconnect = false;
    refused.clear();
    answered = false;
    problems.clear();
  }
};

class FollowState {
 public:
  // since_seq: show messages after it; absent: only messages stored from now on.
  FollowState(std::string user_uuid, std::optional<int64_t> since_seq, FollowTiming timing = {});

  // (Re)starts following on a fresh connection.
  void start(int64_t now_ms, FollowOutput& out);
  void on_frame(std::string_view body, int64_t now_ms, FollowOutput& out);
  void on_tick(int64_t now_ms, FollowOutput& out);
  // The connection's handshake has finished (seen at now_ms): the wait for
  // replies starts again from now, so that setting up a connection over a
  // slow network (several round trips) is not taken for a silent group.
  void on_connected(int64_t now_ms);
  // When on_tick next needs to run.
  int64_t next_deadline_ms() const;

  // The seq of the last message shown (or the starting point), -1 if unknown yet.
  int64_t last_seq() const { return last_; }
  // This user's public id in the group, as its follow reply named it (what
  // its own messages carry as user_uuid); empty until then, and from a
  // reference group.
  const std::string& public_id() const { return public_id_; }
  // True once the group was found not to push (a reference group): polled.
  bool polling() const { return polling_; }

 private:
  void send_follow(int64_t now_ms, FollowOutput& out);
  void send_fetch(int64_t now_ms, FollowOutput& out);
  // getMessage of the whole history (a reference group's only page): the
  // probe, and each poll.
  void send_poll(int64_t now_ms, FollowOutput& out);
  void on_poll_page(FetchedPage& page, FollowOutput& out);
  void offer(ChatMessage msg, FollowOutput& out);
  void catch_up_if_behind(int64_t now_ms, FollowOutput& out);
  // The server named another history than the one followed: start it afresh.
  void restart_history(std::optional<int64_t> reply_last, int64_t now_ms, FollowOutput& out);
  void on_reply(nlohmann::json frame, int64_t now_ms, FollowOutput& out);
  void on_page(FetchedPage& page, int64_t now_ms, FollowOutput& out);
  void problem(std::string what, FollowOutput& out);

  std::string user_uuid_;
  FollowTiming timing_;
  int64_t last_ = -1;        // last shown seq
  int64_t known_last_ = -1;  // highest seq the server has told us of
  bool fetching_ = false;
  int64_t waiting_since_ms_ = -1;  // oldest unanswered request, -1 when none
  int outstanding_ = 0;            // requests sent and not answered yet
  int64_t next_renew_ms_ = 0;
  std::string history_id_;  // the history followed; empty until a reply names one
  std::string public_id_;   // ours in the group; empty until a reply names it
  int problems_ = 0;        // unusable frames so far
  bool heard_ = false;      // a reply came on this connection
  bool probed_ = false;     // the probe was sent on this connection
  bool probe_outstanding_ = false;
  bool polling_ = false;      // the group does not push: polled
  int64_t next_poll_ms_ = 0;  // when polling: the next poll
};

}  // namespace gc

#pragma once
// `user_client follow`: prints a group's messages as they arrive, like
// tail -f, until SIGINT/SIGTERM. One Follower driven by a zmq poll loop.
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <zmq.hpp>

#include "groupchat/follow_state.hpp"

namespace gc {

// What a person is told about one follower's connection: one notice when the
// server stops answering, one when it answers again; silence otherwise.
// Sans IO: fed the follower's reconnect count and whether a reply came.
class FollowNotices {
 public:
  explicit FollowNotices(std::string address) : address_(std::move(address)) {}
  // Returns the notice to show after one step of the follower, if any.
  std::optional<std::string> update(int reconnects, bool answered);
  bool silent() const { return silent_; }

 private:
  std::string address_;
  int seen_reconnects_ = 0;
  bool silent_ = false;
};

struct FollowCommandOptions {
  std::string address;  // IP:PORT of the group server
  std::string user_uuid;
  std::optional<int64_t> since_seq;  // absent: only messages stored from now on
  bool json = false;                 // one JSON object a line instead of WHO : TEXT (TIME)
  FollowTiming timing;
};

// Runs until stop_fd becomes readable (returns 0), stdout is closed (0), or
// the group refuses (error on err, returns 1). Messages go to out one a line,
// flushed per line; notices about the connection go to err.
int run_follow_command(zmq::context_t& ctx, const FollowCommandOptions& options, int stop_fd,
                       std::ostream& out, std::ostream& err);

// Milliseconds on the monotonic clock, the time base of FollowState.
int64_t steady_now_ms();

}  // namespace gc

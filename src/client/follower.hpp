#pragma once
// Follower: one live subscription to a group server, over a DEALER socket,
// driven by FollowState. The owner polls socket() for input and calls
// on_readable(); it calls on_tick() when next_deadline_ms() has passed.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <zmq.hpp>

#include "client/follow_state.hpp"

namespace gc {

class Follower {
 public:
  Follower(zmq::context_t& ctx, std::string address, std::string user_uuid,
           std::optional<int64_t> since_seq, FollowTiming timing = {});

  // Connects and sends the first follow.
  void start(int64_t now_ms, FollowOutput& out);
  zmq::socket_t& socket() { return *socket_; }
  // Reads every frame waiting on the socket.
  void on_readable(int64_t now_ms, FollowOutput& out);
  void on_tick(int64_t now_ms, FollowOutput& out);
  int64_t next_deadline_ms() const { return state_.next_deadline_ms(); }

  // Times the connection was started afresh after the server went silent.
  int reconnects() const { return reconnects_; }

 private:
  void connect();
  void flush(FollowOutput& out, size_t first_request);
  void handle(int64_t now_ms, FollowOutput& out, size_t first_request);

  zmq::context_t& ctx_;
  std::string address_;
  std::unique_ptr<zmq::socket_t> socket_;
  FollowState state_;
  int reconnects_ = 0;
};

}  // namespace gc

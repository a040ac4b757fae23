#pragma once
// Follower: one live subscription to a group server, over a DEALER socket,
// driven by FollowState. The owner polls socket() for input and calls
// on_readable(); it calls on_tick() when next_deadline_ms() has passed.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <zmq.hpp>

#include "client/follow_state.hpp"
#include "net/curve.hpp"
#include "net/link_monitor.hpp"

namespace gc {

// How a follower reaches its group: over CURVE with these keys, or open; and
// the words for a handshake that failed.
struct FollowLink {
  std::optional<CurveClientKeys> curve;
  std::function<std::string(const LinkEvents&)> describe;
};

class Follower {
 public:
  Follower(zmq::context_t& ctx, std::string address, std::string user_uuid,
           std::optional<int64_t> since_seq, FollowTiming timing = {}, FollowLink link = {});

  // Connects and sends the first follow.
  void start(int64_t now_ms, FollowOutput& out);
  zmq::socket_t& socket() { return *socket_; }
  // Reads every frame waiting on the socket.
  void on_readable(int64_t now_ms, FollowOutput& out);
  void on_tick(int64_t now_ms, FollowOutput& out);
  int64_t next_deadline_ms() const { return state_.next_deadline_ms(); }

  // Times the connection was started afresh after the server went silent.
  int reconnects() const { return reconnects_; }
  // Set when the group went silent because the connection's handshake failed
  // (a key not proved or refused, curve against open): following cannot go
  // on, and this says why. Checked when the group has been silent for the
  // reply timeout.
  const std::string& link_failure() const { return link_failure_; }

 private:
  void connect();
  void flush(FollowOutput& out, size_t first_request);
  void handle(int64_t now_ms, FollowOutput& out, size_t first_request);

  zmq::context_t& ctx_;
  std::string address_;
  FollowLink link_;
  std::unique_ptr<zmq::socket_t> socket_;
  std::unique_ptr<LinkMonitor> monitor_;  // declared after socket_: destroyed first
  FollowState state_;
  int reconnects_ = 0;
  int handshakes_seen_ = 0;      // on this connection, as told to state_
  int64_t connected_at_ms_ = 0;  // when this connection was started
  // Open connections in a row whose handshake was closed without a word.
  int closed_handshakes_ = 0;
  // That many in a row and an open follower gives up: a curve group closes
  // an open handshake (libzmq mostly says "mechanism mismatch", but not
  // always), where a broken link fails once and then connects.
  static constexpr int kClosedHandshakesToGiveUp = 3;
  // Since when connections were accepted but none finished its handshake
  // (kept across fresh connections). Twice the connect timeout of that and an
  // open follower gives up the same way: whatever accepts there does not
  // speak to an open client.
  std::optional<int64_t> unshaken_since_ms_;
  static constexpr int kUnshakenConnectTimeouts = 2;
  FollowTiming timing_;
  std::string link_failure_;
};

}  // namespace gc

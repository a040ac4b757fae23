#pragma once
// RegistryLink: the group's side of the registry protocol (docs/PROTOCOL.md,
// "Registry"), driven by the group's event loop and never blocking it: the
// group serves users by address from the start and is listed once the
// registry answers, however long that takes.
//
// One DEALER socket (an empty delimiter frame first, so a REP registry
// answers it too) carries one request at a time, watched by a socket monitor.
//
// - Registering: the register waits in the socket until a connection is up
//   (libzmq reconnects on its own while nothing listens), then for its reply.
//   Only the time since the request could go out counts against the reply
//   timeout (a fresh connection's handshake costs several round trips on a
//   slow link), which is at least twice the last ZMTP handshake's duration (a
//   measure of the round trip); a reply missing that long is lost: a new
//   socket, the register again, and the timeout doubles up to
//   kMaxReplyTimeoutMs.
// - A refusal (FAILED) or a failed handshake before the first acceptance is
//   definitive: fatal() says why and the group stops. Later ones are logged
//   and retried.
// - Our registry (a JSON SUCCESS): heartbeats every heartbeat_ms; FAILED with
//   "reregister" → register again; a lost reply → a new socket.
// - A reference registry (the bare string SUCCESS) knows no other action, so
//   nothing else is ever sent to it. The connection stays open, silent, and
//   is watched: when it drops (the registry stopped or restarted) the group
//   registers again once a connection is back.
// - A connection that drops with a request in flight: a new socket, the
//   request again (its reply would have gone to the old connection).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <zmq.hpp>

#include "core/result.hpp"
#include "net/curve.hpp"
#include "net/link_monitor.hpp"
#include "protocol/registry_protocol.hpp"

namespace gc {

// The longest a registration waits for its reply, once sent on an
// established connection, before it is sent again on a new one.
inline constexpr int kMaxReplyTimeoutMs = 32000;

struct RegistryLinkOptions {
  std::string registry;    // HOST:PORT of message_server
  std::string group_name;  // as registered
  std::string ip_port;     // the group's advertised address, the registry's key
  // A reply missing this long (the heartbeat interval, if longer), counted
  // from when the request could go out on an established connection, is
  // lost. Registering doubles it after each loss.
  int reply_timeout_ms = 2000;
  // While the first registration has found no connection for this long, it
  // is logged once (at once when the connection is refused).
  int unanswered_warning_ms = 5000;
  int unregister_timeout_ms = 300;
  // Set: every socket to the registry is a CURVE client with the group's own
  // key pair, completing its handshake only with the holder of the
  // registry's key (a curve registry). Unset: the NULL mechanism.
  std::optional<CurveClientKeys> curve;
  // The group serves CURVE only: its register says "security": "curve".
  bool curve_group = false;
};

class RegistryLink {
 public:
  RegistryLink(zmq::context_t& ctx, RegistryLinkOptions options);
  ~RegistryLink();
  RegistryLink(const RegistryLink&) = delete;
  RegistryLink& operator=(const RegistryLink&) = delete;

  // Connects and sends the first register; returns at once.
  void start(int64_t now_ms);

  // True once a registry accepted us (stays true).
  bool registered() const { return accepted_once_; }
  // True while the registry speaks our protocol (heartbeats).
  bool heartbeating() const { return phase_ == Phase::heartbeat; }
  // True while registered with a reference registry (its connection watched).
  bool reference() const { return phase_ == Phase::reference; }
  // Non-empty when the first registration failed for good (the registry
  // refused it, or the handshake failed): the group must stop.
  const std::string& fatal() const { return fatal_; }
  // True once after each accepted registration (the group prints the
  // registry's verdict, SUCCESS, on stdout as the reference does).
  bool take_accepted() {
    bool a = accepted_now_;
    accepted_now_ = false;
    return a;
  }

  // For the event loop: the sockets to poll for input (nullptr when none)
  // and the milliseconds until on_timer() has something to do (-1: nothing).
  zmq::socket_t* socket() { return socket_.get(); }
  zmq::socket_t* monitor_socket() { return monitor_ ? monitor_->socket() : nullptr; }
  long timeout_ms(int64_t now_ms) const;
  void on_readable(int64_t now_ms);
  void on_monitor(int64_t now_ms);
  void on_timer(int64_t now_ms);

  // Clean shutdown: tells our registry we are gone (one short try).
  void unregister();

 private:
  enum class Phase { registering, heartbeat, reference };

  std::string request_body(RegistryAction action, bool heartbeat_flag) const;
  void new_socket(int64_t now_ms);
  // Sends a register or a heartbeat; it waits in the socket while no connection is up.
  void send_request(bool reg, int64_t now_ms);
  void handle_reply(const std::string& body, int64_t now_ms);
  void accepted(const RegisterReply& reply, int64_t now_ms);
  long reply_timeout() const;
  // What a failed handshake means for the user; empty while nothing definitive failed.
  std::string handshake_error(const LinkEvents& events) const;

  zmq::context_t& ctx_;
  RegistryLinkOptions options_;
  std::string zmq_endpoint_;
  std::unique_ptr<zmq::socket_t> socket_;
  std::unique_ptr<LinkMonitor> monitor_;
  Phase phase_ = Phase::registering;
  bool accepted_once_ = false;
  bool accepted_now_ = false;
  std::string fatal_;
  long heartbeat_ms_ = 1000;
  int misses_ = 0;                    // replies lost in a row
  int64_t connected_at_ms_ = -1;      // when this socket's handshake succeeded; -1: not up
  int64_t tcp_connected_at_ms_ = -1;  // when its TCP connection was made; -1: not yet
  int64_t link_handshake_ms_ = 0;     // the last ZMTP handshake's duration
  int64_t socket_since_ms_ = 0;
  bool in_flight_ = false;
  bool in_flight_is_register_ = false;
  int64_t sent_at_ms_ = 0;
  bool register_next_ = false;
  int64_t next_send_ms_ = 0;
  int64_t started_ms_ = 0;
  bool outage_warned_ = false;
  bool unanswered_warned_ = false;
  bool handshake_warned_ = false;
};

}  // namespace gc

#pragma once
// RegistryLink: the group's side of the registry protocol (docs/PROTOCOL.md,
// "Registry"): register once at start (blocking, Lazy Pirate), then
// heartbeat from the group's event loop without blocking it, and unregister
// at a clean shutdown.
//
// A registry that answers the register with the bare string SUCCESS is the
// reference one: it knows no other action, so nothing more is ever sent to it.
//
// Heartbeats go over a DEALER socket (an empty delimiter frame first, so a REP
// registry accepts them too) with one request in flight. A reply that does not
// come within the heartbeat interval counts as lost: the socket is replaced
// (the Lazy Pirate rule: never reuse a socket that may still get an old reply)
// and the next heartbeat goes out. FAILED with "reregister" → register again.
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

struct RegistryLinkOptions {
  std::string registry;            // HOST:PORT of message_server
  std::string group_name;          // as registered
  std::string ip_port;             // the group's own address, the registry's key
  int register_timeout_ms = 1700;  // per try; three tries make the ~5 s start-up bound
  int register_tries = 3;
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

  // The first registration; blocks up to tries × timeout. stop_fd (or -1): a
  // file descriptor that becomes readable when the program should stop; the
  // wait ends early then, with an error "interrupted". A failed handshake
  // (the registry holds another key, or speaks another mechanism) ends it at
  // once with an error that says so.
  Status register_blocking(int stop_fd = -1);

  // True after a registry that speaks our protocol accepted us.
  bool heartbeating() const { return heartbeating_; }

  // For the event loop: the socket to poll for input (nullptr when none) and
  // the milliseconds until on_timer() has something to do (-1: nothing).
  zmq::socket_t* socket() { return socket_.get(); }
  long timeout_ms(int64_t now_ms) const;
  void on_readable(int64_t now_ms);
  void on_timer(int64_t now_ms);

  // Clean shutdown: tells the registry we are gone (one short try).
  void unregister();

 private:
  std::string request_body(RegistryAction action, bool heartbeat_flag) const;
  void new_socket();
  bool send(const std::string& body, int64_t now_ms);
  // Handles one reply body; returns an error text for a refusal.
  void handle_reply(const std::string& body, int64_t now_ms);
  // Applies a register reply; false with `error` when it refused.
  bool apply_register_reply(const std::string& body, std::string& error);
  // What a failed handshake means for the user; empty while nothing definitive failed.
  std::string handshake_error(const LinkEvents& events) const;

  zmq::context_t& ctx_;
  RegistryLinkOptions options_;
  std::string zmq_endpoint_;
  std::unique_ptr<zmq::socket_t> socket_;
  bool heartbeating_ = false;
  long heartbeat_ms_ = 1000;
  bool in_flight_ = false;
  bool in_flight_is_register_ = false;
  bool register_next_ = false;
  int64_t reply_deadline_ms_ = 0;
  int64_t next_send_ms_ = 0;
  bool outage_warned_ = false;
};

}  // namespace gc

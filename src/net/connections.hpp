#pragma once
// Connections and descriptors: caps on a ROUTER's connections in total and
// per source address, kept from libzmq's socket monitor so that a
// connection counts from its accept, handshake or not; and closing one
// connection of a ROUTER by its descriptor.
//
// ConnectionCounter is the sans-IO part (a later authentication handler can
// ask it too); ConnectionGuard wires it to a ROUTER's monitor.
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <zmq.hpp>

#include "net/backlog.hpp"

namespace gc {

struct ConnectionLimits {
  size_t max_total = 4096;       // connections at once, all addresses
  size_t max_per_address = 256;  // connections at once from one IP address (a NAT may hide a class)
};

// Descriptors kept free for what is not a peer connection (the store, the
// registry link, libzmq's own pipes and the listening socket).
inline constexpr size_t kReservedDescriptors = 64;

// Raises the soft RLIMIT_NOFILE to the hard one and returns the soft limit now in force.
size_t raise_descriptor_limit();

// Lets the context open as many ZeroMQ sockets as descriptors allow
// (ZMQ_MAX_SOCKETS, within libzmq's own ceiling).
void size_context_sockets(zmq::context_t& ctx, size_t descriptor_limit);
// ZeroMQ I/O threads for a server: one per two cores (the server's own
// thread needs one too), at least 1 and at most 8. libzmq spreads a socket's
// connections over them.
int default_io_threads();

// The connection cap that fits a descriptor limit: `wanted`, but at most
// limit - kReservedDescriptors (and at least 1).
size_t connections_for_descriptors(size_t wanted, size_t descriptor_limit);

// The IP address (no port) of a connected socket; empty on error.
std::string peer_ip(int fd);

// A connection as recorded when first seen, to close it later without ever
// touching a descriptor that has since been reused for another connection.
struct ConnectionId {
  int fd = -1;
  sockaddr_storage peer{};
  socklen_t peer_len = 0;
  // Records fd's peer; nullopt when fd is not a connected socket.
  static std::optional<ConnectionId> of(int fd);
  // shutdown(SHUT_RDWR) of the descriptor if it still is this connection
  // (libzmq then drops the connection and frees its queues; the descriptor
  // stays libzmq's to close). Returns whether it did.
  bool shut_down() const;
};

// A log line per event, but at most one a second for one kind of event: an
// attack cannot flood the log, and the next line says how many went unlogged.
class LogLimiter {
 public:
  // Whether to log an event at now_ms; when so, `skipped` is how many were not.
  bool due(int64_t now_ms, size_t& skipped) {
    if (logged_ && now_ms - last_ms_ < 1000) {
      ++skipped_;
      return false;
    }
    logged_ = true;
    last_ms_ = now_ms;
    skipped = skipped_;
    skipped_ = 0;
    return true;
  }
  // " (N more since the last line)" or "".
  static std::string more(size_t skipped) {
    return skipped ? " (" + std::to_string(skipped) + " more since the last line)" : "";
  }

 private:
  bool logged_ = false;
  int64_t last_ms_ = 0;
  size_t skipped_ = 0;
};

// Logs, at most as often as `limiter` allows, that a peer's connection was
// closed for `why`; `shut`: whether it was still there to close.
void log_closed_peer(LogLimiter& limiter, std::string_view address, std::string_view why,
                     bool shut);

class ConnectionCounter {
 public:
  explicit ConnectionCounter(ConnectionLimits limits) : limits_(limits) {}
  const ConnectionLimits& limits() const { return limits_; }

  // A connection was accepted. Returns the limit it is over (the caller
  // closes it; it is not counted), or nullopt when it is counted.
  std::optional<std::string> on_accepted(int fd, const std::string& address);
  // A connection ended (its descriptor is free again).
  void on_closed(int fd);

  size_t total() const { return by_fd_.size(); }
  size_t from(const std::string& address) const;

 private:
  ConnectionLimits limits_;
  std::unordered_map<int, std::string> by_fd_;
  std::unordered_map<std::string, size_t> by_address_;
};

// What libzmq has read from a connection's socket: the bytes the kernel
// received (TCP_INFO) less those still in its receive queue (SIOCINQ);
// nullopt when fd is not a TCP socket.
std::optional<uint64_t> bytes_read_from(int fd);
// What a ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL value means, for an operator.
std::string handshake_failure_text(uint32_t protocol_error);

// This process's resident size in bytes (/proc/self/statm), 0 when unknown.
uint64_t resident_bytes();

// A ROUTER's monitor, read in the owner's poll loop: counts connections and
// shuts down those over a cap, logging once per kind of limit (and once if
// accept fails for want of descriptors). It also bounds what libzmq holds
// undelivered from each connection (net/backlog.hpp): the owner tells it the
// wire bytes of every request it reads, and calls on_timer when
// next_check_ms is due.
class ConnectionGuard {
 public:
  ConnectionGuard(zmq::context_t& ctx, zmq::socket_t& router, ConnectionLimits limits,
                  std::string name);
  ~ConnectionGuard();
  // The monitor socket, to poll for ZMQ_POLLIN.
  void* handle() { return monitor_.handle(); }
  // Reads every waiting event (never blocks).
  void drain();
  const ConnectionCounter& counter() const { return counter_; }

  void limit_backlog(BacklogLimits limits);
  const BacklogLimits& backlog_limits() const { return backlog_limits_; }
  // A request of `wire_bytes` (RoutedRequest::wire_bytes) was read from fd.
  void on_delivered(int fd, uint64_t wire_bytes) { ledger_.on_delivered(fd, wire_bytes); }
  // When the next look is due; -1 while there is no connection (nothing to wake for).
  int64_t next_check_ms() const { return ledger_.size() ? next_check_ms_ : -1; }
  // Reads the resident size when due and, when it has grown past the
  // trigger or the last look is a full interval old, looks at every
  // connection and closes those over the limits.
  void on_timer(int64_t now_ms);
  // Looks at every connection now; returns how many it closed.
  size_t check_backlogs();

 private:
  zmq::socket_t& router_;
  zmq::socket_t monitor_;
  ConnectionCounter counter_;
  std::string name_;
  LogLimiter log_total_, log_address_, log_accept_failed_, log_backlog_, log_handshake_failed_;
  BacklogLimits backlog_limits_;
  BacklogLedger ledger_;
  // Each connection as accepted, so as never to shut down a reused descriptor.
  std::unordered_map<int, ConnectionId> accepted_;
  GrowthTrigger growth_;
  int64_t next_check_ms_ = 0;
  int64_t next_full_check_ms_ = 0;
};

}  // namespace gc

#pragma once
// What libzmq holds from a peer that we have not been given yet: the bytes
// of a message still being received. libzmq reads a whole multipart message
// into memory before the application sees its first frame and puts no cap on
// the number of frames, so a peer that never ends a message would otherwise
// grow the server without bound.
//
// Per connection: the bytes the kernel has received from it (TCP_INFO
// tcpi_bytes_received) less those still in the kernel's receive queue
// (SIOCINQ) are what libzmq has read; less the wire bytes of the requests we
// have been delivered from that connection, that is what libzmq holds
// undelivered (plus the handshake, which an allowance covers).
//
// BacklogLedger is the sans-IO part: the delivered bytes per descriptor and
// the decision; ConnectionGuard (net/connections.hpp) reads the kernel's
// figures and closes.
#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace gc {

// The ZMTP greeting (64 bytes), the READY command and the peer's properties,
// and heartbeat commands: received but never delivered as a request.
inline constexpr uint64_t kHandshakeAllowanceBytes = 64 * 1024;
// ZMTP heartbeats (a PING is 9 bytes, 44 under CURVE) are received and never
// delivered: a connection is allowed this many bytes for each second of its
// age, enough for a CURVE PING every 200 ms (the registry's watches send one
// every 500 ms).
inline constexpr uint64_t kCommandBytesPerSecond = 256;

struct BacklogLimits {
  // Undelivered bytes one connection may have libzmq hold.
  uint64_t per_connection_bytes = uint64_t{8} << 20;
  // Undelivered bytes all connections together may have libzmq hold; past
  // it, the connections holding most are closed until under.
  uint64_t total_bytes = uint64_t{64} << 20;
  // A look at the connections is due when the resident size has grown by
  // this much since the last look.
  uint64_t growth_trigger_bytes = uint64_t{4} << 20;
  // How often the resident size is read while connections exist.
  int64_t check_interval_ms = 50;
  // A look at the connections at least this often while connections exist,
  // grown or not (memory freed earlier can be filled again without the
  // resident size growing).
  int64_t full_check_interval_ms = 1000;

  // The limits for a memory budget and the largest frame a peer may send:
  // a connection may hold a thirty-second of the budget (8 MiB of the default
  // 256 MiB), but always two whole requests of the largest size and the
  // handshake; all connections together a quarter of the budget (and at
  // least one connection's worth); a look when the resident size grew by
  // half a connection's limit.
  static BacklogLimits for_budget(uint64_t budget_bytes, uint64_t max_frame_bytes);
};

// The wire size of a ZMTP 3 frame of `size` bytes: a 2-byte header up to 255
// bytes, 9 bytes above. Never more than the peer sent (ZMTP 2 is the same or
// one byte longer), so what it credits never hides bytes held.
inline uint64_t zmtp_frame_wire_bytes(uint64_t size) {
  return size + (size <= 255 ? 2 : 9);
}

// The same under CURVE (RFC 26): each frame travels boxed in a MESSAGE
// command, 33 bytes more (the command name, a nonce, the flags and the MAC)
// with the command's own frame header.
inline uint64_t curve_frame_wire_bytes(uint64_t size) {
  return zmtp_frame_wire_bytes(size + 33);
}

// A connection that had a request delivered within about the last second
// (kProgressWindowMs, up to twice that) is making progress: its backlog is
// whole requests on their way to the server (a pipelining peer, or any peer
// while the server was busy, e.g. syncing its file), not a message that never
// ends (nothing after an unended message can be delivered on its connection,
// so such a connection stops making progress within two windows). It is
// spared up to the limit for all connections together, which applies to
// every connection alike.
inline constexpr int64_t kProgressWindowMs = 1000;
struct Backlog {
  int fd = -1;
  uint64_t undelivered = 0;  // bytes libzmq has read from it and not delivered (less the allowance)
  bool progressing = false;  // a request of it was delivered in this or the previous window
};

class BacklogLedger {
 public:
  // A connection was accepted on fd at now_ms (a descriptor seen again starts afresh).
  void on_accepted(int fd, int64_t now_ms) { delivered_[fd] = Entry{0, false, false, now_ms}; }
  // Its connection ended.
  void on_closed(int fd) { delivered_.erase(fd); }
  // A request of `wire_bytes` was read from fd. A descriptor not accepted
  // (or already closed) is not credited: its bytes cannot be placed.
  void on_delivered(int fd, uint64_t wire_bytes) {
    auto it = delivered_.find(fd);
    if (it == delivered_.end()) return;
    it->second.bytes += wire_bytes;
    it->second.since_look = true;
  }
  bool knows(int fd) const { return delivered_.count(fd) != 0; }
  size_t size() const { return delivered_.size(); }
  // The descriptors known, to look at.
  std::vector<int> fds() const;

  // What libzmq holds undelivered for fd at now_ms, from the bytes it has
  // read from the kernel (received less still queued in the kernel), less
  // the allowance for the handshake and the connection's age; 0 when under.
  uint64_t undelivered(int fd, uint64_t read_by_libzmq, int64_t now_ms) const;
  // Whether a request of fd was delivered in this progress window or the one before.
  bool progressing(int fd) const;
  // A look was taken at now_ms: a new progress window begins once the
  // current one is kProgressWindowMs old.
  void looked(int64_t now_ms);

 private:
  struct Entry {
    uint64_t bytes = 0;       // wire bytes delivered since the accept
    bool since_look = false;  // any delivered in the current progress window
    bool previous = false;    // any delivered in the window before
    int64_t accepted_ms = 0;
  };
  std::unordered_map<int, Entry> delivered_;
  int64_t window_start_ms_ = 0;
};

// The connections to close: every one over the per-connection limit (one
// making progress: over the total limit), then the ones holding most until
// the total is within its limit. `backlogs`
// is reordered.
std::vector<Backlog> backlogs_to_close(std::vector<Backlog>& backlogs, const BacklogLimits& limits);

// Whether a look at the connections is due: the resident size has grown by
// the trigger since the last look (the mark follows it down).
class GrowthTrigger {
 public:
  explicit GrowthTrigger(uint64_t trigger_bytes) : trigger_(trigger_bytes) {}
  bool due(uint64_t resident_bytes) {
    if (!marked_ || resident_bytes < mark_) {
      marked_ = true;
      mark_ = resident_bytes;
    }
    return resident_bytes >= mark_ + trigger_;
  }
  // A look was taken at this resident size.
  void looked(uint64_t resident_bytes) {
    marked_ = true;
    mark_ = resident_bytes;
  }

 private:
  uint64_t trigger_;
  bool marked_ = false;
  uint64_t mark_ = 0;
};

}  // namespace gc

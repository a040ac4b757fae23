#pragma once
// What a server holds on behalf of its peers, in bytes, and the decisions
// made from it (sans IO apart from the send itself).
//
// Every reply and push body goes to libzmq through zmq_msg_init_data with a
// free function, in one heap block that also carries the peer's account: the
// bytes are charged when the message is queued and given back when libzmq is
// done with it (sent, or dropped with its connection). The free function runs
// on libzmq's I/O thread, hence the atomics. With every queued byte counted,
// the send high-water mark is lifted and these byte limits bound the queues
// instead of a count of messages.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <zmq.hpp>

namespace gc {

// A message costs libzmq about this much besides its bytes (its msg_t in the
// pipe and the envelope frames' share): charged per frame.
inline constexpr size_t kQueuedFrameOverheadBytes = 64;

// The bytes queued for every peer of one server, shared with the free function.
struct QueuedTotal {
  std::atomic<int64_t> bytes{0};
};

// One peer: one connection, named by its ROUTER routing id.
struct PeerAccount {
  explicit PeerAccount(std::shared_ptr<QueuedTotal> t) : total(std::move(t)) {}
  std::shared_ptr<QueuedTotal> total;
  std::atomic<int64_t> queued{0};  // bytes of our messages libzmq still holds for this peer
  int64_t queued_now() const { return queued.load(std::memory_order_relaxed); }
};

struct MemoryLimits {
  size_t budget_bytes = size_t{256} << 20;        // all peers together: queued + parked
  size_t peer_share_bytes = size_t{16} << 20;     // one peer's queued replies before parking
  size_t peer_parked_bytes = size_t{1} << 20;     // one peer's parked requests before a close
  size_t follower_queue_bytes = size_t{1} << 20;  // pushes to one follower over this are skipped

  // The defaults for a budget: a peer's share is a sixteenth of it (at least
  // 1 MiB), its parked requests at most a quarter of that (at least 2 bodies).
  static MemoryLimits for_budget(size_t budget_bytes, size_t max_request_bytes);
};

// The decisions, on numbers read from the accounts.
class MemoryPolicy {
 public:
  explicit MemoryPolicy(MemoryLimits limits) : limits_(limits) {}
  const MemoryLimits& limits() const { return limits_; }

  // Whether a request may be served now: the peer's queue is under its share,
  // and the server's total under budget (a peer with nothing queued is always
  // served: one reply each).
  bool may_serve(int64_t peer_queued, int64_t total_queued, size_t total_parked) const {
    if (peer_queued <= 0) return true;
    return static_cast<size_t>(peer_queued) < limits_.peer_share_bytes &&
           static_cast<size_t>(total_queued) + total_parked < limits_.budget_bytes;
  }
  // Whether a request of `bytes` may still be parked for a peer that has
  // `peer_parked` parked; false: close the connection.
  bool may_park(size_t peer_parked, size_t total_parked, size_t bytes) const {
    return peer_parked + bytes <= limits_.peer_parked_bytes &&
           total_parked + bytes <= limits_.budget_bytes / 4;
  }
  // Whether a push may be queued for a follower: it charges the follower
  // `peer_bytes` and the server's total `total_bytes` (less when its body is
  // shared with other followers and counted once).
  bool may_push(int64_t peer_queued, size_t peer_bytes, int64_t total_queued,
                size_t total_bytes) const {
    return static_cast<size_t>(peer_queued) + peer_bytes <= limits_.follower_queue_bytes &&
           static_cast<size_t>(total_queued) + total_bytes <= limits_.budget_bytes;
  }

 private:
  MemoryLimits limits_;
};

// What a send charges a peer for a body behind `envelope_bytes` of routing frames.
inline size_t queued_charge(size_t body_bytes, size_t envelope_bytes, size_t frames) {
  return body_bytes + envelope_bytes + kQueuedFrameOverheadBytes * frames;
}

// A body as a zmq message charged to `account` until libzmq frees it.
zmq::message_t accounted_message(std::string_view body, size_t charge,
                                 const std::shared_ptr<PeerAccount>& account);

// A body sent to many peers from one buffer (copies made with zmq_msg_copy
// share it): its bytes are charged to the server's total once, until the
// last copy is freed.
zmq::message_t shared_message(std::string_view body, size_t charge,
                              const std::shared_ptr<QueuedTotal>& total);

// An empty frame (the delimiter in front of a shared body) that charges one
// peer's account `peer_charge` and the server's total `total_charge` until
// libzmq frees it. libzmq frees a message's frames one after the other as it
// writes them, so the delimiter stands for the body behind it in the peer's
// queue: the peer is charged the body it holds, the total only what the peer
// adds to a body counted once (shared_message).
zmq::message_t accounted_marker(size_t peer_charge, size_t total_charge,
                                const std::shared_ptr<PeerAccount>& account);

// Gives memory freed by peers back to the system (malloc_trim), at most once
// per interval and only after the queued total dropped by a MiB or more.
class TrimAfterDrop {
 public:
  // Notes the current total (cheap: call it whenever the total may have grown).
  void observe(int64_t total_bytes) {
    if (total_bytes > high_) high_ = total_bytes;
  }
  // Call now and then with the current total; returns true when it trimmed:
  // when the total has dropped by kDropBytes since the highest seen, at most
  // once a second.
  bool maybe_trim(int64_t total_bytes, int64_t now_ms);
  // Whether memory was given up since the last trim: keep calling maybe_trim
  // (a second apart) until it is false, also when no peer is left to wake
  // the loop.
  bool pending(int64_t total_bytes) const { return high_ - total_bytes >= kDropBytes; }

  static constexpr int64_t kDropBytes = int64_t{1} << 20;
  static constexpr int64_t kIntervalMs = 1000;

 private:
  int64_t high_ = 0;
  int64_t last_ms_ = 0;
};

}  // namespace gc

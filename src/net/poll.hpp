#pragma once
// The pieces every event loop here shares: waiting on sockets and file
// descriptors until the earliest deadline, with a signal treated as a wake-up.
#include <cstddef>
#include <cstdint>
#include <zmq.hpp>

namespace gc {

// The earliest of a loop's deadlines, as a poll timeout.
class NextWake {
 public:
  explicit NextWake(int64_t now_ms) : now_ms_(now_ms) {}
  // Wake at this monotonic time (at once when it has passed).
  void at(int64_t deadline_ms);
  // Wake within this many milliseconds.
  void within(int64_t ms);
  // Milliseconds to wait; -1 when nothing is due (wait for input only).
  long timeout_ms() const { return static_cast<long>(wait_ms_); }

 private:
  int64_t now_ms_;
  int64_t wait_ms_ = -1;
};

// zmq::poll over items for at most timeout_ms (-1: until one is ready).
// Returns false when a signal interrupted the wait (EINTR): every revents is
// then clear and the caller loops, its stop pipe among the items saying
// whether to stop. Other errors throw zmq::error_t.
bool poll_items(zmq::pollitem_t* items, size_t count, long timeout_ms);

}  // namespace gc

#include "net/poll.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>

namespace gc {

void NextWake::at(int64_t deadline_ms) {
  within(std::max<int64_t>(0, deadline_ms - now_ms_));
}

void NextWake::within(int64_t ms) {
  ms = std::max<int64_t>(0, ms);
  wait_ms_ = wait_ms_ < 0 ? ms : std::min(wait_ms_, ms);
}

bool poll_items(zmq::pollitem_t* items, size_t count, long timeout_ms) {
  try {
    zmq::poll(items, count, std::chrono::milliseconds(timeout_ms));
    return true;
  } catch (const zmq::error_t& e) {
    if (e.num() != EINTR) throw;
    for (size_t i = 0; i < count; ++i) items[i].revents = 0;
    return false;
  }
}

}  // namespace gc

#pragma once
// The two clocks: the wall clock for what a message is stamped with, and one
// monotonic clock for every timeout, deadline and liveness check.
#include <cstdint>
#include <string>

namespace gc {

// Microseconds since the Unix epoch, from the system (wall) clock.
int64_t now_us();
// Milliseconds from the monotonic clock; the time base of every deadline.
int64_t mono_ms();
// "1.5 s", "10 s", "300 ms": a duration for an error message.
std::string describe_ms(int64_t ms);

}  // namespace gc

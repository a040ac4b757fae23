#pragma once
// A history's id: 128 bits from the kernel's random source, as 32 lower-case
// hex digits. Made once when a history begins (see group_store.hpp).
#include <string>

namespace gc {

std::string new_history_id();
// True for what new_history_id() makes: exactly 32 characters 0-9a-f.
bool is_history_id(const std::string& id);

}  // namespace gc

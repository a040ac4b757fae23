#include "client/display.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace gc {

std::string format_message(const ChatMessage& m) {
  return fmt::format("{} : {} ({})", m.name.empty() ? m.user_uuid : m.name, m.message, m.timestamp);
}

std::string format_message_json(const ChatMessage& m) {
  nlohmann::json j = {
      {"user_uuid", m.user_uuid}, {"message", m.message}, {"timestamp", m.timestamp}};
  if (m.seq) j["seq"] = *m.seq;
  if (!m.name.empty()) j["name"] = m.name;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string format_pushed_message(const std::string& address, const ChatMessage& m) {
  return "[" + address + "] " + format_message(m);
}

}  // namespace gc

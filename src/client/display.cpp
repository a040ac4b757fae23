#include "client/display.hpp"

#include <fmt/format.h>

#include "core/json_text.hpp"
#include "core/visible_text.hpp"

namespace gc {

std::string format_message(const ChatMessage& m) {
  std::string out;
  append_visible_field(out, m.name.empty() ? m.user_uuid : m.name);
  out += " : ";
  append_visible_message(out, m.message);
  out += " (";
  append_visible(out, m.timestamp);
  out += ')';
  return out;
}

std::string format_message_json(const ChatMessage& m) {
  // Keys in name order, as before; strings inert on a terminal and exact to a parser.
  std::string out = R"({"message":)";
  append_json_string_visible(out, m.message);
  if (!m.name.empty()) {
    out += R"(,"name":)";
    append_json_string_visible(out, m.name);
  }
  if (m.seq) {
    out += R"(,"seq":)";
    out += std::to_string(*m.seq);
  }
  out += R"(,"timestamp":)";
  append_json_string_visible(out, m.timestamp);
  out += R"(,"user_uuid":)";
  append_json_string_visible(out, m.user_uuid);
  out += '}';
  return out;
}

std::string format_pushed_message(const std::string& address, const ChatMessage& m) {
  return "[" + visible_text(address) + "] " + format_message(m);
}

}  // namespace gc

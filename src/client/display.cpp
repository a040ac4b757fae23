#include "client/display.hpp"

#include <fmt/format.h>

#include "core/json_text.hpp"
#include "core/visible_text.hpp"

namespace gc {

std::string NameFingerprints::key(const std::string& group, const std::string& name) {
  std::string k = group;
  k.push_back('\0');  // an address holds no NUL: "a" + "\0b" and "a\0" + "b" differ
  k += name;
  return k;
}

void NameFingerprints::observe(const std::string& group, const ChatMessage& m) {
  if (m.name.empty()) return;
  auto it = names_.find(key(group, m.name));
  if (it == names_.end()) {
    if (names_.size() >= kMaxNames) {
      full_ = true;
      return;
    }
    names_.emplace(key(group, m.name), Seen{m.user_uuid, false});
    return;
  }
  if (it->second.first_sender != m.user_uuid) it->second.shared = true;
}

bool NameFingerprints::shared(const std::string& group, const ChatMessage& m) const {
  if (m.name.empty()) return false;
  auto it = names_.find(key(group, m.name));
  if (it == names_.end()) return full_;
  return it->second.shared;
}

std::string format_message(const ChatMessage& m, bool fingerprint) {
  std::string out;
  append_visible_field(out, m.name.empty() ? m.user_uuid : m.name);
  if (fingerprint && !m.name.empty()) {
    // Cut by bytes: a sender that is not one of our groups' hex ids is shown inert all the same.
    out += " [";
    append_visible(out,
                   std::string_view(m.user_uuid).substr(0, NameFingerprints::kFingerprintChars));
    out += ']';
  }
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

std::string format_pushed_message(const std::string& address, const ChatMessage& m,
                                  bool fingerprint) {
  return "[" + visible_text(address) + "] " + format_message(m, fingerprint);
}

}  // namespace gc

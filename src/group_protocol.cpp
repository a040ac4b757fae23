#include "groupchat/group_protocol.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "groupchat/timefmt.hpp"

namespace gc {

void GroupRequest::clear() {
  action.clear();
  user_uuid.clear();
  message.reset();
  name.clear();
  client_msg_id.clear();
  timestamp.reset();
  since_seq.reset();
  limit = kDefaultGetLimit;
}

namespace {

using nlohmann::json;

// nlohmann's messages start with "[json.exception.parse_error.101] "; a person
// does not need that part.
std::string strip_exception_tag(const char* what) {
  std::string_view s(what);
  if (!s.empty() && s.front() == '[') {
    auto end = s.find("] ");
    if (end != std::string_view::npos) s.remove_prefix(end + 2);
  }
  return std::string(s);
}

// Optional string field: absent or null leaves `out` untouched.
Status optional_string(const json& obj, const char* key, size_t max_bytes, std::string& out,
                       bool& present) {
  present = false;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Status::ok();
  if (!it->is_string()) return Status::error(fmt::format("field '{}' must be a string", key));
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > max_bytes)
    return Status::error(fmt::format("field '{}' of {} bytes is over the limit of {} bytes", key,
                                     s.size(), max_bytes));
  out = s;
  present = true;
  return Status::ok();
}

Status optional_integer(const json& obj, const char* key, int64_t min, int64_t max,
                        std::optional<int64_t>& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Status::ok();
  auto range_error = [&] {
    return Status::error(fmt::format("field '{}' must be an integer from {} to {}", key, min, max));
  };
  if (it->is_number_unsigned()) {
    auto v = it->get<uint64_t>();
    if (v > static_cast<uint64_t>(max)) return range_error();
    out = static_cast<int64_t>(v);
  } else if (it->is_number_integer()) {
    auto v = it->get<int64_t>();
    if (v < min || v > max) return range_error();
    out = v;
  } else {
    return range_error();
  }
  if (*out < min) return range_error();
  return Status::ok();
}

}  // namespace

Status decode_group_request(std::string_view body, GroupRequest& out) {
  out.clear();
  json doc;
  try {
    doc = json::parse(body.begin(), body.end());
  } catch (const json::parse_error& e) {
    return Status::error("malformed JSON: " + strip_exception_tag(e.what()));
  }
  if (!doc.is_object()) return Status::error("request must be a JSON object");
  try {
    auto action = doc.find("action");
    if (action == doc.end() || action->is_null()) return Status::error("missing field 'action'");
    if (!action->is_string()) return Status::error("field 'action' must be a string");
    out.action = action->get_ref<const std::string&>();

    auto user = doc.find("user_uuid");
    if (user == doc.end() || user->is_null()) return Status::error("missing field 'user_uuid'");
    if (!user->is_string()) return Status::error("field 'user_uuid' must be a string");
    const auto& uuid = user->get_ref<const std::string&>();
    if (uuid.empty() || uuid.size() > kUserUuidLimitBytes)
      return Status::error(fmt::format("field 'user_uuid' must be 1 to {} bytes long, not {}",
                                       kUserUuidLimitBytes, uuid.size()));
    out.user_uuid = uuid;

    bool present = false;
    std::string message;
    // The message limit is the Group's (configurable); the frame limit already bounds it here.
    if (auto s = optional_string(doc, "message", SIZE_MAX, message, present); !s) return s;
    if (present) out.message = std::move(message);
    if (auto s = optional_string(doc, "name", kNameLimitBytes, out.name, present); !s) return s;
    if (auto s = optional_string(doc, "client_msg_id", kClientMsgIdLimitBytes, out.client_msg_id,
                                 present);
        !s)
      return s;
    std::string timestamp;
    if (auto s = optional_string(doc, "timestamp", 64, timestamp, present); !s) return s;
    if (present) out.timestamp = std::move(timestamp);

    std::optional<int64_t> since_seq, limit;
    if (auto s = optional_integer(doc, "since_seq", 0, INT64_MAX, since_seq); !s) return s;
    if (since_seq) out.since_seq = static_cast<uint64_t>(*since_seq);
    if (auto s = optional_integer(doc, "limit", 1, kMaxGetLimit, limit); !s) return s;
    if (limit) out.limit = static_cast<size_t>(*limit);
  } catch (const json::exception& e) {
    // Not expected after the type checks above; still a reply, never a crash.
    return Status::error("bad request: " + strip_exception_tag(e.what()));
  }
  return Status::ok();
}

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not one.
size_t utf8_sequence_length(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t n;
  unsigned char lo = 0x80, hi = 0xbf;  // bounds of the second byte
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;  // no surrogates
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if (b(i + k) < 0x80 || b(i + k) > 0xbf) return 0;
  return n;
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t run = 0;  // start of the pending run of plain bytes
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      // Replies must be valid UTF-8 even when they quote bad input back.
      if (size_t n = utf8_sequence_length(s, i); n > 0) {
        i += n - 1;
        continue;
      }
      out.append(s.data() + run, i - run);
      run = i + 1;
      out += "\\ufffd";
      continue;
    }
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        out += "\\u00";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xf]);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

void encode_success(std::string& out) {
  out.assign(R"({"response":"SUCCESS"})");
}

void encode_failed(std::string& out, std::string_view error) {
  out.assign(R"({"response":"FAILED","error":)");
  append_json_string(out, error);
  out.push_back('}');
}

void encode_send_success(std::string& out, uint64_t seq, int64_t time_us) {
  out.assign(R"({"response":"SUCCESS","seq":)");
  fmt::format_to(std::back_inserter(out), "{}", seq);
  out += R"(,"timestamp":")";
  out += format_local_iso(time_us);
  out += "\"}";
}

void append_message_object(std::string& out, const StoredMessage& msg) {
  out += R"({"user_uuid":)";
  append_json_string(out, msg.user_uuid);
  out += R"(,"message":)";
  append_json_string(out, msg.text);
  out += R"(,"timestamp":")";
  out += format_local_iso(msg.time_us);
  out += R"(","seq":)";
  fmt::format_to(std::back_inserter(out), "{}", msg.seq);
  if (!msg.name.empty()) {
    out += R"(,"name":)";
    append_json_string(out, msg.name);
  }
  out.push_back('}');
}

void encode_messages(std::string& out, const MessagePage& page, uint64_t last_seq) {
  out.assign(R"({"response":"SUCCESS","messages":[)");
  bool first = true;
  for (const auto& m : page.messages) {
    if (!first) out.push_back(',');
    first = false;
    append_message_object(out, m);
  }
  out += R"(],"more":)";
  out += page.more ? "true" : "false";
  out += R"(,"last_seq":)";
  fmt::format_to(std::back_inserter(out), "{}", last_seq);
  out.push_back('}');
}

}  // namespace gc

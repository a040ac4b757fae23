#include <fmt/format.h>

#include <climits>
#include <nlohmann/json.hpp>

#include "core/json_text.hpp"
#include "protocol/group_protocol.hpp"
#include "protocol/json_parse.hpp"

namespace gc {

void GroupRequest::clear() {
  action.clear();
  user_uuid.clear();
  message.reset();
  name.clear();
  client_msg_id.clear();
  timestamp.reset();
  since_time.reset();
  since_seq.reset();
  limit.reset();
  last.reset();
}

namespace {

using nlohmann::json;

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

Status decode_group_request_dom(std::string_view body, GroupRequest& out) {
  out.clear();
  auto parsed = parse_untrusted_json(body);
  if (!parsed) return Status::error("malformed JSON: " + parsed.error());
  const json& doc = *parsed;
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
    if (uuid.empty() || uuid.size() > kMaxUserUuidBytes)
      return Status::error(fmt::format("field 'user_uuid' must be 1 to {} bytes long, not {}",
                                       kMaxUserUuidBytes, uuid.size()));
    out.user_uuid = uuid;

    bool present = false;
    std::string message;
    // The message limit is the Group's (configurable); the frame limit already bounds it here.
    if (auto s = optional_string(doc, "message", SIZE_MAX, message, present); !s) return s;
    if (present) out.message = std::move(message);
    if (auto s = optional_string(doc, "name", kMaxDisplayNameBytes, out.name, present); !s)
      return s;
    if (auto s =
            optional_string(doc, "client_msg_id", kMaxClientMsgIdBytes, out.client_msg_id, present);
        !s)
      return s;
    std::string timestamp;
    if (auto s = optional_string(doc, "timestamp", kMaxTimestampBytes, timestamp, present); !s)
      return s;
    if (present) out.timestamp = std::move(timestamp);
    std::string since_time;
    if (auto s = optional_string(doc, "since_time", kMaxTimestampBytes, since_time, present); !s)
      return s;
    if (present) out.since_time = std::move(since_time);

    std::optional<int64_t> since_seq, limit, last;
    if (auto s = optional_integer(doc, "since_seq", 0, INT64_MAX, since_seq); !s) return s;
    if (since_seq) out.since_seq = static_cast<uint64_t>(*since_seq);
    if (auto s = optional_integer(doc, "limit", 1, kMaxGetLimit, limit); !s) return s;
    if (limit) out.limit = static_cast<size_t>(*limit);
    if (auto s = optional_integer(doc, "last", 1, kMaxGetLimit, last); !s) return s;
    if (last) out.last = static_cast<size_t>(*last);
  } catch (const std::exception& e) {
    // Not expected after the type checks above; still a reply, never a crash.
    return Status::error(std::string("bad request: ") + e.what());
  }
  return Status::ok();
}

namespace {

// Scans the request as it almost always comes: one flat object of strings,
// integers and nulls. It accepts only what the DOM parser and the checks of
// decode_group_request_dom accept with the same result; on anything else
// (bad JSON, a wrong type, a value out of range, a repeated key, a float, a
// nested value) it gives up and the DOM decoder produces the error text.
class FlatRequestScanner {
 public:
  FlatRequestScanner(std::string_view body, GroupRequest& out) : body_(body), p_(0), out_(out) {}

  bool scan() {
    skip_ws();
    if (!eat('{')) return false;
    skip_ws();
    if (eat('}')) return finish();
    for (;;) {
      if (!member()) return false;
      skip_ws();
      if (eat(',')) {
        skip_ws();
        continue;
      }
      if (eat('}')) return finish();
      return false;
    }
  }

 private:
  enum Field : unsigned {
    kAction = 1u << 0,
    kUserUuid = 1u << 1,
    kMessage = 1u << 2,
    kName = 1u << 3,
    kClientMsgId = 1u << 4,
    kTimestamp = 1u << 5,
    kSinceSeq = 1u << 6,
    kLimit = 1u << 7,
    kLast = 1u << 8,
    kSinceTime = 1u << 9,
    kOther = 0,
  };

  static Field field_of(std::string_view key) {
    switch (key.size()) {
      case 4:
        if (key == "name") return kName;
        if (key == "last") return kLast;
        break;
      case 5:
        if (key == "limit") return kLimit;
        break;
      case 6:
        if (key == "action") return kAction;
        break;
      case 7:
        if (key == "message") return kMessage;
        break;
      case 9:
        if (key == "user_uuid") return kUserUuid;
        if (key == "timestamp") return kTimestamp;
        if (key == "since_seq") return kSinceSeq;
        break;
      case 10:
        if (key == "since_time") return kSinceTime;
        break;
      case 13:
        if (key == "client_msg_id") return kClientMsgId;
        break;
      default:
        break;
    }
    return kOther;
  }

  bool finish() {
    skip_ws();
    if (p_ != body_.size()) return false;  // trailing bytes: the DOM parser says what
    // action and user_uuid must be present and non-null; null optional fields are absent.
    if ((present_ & (kAction | kUserUuid)) != (kAction | kUserUuid)) return false;
    if (out_.user_uuid.empty() || out_.user_uuid.size() > kMaxUserUuidBytes) return false;
    if (out_.name.size() > kMaxDisplayNameBytes) return false;
    if (out_.client_msg_id.size() > kMaxClientMsgIdBytes) return false;
    if (out_.timestamp && out_.timestamp->size() > kMaxTimestampBytes) return false;
    if (out_.since_time && out_.since_time->size() > kMaxTimestampBytes) return false;
    return true;
  }

  bool member() {
    std::string_view key;
    if (!read_key(key)) return false;
    skip_ws();
    if (!eat(':')) return false;
    skip_ws();
    const Field field = field_of(key);
    if (field != kOther) {
      if (seen_ & field) return false;  // a repeated key: leave it to the DOM parser
      seen_ |= field;
    }
    if (p_ >= body_.size()) return false;
    const char c = body_[p_];
    if (c == 'n') {
      // null: absent for every optional field; an error for action and user_uuid,
      // which finish() rejects because they are not marked present.
      return literal("null");
    }
    switch (field) {
      case kAction:
        present_ |= kAction;
        return c == '"' && read_string(out_.action);
      case kUserUuid:
        present_ |= kUserUuid;
        return c == '"' && read_string(out_.user_uuid);
      case kMessage:
        return c == '"' && read_string(out_.message.emplace());
      case kName:
        return c == '"' && read_string(out_.name);
      case kClientMsgId:
        return c == '"' && read_string(out_.client_msg_id);
      case kTimestamp:
        return c == '"' && read_string(out_.timestamp.emplace());
      case kSinceTime:
        return c == '"' && read_string(out_.since_time.emplace());
      case kSinceSeq: {
        uint64_t v = 0;
        if (!read_natural(v) || v > static_cast<uint64_t>(INT64_MAX)) return false;
        out_.since_seq = v;
        return true;
      }
      case kLimit: {
        uint64_t v = 0;
        if (!read_natural(v) || v < 1 || v > static_cast<uint64_t>(kMaxGetLimit)) return false;
        out_.limit = static_cast<size_t>(v);
        return true;
      }
      case kLast: {
        uint64_t v = 0;
        if (!read_natural(v) || v < 1 || v > static_cast<uint64_t>(kMaxGetLimit)) return false;
        out_.last = static_cast<size_t>(v);
        return true;
      }
      case kOther:
        return skip_value();
    }
    return false;
  }

  // A value of a field we do not know: ignored, but it must be valid JSON.
  bool skip_value() {
    const char c = body_[p_];
    if (c == '"') {
      scratch_.clear();
      return read_string(scratch_);
    }
    if (c == 't') return literal("true");
    if (c == 'f') return literal("false");
    if (c == '-') {
      ++p_;
      uint64_t v = 0;
      return read_natural(v);
    }
    uint64_t v = 0;
    return read_natural(v);
  }

  bool literal(std::string_view word) {
    if (body_.substr(p_, word.size()) != word) return false;
    p_ += word.size();
    return true;
  }

  // A non-negative JSON integer of at most 18 digits (no fraction, no exponent).
  bool read_natural(uint64_t& v) {
    const size_t start = p_;
    v = 0;
    while (p_ < body_.size() && body_[p_] >= '0' && body_[p_] <= '9') {
      v = v * 10 + static_cast<uint64_t>(body_[p_] - '0');
      ++p_;
    }
    const size_t n = p_ - start;
    if (n == 0 || n > 18) return false;
    if (n > 1 && body_[start] == '0') return false;  // JSON has no leading zeros
    if (p_ < body_.size() && (body_[p_] == '.' || body_[p_] == 'e' || body_[p_] == 'E'))
      return false;
    return true;
  }

  // A key without escapes is used in place; one with escapes is decoded.
  bool read_key(std::string_view& key) {
    if (!eat('"')) return false;
    const size_t start = p_;
    p_ += plain_run(body_, p_);
    if (p_ < body_.size() && body_[p_] == '"') {
      key = body_.substr(start, p_ - start);
      ++p_;
      return true;
    }
    p_ = start - 1;
    scratch_.clear();
    if (!read_string(scratch_)) return false;
    key = scratch_;
    return true;
  }

  // Reads the string literal at p_ (on its opening quote) and appends its
  // text to out: plain runs at once, escapes decoded, UTF-8 checked.
  bool read_string(std::string& out) {
    ++p_;
    for (;;) {
      const size_t run = p_;
      p_ += plain_run(body_, p_);
      out.append(body_.data() + run, p_ - run);
      if (p_ >= body_.size()) return false;
      const auto c = static_cast<unsigned char>(body_[p_]);
      if (c == '"') {
        ++p_;
        return true;
      }
      if (c >= 0x80) {
        const size_t n = utf8_sequence_length(body_, p_);
        if (n == 0) return false;
        out.append(body_.data() + p_, n);
        p_ += n;
        continue;
      }
      if (c != '\\') return false;  // a raw control character
      if (++p_ >= body_.size()) return false;
      switch (body_[p_++]) {
        case '"':
          out.push_back('"');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case '/':
          out.push_back('/');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u':
          if (!read_unicode_escape(out)) return false;
          break;
        default:
          return false;
      }
    }
  }

  bool hex4(uint32_t& v) {
    if (p_ + 4 > body_.size()) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = body_[p_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<uint32_t>(c - 'A' + 10);
      else
        return false;
    }
    return true;
  }

  // After "\u": four hex digits, a surrogate pair as two escapes.
  bool read_unicode_escape(std::string& out) {
    uint32_t cp = 0;
    if (!hex4(cp)) return false;
    if (cp >= 0xdc00 && cp <= 0xdfff) return false;  // a lone low surrogate
    if (cp >= 0xd800 && cp <= 0xdbff) {
      uint32_t low = 0;
      if (p_ + 2 > body_.size() || body_[p_] != '\\' || body_[p_ + 1] != 'u') return false;
      p_ += 2;
      if (!hex4(low) || low < 0xdc00 || low > 0xdfff) return false;
      cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
    }
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
    return true;
  }

  void skip_ws() {
    while (p_ < body_.size()) {
      const char c = body_[p_];
      if (c != ' ' && c != '\n' && c != '\r' && c != '\t') return;
      ++p_;
    }
  }

  bool eat(char c) {
    if (p_ < body_.size() && body_[p_] == c) {
      ++p_;
      return true;
    }
    return false;
  }

  std::string_view body_;
  size_t p_;
  GroupRequest& out_;
  unsigned seen_ = 0;     // known keys met so far
  unsigned present_ = 0;  // action / user_uuid given as strings
  std::string scratch_;   // escaped keys and ignored string values
};

}  // namespace

Status decode_group_request(std::string_view body, GroupRequest& out) {
  out.clear();
  if (FlatRequestScanner(body, out).scan()) return Status::ok();
  return decode_group_request_dom(body, out);
}

// ---- The client's side ----------------------------------------------------

namespace {

std::string dump(const json& j) {
  // Text need not be valid UTF-8 on input; replace bad bytes rather than throw.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

std::string make_join_request(const std::string& user_uuid, const std::string& name) {
  json j = {{"action", "joinGroup"}, {"user_uuid", user_uuid}};
  if (!name.empty()) j["name"] = name;
  return dump(j);
}

std::string make_leave_request(const std::string& user_uuid) {
  return dump({{"action", "leaveGroup"}, {"user_uuid", user_uuid}});
}

std::string make_send_request(const std::string& user_uuid, const std::string& name,
                              const std::string& text, const std::string& client_msg_id) {
  json j = {{"action", "sendMessage"},
            {"user_uuid", user_uuid},
            {"message", text},
            {"client_msg_id", client_msg_id}};
  if (!name.empty()) j["name"] = name;
  return dump(j);
}

std::string make_get_request(const std::string& user_uuid, const MessageQuery& q) {
  json j = {{"action", "getMessage"}, {"user_uuid", user_uuid}};
  j["timestamp"] = q.timestamp ? json(*q.timestamp) : json(nullptr);
  if (q.since_time) j["since_time"] = *q.since_time;
  if (q.since_seq) j["since_seq"] = *q.since_seq;
  if (q.last)
    j["last"] = *q.last;
  else
    j["limit"] = q.limit ? *q.limit : static_cast<int>(kDefaultGetLimit);
  return dump(j);
}

std::string make_follow_request(const std::string& user_uuid, std::optional<int64_t> since_seq) {
  json j = {{"action", "follow"}, {"user_uuid", user_uuid}};
  if (since_seq) j["since_seq"] = *since_seq;
  return dump(j);
}

std::string make_whoami_request(const std::string& user_uuid) {
  return dump({{"action", "whoami"}, {"user_uuid", user_uuid}});
}

}  // namespace gc

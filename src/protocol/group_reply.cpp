#include <fmt/format.h>

#include <algorithm>
#include <tuple>

#include "core/json_text.hpp"
#include "core/timefmt.hpp"
#include "protocol/group_protocol.hpp"
#include "protocol/json_parse.hpp"

namespace gc {

void encode_success(std::string& out) {
  out.assign(R"({"response":"SUCCESS"})");
}

void encode_failed(std::string& out, std::string_view error) {
  out.assign(R"({"response":"FAILED","error":)");
  append_json_string(out, error);
  out.push_back('}');
}

void encode_join_success(std::string& out, std::string_view public_id) {
  out.assign(R"({"response":"SUCCESS","public_id":)");
  append_json_string(out, public_id);
  out.push_back('}');
}

void encode_whoami(std::string& out, std::string_view public_id, bool member) {
  out.assign(R"({"response":"SUCCESS","public_id":)");
  append_json_string(out, public_id);
  out += member ? R"(,"member":true})" : R"(,"member":false})";
}

void encode_send_success(std::string& out, uint64_t seq, int64_t time_us) {
  out.assign(R"({"response":"SUCCESS","seq":)");
  append_u64(out, seq);
  out += R"(,"timestamp":")";
  append_local_iso(out, time_us);
  out += "\"}";
}

void append_message_object(std::string& out, const StoredMessage& msg, std::string_view public_id) {
  out += R"({"user_uuid":)";
  append_json_string(out, public_id);
  out += R"(,"message":)";
  append_json_string(out, msg.text);
  out += R"(,"timestamp":")";
  append_local_iso(out, msg.time_us);
  out += R"(","seq":)";
  append_u64(out, msg.seq);
  if (!msg.name.empty()) {
    out += R"(,"name":)";
    append_json_string(out, msg.name);
  }
  out.push_back('}');
}

namespace {
void append_history_id(std::string& out, std::string_view history_id) {
  out += R"(,"history_id":)";
  append_json_string(out, history_id);
}
}  // namespace

void encode_messages(std::string& out, const MessagePage& page,
                     std::span<const std::string> public_ids, uint64_t last_seq,
                     std::string_view history_id) {
  out.assign(R"({"response":"SUCCESS","messages":[)");
  for (size_t i = 0; i < page.messages.size(); ++i) {
    if (i > 0) out.push_back(',');
    // Never the stored identity: a missing id is written empty.
    append_message_object(out, page.messages[i],
                          i < public_ids.size() ? std::string_view(public_ids[i]) : "");
  }
  out += R"(],"more":)";
  out += page.more ? "true" : "false";
  out += R"(,"last_seq":)";
  append_u64(out, last_seq);
  append_history_id(out, history_id);
  out.push_back('}');
}

void encode_follow_success(std::string& out, uint64_t last_seq, std::string_view history_id,
                           std::string_view public_id) {
  out.assign(R"({"response":"SUCCESS","last_seq":)");
  append_u64(out, last_seq);
  append_history_id(out, history_id);
  out += R"(,"public_id":)";
  append_json_string(out, public_id);
  out.push_back('}');
}

void encode_push(std::string& out, const StoredMessage& msg, std::string_view public_id) {
  out.assign(R"({"event":"message",)");
  const size_t at = out.size();
  append_message_object(out, msg, public_id);
  out.erase(at, 1);  // the object's own '{'
}

// ---- The client's side ----------------------------------------------------

using nlohmann::json;

namespace {

// A string field: absent (or null, when optional) leaves out untouched.
Status string_field(const json& obj, const char* key, bool required, std::string& out,
                    const char* what) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required) return Status::error(fmt::format("{} has no \"{}\"", what, key));
    return Status::ok();
  }
  if (!it->is_string())
    return Status::error(fmt::format("\"{}\" of {} is not a string", key, what));
  out = it->get_ref<const std::string&>();
  return Status::ok();
}

// An optional sequence number: a JSON integer from 0 to INT64_MAX.
Result<std::optional<int64_t>> seq_field(const json& obj, const char* key, const char* what) {
  using R = Result<std::optional<int64_t>>;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<int64_t>();
  if (it->is_number_unsigned()) {
    const auto v = it->get<uint64_t>();
    if (v <= static_cast<uint64_t>(INT64_MAX))
      return std::optional<int64_t>(static_cast<int64_t>(v));
  } else if (it->is_number_integer()) {
    const auto v = it->get<int64_t>();
    if (v >= 0) return std::optional<int64_t>(v);
  }
  return R::error(fmt::format("\"{}\" of {} is not an integer from 0 to {}", key, what, INT64_MAX));
}

}  // namespace

Result<GroupReply> decode_group_reply(std::string_view text) {
  auto parsed = parse_untrusted_json(text);
  if (!parsed) return Result<GroupReply>::error("not JSON: " + parsed.error());
  return decode_parsed_group_reply(std::move(*parsed));
}

Result<GroupReply> decode_parsed_group_reply(json body) {
  using R = Result<GroupReply>;
  GroupReply reply;
  reply.body = std::move(body);
  if (!reply.body.is_object()) return R::error("not a JSON object");
  auto r = reply.body.find("response");
  if (r == reply.body.end() || !r->is_string()) return R::error("no \"response\" field");
  const auto& verdict = r->get_ref<const std::string&>();
  if (verdict == "SUCCESS") {
    reply.success = true;
  } else if (verdict == "FAILED") {
    if (auto s = string_field(reply.body, "error", false, reply.error, "the reply"); !s)
      return R::error(s.message());
  } else {
    return R::error("\"response\" is neither SUCCESS nor FAILED");
  }
  return reply;
}

Result<ChatMessage> decode_message(const json& object) {
  using R = Result<ChatMessage>;
  if (!object.is_object()) return R::error("a message is not an object");
  ChatMessage msg;
  for (auto [key, slot, required] :
       {std::tuple{"user_uuid", &msg.user_uuid, true}, std::tuple{"message", &msg.message, true},
        std::tuple{"timestamp", &msg.timestamp, true}, std::tuple{"name", &msg.name, false}}) {
    if (auto s = string_field(object, key, required, *slot, "a message"); !s)
      return R::error(s.message());
  }
  auto seq = seq_field(object, "seq", "a message");
  if (!seq) return R::error(seq.error());
  msg.seq = *seq;
  return msg;
}

Result<SentMessage> decode_sent_message(const json& reply) {
  using R = Result<SentMessage>;
  SentMessage sent;
  auto seq = seq_field(reply, "seq", "the reply");
  if (!seq) return R::error(seq.error());
  sent.seq = *seq;
  if (auto t = reply.find("timestamp"); t != reply.end() && !t->is_null()) {
    if (!t->is_string()) return R::error("\"timestamp\" of the reply is not a string");
    sent.timestamp = t->get<std::string>();
  }
  return sent;
}

Result<FetchedPage> decode_messages(const json& reply) {
  using R = Result<FetchedPage>;
  if (!reply.is_object()) return R::error("not a JSON object");
  auto m = reply.find("messages");
  if (m == reply.end() || !m->is_array()) return R::error("no \"messages\" list");
  FetchedPage page;
  page.messages.reserve(m->size());
  for (const auto& e : *m) {
    auto msg = decode_message(e);
    if (!msg) return R::error(msg.error());
    page.messages.push_back(std::move(*msg));
  }
  if (auto mo = reply.find("more"); mo != reply.end() && !mo->is_null()) {
    if (!mo->is_boolean()) return R::error("\"more\" is not true or false");
    page.more = mo->get<bool>();
  }
  auto last = decode_last_seq(reply);
  if (!last) return R::error(last.error());
  page.last_seq = *last;
  // The reference's reply holds only response and messages, each without a
  // seq; ours always carries last_seq, more and history_id.
  page.from_reference = !page.last_seq && !reply.contains("more") &&
                        !reply.contains("history_id") &&
                        std::none_of(page.messages.begin(), page.messages.end(),
                                     [](const ChatMessage& msg) { return msg.seq.has_value(); });
  return page;
}

Result<std::optional<int64_t>> decode_last_seq(const json& reply) {
  if (!reply.is_object()) return std::optional<int64_t>();
  return seq_field(reply, "last_seq", "the reply");
}

std::optional<std::string> decode_history_id(const json& reply) {
  auto it = reply.find("history_id");
  if (it == reply.end() || !it->is_string()) return std::nullopt;
  const auto& id = it->get_ref<const std::string&>();
  if (id.empty() || id.size() > kMaxHistoryIdBytes) return std::nullopt;
  return id;
}

std::optional<std::string> decode_public_id(const json& reply) {
  if (!reply.is_object()) return std::nullopt;
  auto it = reply.find("public_id");
  if (it == reply.end() || !it->is_string()) return std::nullopt;
  const auto& id = it->get_ref<const std::string&>();
  if (id.empty() || id.size() > kMaxPublicIdBytes) return std::nullopt;
  return id;
}

Result<ChatMessage> decode_push(const json& frame) {
  using R = Result<ChatMessage>;
  if (!frame.is_object()) return R::error("a push is not an object");
  auto ev = frame.find("event");
  if (ev == frame.end() || !ev->is_string() || *ev != "message")
    return R::error("not a pushed message (\"event\" is not \"message\")");
  return decode_message(frame);
}

}  // namespace gc

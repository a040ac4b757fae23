#include "core/json_text.hpp"
#include "core/timefmt.hpp"
#include "protocol/group_protocol.hpp"

namespace gc {

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
  append_u64(out, seq);
  out += R"(,"timestamp":")";
  append_local_iso(out, time_us);
  out += "\"}";
}

void append_message_object(std::string& out, const StoredMessage& msg) {
  out += R"({"user_uuid":)";
  append_json_string(out, msg.user_uuid);
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

void encode_messages(std::string& out, const MessagePage& page, uint64_t last_seq,
                     std::string_view history_id) {
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
  append_u64(out, last_seq);
  append_history_id(out, history_id);
  out.push_back('}');
}

void encode_follow_success(std::string& out, uint64_t last_seq, std::string_view history_id) {
  out.assign(R"({"response":"SUCCESS","last_seq":)");
  append_u64(out, last_seq);
  append_history_id(out, history_id);
  out.push_back('}');
}

void encode_push(std::string& out, const StoredMessage& msg) {
  out.assign(R"({"event":"message",)");
  const size_t at = out.size();
  append_message_object(out, msg);
  out.erase(at, 1);  // the object's own '{'
}

// ---- The client's side ----------------------------------------------------

using nlohmann::json;

namespace {

// A field as text whatever its JSON type: a reference peer or a future
// version may send a number where we expect a string.
std::string as_text(const json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::optional<int64_t> integer_field(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}

}  // namespace

Result<GroupReply> decode_group_reply(std::string_view text) {
  json body = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return Result<GroupReply>::error("not JSON");
  return decode_parsed_group_reply(std::move(body));
}

Result<GroupReply> decode_parsed_group_reply(json body) {
  using R = Result<GroupReply>;
  GroupReply reply;
  reply.body = std::move(body);
  if (!reply.body.is_object()) return R::error("not a JSON object");
  auto r = reply.body.find("response");
  if (r == reply.body.end() || !r->is_string()) return R::error("no \"response\" field");
  if (*r == "SUCCESS") {
    reply.success = true;
  } else if (*r == "FAILED") {
    auto e = reply.body.find("error");
    if (e != reply.body.end() && e->is_string()) reply.error = e->get<std::string>();
  } else {
    return R::error("\"response\" is neither SUCCESS nor FAILED");
  }
  return reply;
}

ChatMessage decode_message(const json& object) {
  ChatMessage msg;
  if (!object.is_object()) return msg;
  msg.user_uuid = as_text(object.value("user_uuid", json("")));
  msg.message = as_text(object.value("message", json("")));
  msg.timestamp = as_text(object.value("timestamp", json("")));
  if (auto n = object.find("name"); n != object.end() && n->is_string())
    msg.name = n->get<std::string>();
  msg.seq = integer_field(object, "seq");
  return msg;
}

SentMessage decode_sent_message(const json& reply) {
  SentMessage sent;
  sent.seq = integer_field(reply, "seq");
  if (auto t = reply.find("timestamp"); t != reply.end() && t->is_string())
    sent.timestamp = t->get<std::string>();
  return sent;
}

Result<FetchedPage> decode_messages(const json& reply) {
  using R = Result<FetchedPage>;
  auto m = reply.find("messages");
  if (m == reply.end() || !m->is_array()) return R::error("no \"messages\" list");
  FetchedPage page;
  page.messages.reserve(m->size());
  for (const auto& e : *m) {
    if (!e.is_object()) return R::error("a message is not an object");
    page.messages.push_back(decode_message(e));
  }
  if (auto mo = reply.find("more"); mo != reply.end() && mo->is_boolean())
    page.more = mo->get<bool>();
  page.last_seq = decode_last_seq(reply);
  return page;
}

std::optional<int64_t> decode_last_seq(const json& reply) {
  return integer_field(reply, "last_seq");
}

std::optional<std::string> decode_history_id(const json& reply) {
  auto it = reply.find("history_id");
  if (it == reply.end() || !it->is_string()) return std::nullopt;
  const auto& id = it->get_ref<const std::string&>();
  if (id.empty() || id.size() > kMaxHistoryIdBytes) return std::nullopt;
  return id;
}

std::optional<ChatMessage> decode_push(const json& frame) {
  if (!frame.is_object()) return std::nullopt;
  auto ev = frame.find("event");
  if (ev == frame.end() || !ev->is_string() || *ev != "message") return std::nullopt;
  return decode_message(frame);
}

}  // namespace gc

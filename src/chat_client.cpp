#include "groupchat/chat_client.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "groupchat/identity.hpp"

namespace gc {
using nlohmann::json;

ZmqTransport::ZmqTransport(int timeout_ms, int tries) : timeout_ms_(timeout_ms), tries_(tries) {}

Result<std::string> ZmqTransport::request(const std::string& address, std::string_view body,
                                          std::string_view peer_kind) {
  auto& client = clients_[address];
  if (!client) {
    RequestOptions opts;
    opts.timeout_ms = timeout_ms_;
    opts.tries = tries_;
    opts.peer_kind = std::string(peer_kind);
    client = std::make_unique<RequestClient>(ctx_, address, opts);
  }
  return client->request(body);
}

namespace {

std::string excerpt(std::string_view s) {
  constexpr size_t kMax = 120;
  std::string out(s.substr(0, kMax));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  if (s.size() > kMax) out += "...";
  return out;
}

template <typename T>
CallResult<T> bad_reply(const std::string& address, std::string_view reply, std::string why) {
  return CallResult<T>::failure(
      CallStatus::bad_reply,
      fmt::format("unexpected reply from {}: {} (got '{}')", address, why, excerpt(reply)));
}

std::string as_text(const json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

}  // namespace

std::string describe_refusal(const std::string& address, const std::string& error) {
  if (error.empty()) return fmt::format("{} answered FAILED without a reason", address);
  return fmt::format("{} refused: {}", address, error);
}

std::string make_join_request(const std::string& user_uuid, const std::string& name) {
  json j = {{"action", "joinGroup"}, {"user_uuid", user_uuid}};
  if (!name.empty()) j["name"] = name;
  return j.dump();
}

std::string make_send_request(const std::string& user_uuid, const std::string& name,
                              const std::string& text, const std::string& client_msg_id) {
  json j = {{"action", "sendMessage"},
            {"user_uuid", user_uuid},
            {"message", text},
            {"client_msg_id", client_msg_id}};
  if (!name.empty()) j["name"] = name;
  // A message need not be valid UTF-8 on input; replace bad bytes rather than throw.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string make_get_request(const std::string& user_uuid, const MessageQuery& q) {
  json j = {{"action", "getMessage"}, {"user_uuid", user_uuid}};
  j["timestamp"] = q.timestamp ? json(*q.timestamp) : json(nullptr);
  if (q.since_seq) j["since_seq"] = *q.since_seq;
  if (q.limit) j["limit"] = *q.limit;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

RegistryClient::RegistryClient(Transport& transport, std::string address, std::string user_uuid)
    : transport_(transport), address_(std::move(address)), user_uuid_(std::move(user_uuid)) {}

CallResult<std::vector<std::string>> RegistryClient::get_group_list() {
  using R = CallResult<std::vector<std::string>>;
  json req = {{"action", "get_group_list"}, {"user_uuid", user_uuid_}};
  auto reply = transport_.request(
      address_, req.dump(-1, ' ', false, json::error_handler_t::replace), "message_server");
  if (!reply) return R::failure(CallStatus::unreachable, reply.error());
  auto j = json::parse(*reply, nullptr, false);
  if (j.is_discarded()) return bad_reply<std::vector<std::string>>(address_, *reply, "not JSON");
  if (j.is_array()) {
    std::vector<std::string> groups;
    for (const auto& g : j) groups.push_back(as_text(g));
    return groups;
  }
  if (j.is_object() && j.value("response", json()).is_string() && j["response"] == "FAILED") {
    auto e = j.find("error");
    return R::failure(CallStatus::refused,
                      e != j.end() && e->is_string() ? e->get<std::string>() : "");
  }
  return bad_reply<std::vector<std::string>>(address_, *reply, "expected a JSON list of groups");
}

GroupClient::GroupClient(Transport& transport, std::string address, std::string user_uuid,
                         std::string name)
    : transport_(transport),
      address_(std::move(address)),
      user_uuid_(std::move(user_uuid)),
      name_(std::move(name)) {}

CallResult<std::string> GroupClient::call(const std::string& body) {
  using R = CallResult<std::string>;
  auto reply = transport_.request(address_, body, "group_server");
  if (!reply) return R::failure(CallStatus::unreachable, reply.error());
  auto j = json::parse(*reply, nullptr, false);
  if (j.is_discarded()) return bad_reply<std::string>(address_, *reply, "not JSON");
  if (!j.is_object()) return bad_reply<std::string>(address_, *reply, "not a JSON object");
  auto r = j.find("response");
  if (r == j.end() || !r->is_string())
    return bad_reply<std::string>(address_, *reply, "no \"response\" field");
  if (*r == "SUCCESS") return std::move(*reply);
  if (*r == "FAILED") {
    auto e = j.find("error");
    return R::failure(CallStatus::refused,
                      e != j.end() && e->is_string() ? e->get<std::string>() : "");
  }
  return bad_reply<std::string>(address_, *reply, "\"response\" is neither SUCCESS nor FAILED");
}

CallResult<Done> GroupClient::join() {
  auto r = call(make_join_request(user_uuid_, name_));
  if (!r.ok()) return CallResult<Done>::failure(r.status(), r.error());
  return Done{};
}

CallResult<Done> GroupClient::leave() {
  auto r = call(json({{"action", "leaveGroup"}, {"user_uuid", user_uuid_}})
                    .dump(-1, ' ', false, json::error_handler_t::replace));
  if (!r.ok()) return CallResult<Done>::failure(r.status(), r.error());
  return Done{};
}

CallResult<SentMessage> GroupClient::send(const std::string& text) {
  auto r = call(make_send_request(user_uuid_, name_, text, generate_uuid_v4()));
  if (!r.ok()) return CallResult<SentMessage>::failure(r.status(), r.error());
  auto j = json::parse(r.value(), nullptr, false);
  SentMessage sent;
  if (auto s = j.find("seq"); s != j.end() && s->is_number_integer()) sent.seq = s->get<int64_t>();
  if (auto t = j.find("timestamp"); t != j.end() && t->is_string())
    sent.timestamp = t->get<std::string>();
  return sent;
}

CallResult<FetchedPage> GroupClient::get(const MessageQuery& query) {
  using R = CallResult<FetchedPage>;
  auto r = call(make_get_request(user_uuid_, query));
  if (!r.ok()) return R::failure(r.status(), r.error());
  auto j = json::parse(r.value(), nullptr, false);
  auto m = j.find("messages");
  if (m == j.end() || !m->is_array())
    return bad_reply<FetchedPage>(address_, r.value(), "no \"messages\" list");
  FetchedPage page;
  for (const auto& e : *m) {
    if (!e.is_object())
      return bad_reply<FetchedPage>(address_, r.value(), "a message is not an object");
    ChatMessage msg;
    msg.user_uuid = as_text(e.value("user_uuid", json("")));
    msg.message = as_text(e.value("message", json("")));
    msg.timestamp = as_text(e.value("timestamp", json("")));
    if (auto n = e.find("name"); n != e.end() && n->is_string()) msg.name = n->get<std::string>();
    if (auto s = e.find("seq"); s != e.end() && s->is_number_integer()) msg.seq = s->get<int64_t>();
    page.messages.push_back(std::move(msg));
  }
  if (auto mo = j.find("more"); mo != j.end() && mo->is_boolean()) page.more = mo->get<bool>();
  if (auto l = j.find("last_seq"); l != j.end() && l->is_number_integer())
    page.last_seq = l->get<int64_t>();
  return page;
}

CallResult<FetchedPage> GroupClient::get_all(const MessageQuery& query, int max_pages) {
  MessageQuery q = query;
  FetchedPage all;
  for (int page_no = 0; page_no < max_pages; ++page_no) {
    auto page = get(q);
    if (!page.ok()) {
      if (page_no == 0) return page;
      // Keep what arrived; report the failure of the later page.
      return CallResult<FetchedPage>::failure(page.status(), page.error());
    }
    auto end = page->end_seq();
    for (auto& m : page->messages) all.messages.push_back(std::move(m));
    if (page->last_seq) all.last_seq = page->last_seq;
    all.more = page->more;
    // Stop unless the server promises more and the page moved past since_seq.
    if (!page->more || !end || (q.since_seq && *end <= *q.since_seq)) break;
    q.since_seq = end;
  }
  return all;
}

}  // namespace gc

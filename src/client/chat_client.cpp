#include "client/chat_client.hpp"

#include <fmt/format.h>

#include "client/user_files.hpp"
#include "core/timefmt.hpp"
#include "protocol/registry_protocol.hpp"

namespace gc {

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
CallResult<T> bad_reply(const std::string& address, std::string_view reply, std::string_view why) {
  return CallResult<T>::failure(
      CallStatus::bad_reply,
      fmt::format("unexpected reply from {}: {} (got '{}')", address, why, excerpt(reply)));
}

}  // namespace

std::string describe_refusal(const std::string& address, const std::string& error) {
  if (error.empty()) return fmt::format("{} answered FAILED without a reason", address);
  return fmt::format("{} refused: {}", address, error);
}

Result<std::string> since_for_wire(std::string_view text, int64_t now_epoch_us) {
  auto t = parse_since(text, now_epoch_us);
  if (!t) return Result<std::string>::error(t.error());
  std::string iso = format_local_iso(*t);  // YYYY-MM-DDTHH:MM:SS.ffffff
  if (auto dot = iso.find('.');
      dot != std::string::npos && text.find('.') == std::string_view::npos)
    iso.resize(dot);
  return iso;
}

RegistryClient::RegistryClient(Transport& transport, std::string address, std::string user_uuid)
    : transport_(transport), address_(std::move(address)), user_uuid_(std::move(user_uuid)) {}

CallResult<std::vector<std::string>> RegistryClient::get_group_list() {
  using R = CallResult<std::vector<std::string>>;
  auto reply = transport_.request(address_, make_group_list_request(user_uuid_), "message_server");
  if (!reply) return R::failure(CallStatus::unreachable, reply.error());
  GroupListReply list = decode_group_list(*reply);
  switch (list.kind) {
    case GroupListReply::Kind::list:
      return std::move(list.groups);
    case GroupListReply::Kind::refused:
      return R::failure(CallStatus::refused, list.error);
    case GroupListReply::Kind::unreadable:
      break;
  }
  return bad_reply<std::vector<std::string>>(address_, *reply, list.error);
}

GroupClient::GroupClient(Transport& transport, std::string address, std::string user_uuid,
                         std::string name)
    : transport_(transport),
      address_(std::move(address)),
      user_uuid_(std::move(user_uuid)),
      name_(std::move(name)) {}

CallResult<GroupReply> GroupClient::call(const std::string& body, std::string* raw) {
  using R = CallResult<GroupReply>;
  auto text = transport_.request(address_, body, "group_server");
  if (!text) return R::failure(CallStatus::unreachable, text.error());
  auto reply = decode_group_reply(*text);
  if (!reply) return bad_reply<GroupReply>(address_, *text, reply.error());
  if (!reply->success) return R::failure(CallStatus::refused, reply->error);
  if (raw) *raw = std::move(*text);
  return std::move(*reply);
}

CallResult<Done> GroupClient::join() {
  auto r = call(make_join_request(user_uuid_, name_));
  if (!r.ok()) return CallResult<Done>::failure(r.status(), r.error());
  return Done{};
}

CallResult<Done> GroupClient::leave() {
  auto r = call(make_leave_request(user_uuid_));
  if (!r.ok()) return CallResult<Done>::failure(r.status(), r.error());
  return Done{};
}

CallResult<SentMessage> GroupClient::send(const std::string& text) {
  auto r = call(make_send_request(user_uuid_, name_, text, generate_uuid_v4()));
  if (!r.ok()) return CallResult<SentMessage>::failure(r.status(), r.error());
  return decode_sent_message(r->body);
}

CallResult<FetchedPage> GroupClient::get(const MessageQuery& query) {
  using R = CallResult<FetchedPage>;
  std::string raw;
  auto r = call(make_get_request(user_uuid_, query), &raw);
  if (!r.ok()) return R::failure(r.status(), r.error());
  auto page = decode_messages(r->body);
  if (!page) return bad_reply<FetchedPage>(address_, raw, page.error());
  return std::move(*page);
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

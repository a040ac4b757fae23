#include "client/chat_client.hpp"

#include <fmt/format.h>

#include <mutex>

#include "client/security.hpp"
#include "client/user_files.hpp"
#include "core/clock.hpp"
#include "core/endpoint.hpp"
#include "core/timefmt.hpp"
#include "core/visible_text.hpp"
#include "protocol/limits.hpp"
#include "protocol/registry_protocol.hpp"

namespace gc {

namespace {

// Names resolved in this run, so that one name keeps one address throughout.
std::mutex resolved_mutex;
std::map<std::string, std::string>& resolved_names() {
  static std::map<std::string, std::string> names;
  return names;
}

// "a.b.c.d:port" for an address to connect to; an error when its host name
// does not resolve (not kept: it may resolve later).
Result<std::string> resolve_once(const Endpoint& ep) {
  if (parse_ipv4_host(ep.host)) return canonical_address(ep);
  const std::string key = ep.ip_port();
  {
    std::lock_guard<std::mutex> lock(resolved_mutex);
    auto& names = resolved_names();
    if (auto it = names.find(key); it != names.end()) return it->second;
  }
  auto resolved = resolved_address(ep);
  if (!resolved) return resolved;
  std::lock_guard<std::mutex> lock(resolved_mutex);
  auto& names = resolved_names();
  if (names.size() < 4096) names.emplace(key, *resolved);
  return *resolved;
}

}  // namespace

std::string canonical_group_address(std::string_view address) {
  auto ep = parse_connect_endpoint(address);
  if (!ep) return canonical_address(address);
  auto resolved = resolve_once(*ep);
  return resolved ? *resolved : canonical_address(*ep);
}

ZmqTransport::ZmqTransport(int timeout_ms, int tries, int resend_ms)
    : timeout_ms_(timeout_ms), tries_(tries), resend_ms_(resend_ms) {}

void ZmqTransport::begin_command() {
  last_answer_ms_ = mono_ms();
}

void ZmqTransport::cap_waits(std::optional<int> ms) {
  cap_until_ms_ = ms ? mono_ms() + *ms : -1;
}

Result<std::string> ZmqTransport::resolve(const std::string& address) {
  auto ep = parse_connect_endpoint(address);
  if (!ep) return Result<std::string>::error(ep.error());
  auto resolved = resolve_once(*ep);
  if (!resolved)
    return Result<std::string>::error(
        fmt::format("cannot reach {}: {}", ep->ip_port(), resolved.error()));
  return resolved;
}

void ZmqTransport::secure(TransportSecurity security) {
  security_ = std::move(security);
  clients_.clear();
  known_.clear();
  // Keyed by the address resolved, so that a group typed by host name is
  // found under the number the registry lists it by.
  if (security_.registry_key)
    known_[canonical_group_address(security_.registry)] = {*security_.registry_key,
                                                           security_.registry_key_source};
  for (const auto& [address, key] : security_.group_keys)
    known_[canonical_group_address(address)] = {key, KeySource::of(KeySource::Kind::group_key)};
}

void ZmqTransport::note_listed_groups(const std::vector<GroupEntry>& groups) {
  if (!security_.registry_key) return;  // only a curve registry's list proves anything
  for (const auto& g : groups) {
    const std::string at = canonical_group_address(g.address);
    if (auto it = known_.find(at);
        it != known_.end() && !it->second.source.is(KeySource::Kind::registry_list))
      continue;  // --group-key, or the registry itself, is not overridden by a list
    known_[at] = {g.curve ? g.public_key : std::string(),
                  KeySource::of(KeySource::Kind::registry_list)};
  }
}

Result<CurveKeyPair> ZmqTransport::my_keys() {
  if (mine_) return *mine_;
  if (!security_.my_keys)
    return Result<CurveKeyPair>::error("no key pair of yours is at hand for a CURVE connection");
  auto keys = security_.my_keys();
  if (keys) mine_ = *keys;
  return keys;
}

Result<ServerRoute> ZmqTransport::route(const std::string& address) {
  using R = Result<ServerRoute>;
  // A name that does not resolve is said at once, not after a timeout.
  auto where = resolve(address);
  if (!where) return R::error(where.error());
  const std::string& canonical = *where;
  auto it = known_.find(canonical);
  if (it == known_.end() && security_.registry_key &&
      canonical != canonical_group_address(security_.registry)) {
    // A curve registry lists how each group is reached: ask once for an
    // address not known yet (a group may have registered since the last time).
    RegistryClient registry(*this, security_.registry, {});
    auto list = registry.list_groups();
    if (!list.ok()) {
      std::string why = list.error();
      if (list.status() == CallStatus::refused) why = describe_refusal(security_.registry, why);
      return R::error(
          fmt::format("cannot learn from the registry how to reach {}: {}", address, why));
    }
    note_listed_groups(list.value());
    it = known_.find(canonical);
  }
  ServerRoute route;
  if (it == known_.end() || it->second.key.empty()) {
    if (it != known_.end()) route.key_source = it->second.source;
    return route;
  }
  auto mine = my_keys();
  if (!mine) return R::error(mine.error());
  route.curve = CurveClientKeys{*mine, it->second.key};
  route.key_source = it->second.source;
  return route;
}

std::string ZmqTransport::describe(const std::string& address, const ServerRoute& route,
                                   const LinkEvents& link) const {
  LinkContext c;
  c.address = canonical_address(address);
  c.registry = c.address == security_.registry;
  if (route.curve) {
    c.server_key = route.curve->server_public_key;
    c.my_key = route.curve->mine.public_key;
  } else if (mine_) {
    c.my_key = mine_->public_key;
  }
  c.key_source = route.key_source;
  c.known_registries = security_.known_registries;
  return describe_link_problem(link, c);
}

Result<std::string> ZmqTransport::request(const std::string& address, std::string_view body,
                                          std::string_view peer_kind) {
  last_failure_was_security_ = false;
  last_may_have_arrived_ = false;
  auto found = clients_.find(address);
  if (found == clients_.end()) {
    auto r = route(address);
    if (!r) return Result<std::string>::error(r.error());
    auto where = resolve(address);
    if (!where) return Result<std::string>::error(where.error());
    RequestOptions opts;
    opts.timeout_ms = timeout_ms_;
    opts.tries = tries_;
    opts.resend_ms = resend_ms_;
    opts.peer_kind = std::string(peer_kind);
    opts.max_reply_bytes = kMaxClientReplyBytes;
    opts.curve = r->curve;
    // Connected to the address resolved (libzmq would resolve the name
    // again, perhaps to another address), named as the user wrote it.
    found = clients_
                .emplace(address,
                         Client{std::make_unique<RequestClient>(
                                    ctx_, *where, opts, std::string(without_tcp_prefix(address))),
                                *r})
                .first;
  }
  Client& c = found->second;
  int64_t deadline = last_answer_ms_ >= 0 ? last_answer_ms_ + timeout_ms_ : -1;
  if (cap_until_ms_ >= 0)
    deadline = deadline < 0 ? cap_until_ms_ : std::min(deadline, cap_until_ms_);
  auto reply = c.client->request(body, deadline);
  if (reply && last_answer_ms_ >= 0) last_answer_ms_ = mono_ms();
  if (!reply) {
    last_may_have_arrived_ = c.client->last_may_have_arrived();
    const LinkEvents& link = c.client->last_link();
    if (c.client->last_failure() != RequestFailure::handshake) return reply;
    last_failure_was_security_ = true;
    std::string text = describe(address, c.route, link);
    // A key learnt from the registry may be stale (the group has a new
    // one): the next request asks the registry again.
    if (c.route.key_source.is(KeySource::Kind::registry_list))
      known_.erase(canonical_group_address(address));
    clients_.erase(found);
    return Result<std::string>::error(std::move(text));
  }
  if (!registry_proved_ && c.route.curve && canonical_address(address) == security_.registry) {
    registry_proved_ = true;
    if (security_.on_registry_proved) security_.on_registry_proved();
  }
  return reply;
}

namespace {

std::string excerpt(std::string_view s) {
  constexpr size_t kMax = 120;
  std::string out = visible_text(s.substr(0, kMax));
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
  return fmt::format("{} refused: {}", address, visible_text(error));
}

Result<SinceTime> since_for_wire(std::string_view text, int64_t now_epoch_us) {
  auto t = parse_since(text, now_epoch_us);
  if (!t) return Result<SinceTime>::error(t.error());
  return SinceTime{*t, format_instant(*t), format_local_seconds(*t)};
}

void SinceTime::apply(MessageQuery& query) const {
  query.timestamp = naive;
  query.since_time = instant;
  query.since_us = epoch_us;
}

namespace {
// A request that got no usable reply: its connection's security failed, or nothing answered.
CallStatus no_reply_status(const Transport& transport) {
  return transport.last_failure_was_security() ? CallStatus::insecure : CallStatus::unreachable;
}
}  // namespace

RegistryClient::RegistryClient(Transport& transport, std::string address, std::string user_uuid)
    : transport_(transport), address_(std::move(address)), user_uuid_(std::move(user_uuid)) {}

CallResult<std::vector<std::string>> RegistryClient::get_group_list() {
  using R = CallResult<std::vector<std::string>>;
  auto reply = transport_.request(address_, make_group_list_request(user_uuid_), "message_server");
  if (!reply) return R::failure(no_reply_status(transport_), reply.error());
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

CallResult<std::vector<GroupEntry>> RegistryClient::list_groups() {
  using R = CallResult<std::vector<GroupEntry>>;
  auto reply = transport_.request(address_, make_list_groups_request(), "message_server");
  if (!reply) return R::failure(no_reply_status(transport_), reply.error());
  GroupEntriesReply list = decode_group_entries(*reply);
  switch (list.kind) {
    case GroupEntriesReply::Kind::list:
      return std::move(list.groups);
    case GroupEntriesReply::Kind::refused:
      return R::failure(CallStatus::refused, list.error);
    case GroupEntriesReply::Kind::unreadable:
      break;
  }
  return bad_reply<std::vector<GroupEntry>>(address_, *reply, list.error);
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
  if (!text) return R::failure(no_reply_status(transport_), text.error());
  auto reply = decode_group_reply(*text);
  if (!reply) return bad_reply<GroupReply>(address_, *text, reply.error());
  if (!reply->success) return R::failure(CallStatus::refused, reply->error);
  if (raw) *raw = std::move(*text);
  return std::move(*reply);
}

CallResult<Done> GroupClient::join() {
  auto r = call(make_join_request(user_uuid_, name_));
  if (!r.ok()) return CallResult<Done>::failure(r.status(), r.error());
  public_id_ = decode_public_id(r->body);
  return Done{};
}

CallResult<WhoAmI> GroupClient::whoami() {
  std::string raw;
  auto r = call(make_whoami_request(user_uuid_), &raw);
  if (!r.ok()) return CallResult<WhoAmI>::failure(r.status(), r.error());
  WhoAmI me;
  auto id = decode_public_id(r->body);
  if (!id) return bad_reply<WhoAmI>(address_, raw, "the reply has no \"public_id\" string");
  me.public_id = std::move(*id);
  auto member = r->body.find("member");
  if (member == r->body.end() || !member->is_boolean())
    return bad_reply<WhoAmI>(address_, raw, "\"member\" of the reply is not true or false");
  me.member = member->get<bool>();
  return me;
}

CallResult<Done> GroupClient::leave() {
  auto r = call(make_leave_request(user_uuid_));
  if (!r.ok()) return CallResult<Done>::failure(r.status(), r.error());
  return Done{};
}

CallResult<SentMessage> GroupClient::send(const std::string& text) {
  using R = CallResult<SentMessage>;
  std::string raw;
  auto r = call(make_send_request(user_uuid_, name_, text, generate_uuid_v4()), &raw);
  if (!r.ok()) {
    // Never report a message as lost that the group may have stored.
    if (r.status() == CallStatus::unreachable && transport_.last_failure_may_have_arrived())
      return R::failure(r.status(), r.error() + "; " + kSendMayBeStored);
    return R::failure(r.status(), r.error());
  }
  auto sent = decode_sent_message(r->body);
  if (!sent) return bad_reply<SentMessage>(address_, raw, sent.error());
  return std::move(*sent);
}

CallResult<FetchedPage> GroupClient::get(const MessageQuery& query) {
  using R = CallResult<FetchedPage>;
  std::string raw;
  auto r = call(make_get_request(user_uuid_, query), &raw);
  if (!r.ok()) return R::failure(r.status(), r.error());
  auto page = decode_messages(r->body);
  if (!page) return bad_reply<FetchedPage>(address_, raw, page.error());
  if (page->from_reference) {
    // A reference group ignores last, limit and since_seq: page here. Its
    // messages have no seq, but with no timestamp it returns the whole
    // history in order, so a message's position is its seq.
    auto& ms = page->messages;
    // It selected by the whole second: drop what is before the exact instant.
    // Its timestamps are its local time, taken to be the user's.
    if (query.since_us) {
      std::erase_if(ms, [&](const ChatMessage& m) {
        auto t = parse_since(m.timestamp, *query.since_us);
        return t && *t < *query.since_us;
      });
    }
    if (query.since_seq && !query.timestamp) {
      const auto skip = static_cast<size_t>(std::min<int64_t>(
          std::max<int64_t>(*query.since_seq, 0), static_cast<int64_t>(ms.size())));
      ms.erase(ms.begin(), ms.begin() + static_cast<std::ptrdiff_t>(skip));
    }
    if (query.last && ms.size() > static_cast<size_t>(*query.last))
      ms.erase(ms.begin(), ms.end() - *query.last);
    if (!query.last && query.limit && ms.size() > static_cast<size_t>(*query.limit)) {
      ms.resize(static_cast<size_t>(*query.limit));
      page->more = true;
    }
    return std::move(*page);
  }
  const auto asked = query.last ? query.last : query.limit;
  if (asked && page->messages.size() > static_cast<size_t>(*asked))
    return R::failure(CallStatus::bad_reply,
                      fmt::format("unexpected reply from {}: a page of {} messages, more than "
                                  "the {} asked for",
                                  address_, page->messages.size(), *asked));
  std::optional<int64_t> previous = query.since_seq;
  for (const auto& m : page->messages) {
    if (!m.seq) continue;
    if (previous && *m.seq <= *previous)
      return R::failure(CallStatus::bad_reply,
                        fmt::format("unexpected reply from {}: the messages do not advance "
                                    "(seq {} after {})",
                                    address_, *m.seq, *previous));
    previous = m.seq;
  }
  return std::move(*page);
}

CallResult<Done> GroupClient::get_pages(const MessageQuery& query, const PageSink& on_page,
                                        int max_pages) {
  MessageQuery q = query;
  for (int page_no = 0; page_no < max_pages; ++page_no) {
    auto page = get(q);
    if (!page.ok()) return CallResult<Done>::failure(page.status(), page.error());
    const auto end = page->end_seq();
    const bool more = page->more;
    if (more && page->messages.empty())
      return CallResult<Done>::failure(
          CallStatus::bad_reply,
          fmt::format("unexpected reply from {}: a page says more messages follow but holds none",
                      address_));
    if (!on_page(page.value())) break;
    if (!more) break;
    // A reference group sends no seq: nothing to continue from.
    if (!end) break;
    // get() checked that every seq is above since_seq, so the next page starts later.
    q.since_seq = end;
  }
  return Done{};
}

}  // namespace gc

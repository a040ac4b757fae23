#pragma once
// Typed calls to the registry and to group servers, over any request/reply
// transport. They understand both our replies and the reference's (the
// decoding itself is protocol/'s): the reference registry answers a JSON
// list, the reference group {"response": ...} with no error text and no seq.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#include <zmq.hpp>

#include "client/security.hpp"
#include "core/result.hpp"
#include "net/curve.hpp"
#include "net/request_client.hpp"
#include "protocol/group_protocol.hpp"
#include "protocol/registry_protocol.hpp"

namespace gc {

// One request, one reply frame, to the server at `address` (IP:PORT).
// `peer_kind` names the program expected there, for error messages.
// An error result means no usable reply arrived (the server is unreachable).
class Transport {
 public:
  virtual ~Transport() = default;
  virtual Result<std::string> request(const std::string& address, std::string_view body,
                                      std::string_view peer_kind) = 0;
  // True when the last failed request failed on the connection's security
  // (a handshake: a key not proved or refused, curve against open).
  virtual bool last_failure_was_security() const { return false; }
  // True when the registry is reached over CURVE (and answers list_groups).
  virtual bool registry_is_curve() const { return false; }
  // True when the last failed request was sent on a connection that was
  // made, so the server may have acted on it (a message may be stored).
  virtual bool last_failure_may_have_arrived() const { return false; }
  // From now on no request waits past ms from now, whatever its budget
  // (nullopt: no such cap). For what must not hold a person up for long,
  // such as Tab completion's list of names.
  virtual void cap_waits(std::optional<int> /*ms*/) {}
  // A curve registry's list_groups, just fetched by the caller: how each
  // group listed is reached, so that it is not asked again for them.
  virtual void note_listed_groups(const std::vector<GroupEntry>& /*groups*/) {}
};

// The one form of a group's (or any server's) address that the client keys
// per-address state by: the host resolved to its IPv4 address, as a dotted
// quad ("localhost:5560", "127.1:5560", "tcp://127.0.0.1:5560" and a name
// of 127.0.0.1 are all "127.0.0.1:5560"). A name is resolved once per run
// (a later change of its address does not split the group in two); a name
// that does not resolve, or a text that is not an address, stays as
// canonical_address (client/security.hpp) writes it.
std::string canonical_group_address(std::string_view address);

// How the transport reaches servers in the curve mode (docs/CLIENT.md).
struct TransportSecurity {
  std::string registry;                           // IP:PORT, canonical
  std::optional<std::string> registry_key;        // a curve registry's key; nullopt: open
  KeySource registry_key_source;                  // given, or known_registries
  std::filesystem::path known_registries;         // for advice on a changed key
  std::map<std::string, std::string> group_keys;  // --group-key, by canonical address
  // The user's key pair, loaded or made on first need.
  std::function<Result<CurveKeyPair>()> my_keys;
  // Called once, after the curve registry first answered (its key is proved).
  std::function<void()> on_registry_proved;
};

// How one server is reached.
struct ServerRoute {
  std::optional<CurveClientKeys> curve;  // nullopt: open
  KeySource key_source;                  // where the server's key came from
};

// The real transport: one RequestClient per address, kept for reuse (its
// connection with it).
class ZmqTransport : public Transport {
 public:
  // timeout_ms: the budget of a command's wait for answers (see
  // begin_command); tries: sends of one request at most; resend_ms: also
  // resend after that long without a reply (0: only after a dropped
  // connection).
  ZmqTransport(int timeout_ms, int tries, int resend_ms = 0);
  // Starts a command: from now on its requests share one budget of
  // timeout_ms, which starts again whenever an answer arrives (a command
  // that keeps getting answers, e.g. pages, is not cut short; one that gets
  // none gives up timeout_ms after its start or its last answer, whatever it
  // tried meanwhile). Without it each request has a budget of its own.
  void begin_command();
  // Without it every server is reached open.
  void secure(TransportSecurity security);
  Result<std::string> request(const std::string& address, std::string_view body,
                              std::string_view peer_kind) override;
  bool last_failure_was_security() const override { return last_failure_was_security_; }
  bool registry_is_curve() const override { return security_.registry_key.has_value(); }
  bool last_failure_may_have_arrived() const override { return last_may_have_arrived_; }
  void cap_waits(std::optional<int> ms) override;
  void note_listed_groups(const std::vector<GroupEntry>& groups) override;

  // How address is reached: the registry with its key; a group with
  // --group-key, or with what a curve registry's list_groups says (asked
  // once for an address not known yet), else open. An error: it cannot be
  // told (the registry did not answer) or the user's key cannot be had.
  Result<ServerRoute> route(const std::string& address);
  // The words for a failed handshake with address over route.
  std::string describe(const std::string& address, const ServerRoute& route,
                       const LinkEvents& link) const;

 private:
  Result<CurveKeyPair> my_keys();
  // The server key and its source for a canonical address, as known so far.
  struct KnownKey {
    std::string key;  // empty: open
    KeySource source;
  };

  // The address libzmq is to connect to (the host resolved); an error when
  // the host name does not resolve.
  Result<std::string> resolve(const std::string& address);

  zmq::context_t ctx_;
  int timeout_ms_;
  int64_t cap_until_ms_ = -1;  // cap_waits: no wait past it (-1: none)
  int tries_;
  int resend_ms_;
  int64_t last_answer_ms_ = -1;  // begin_command or the last answer; -1: no command
  struct Client {
    std::unique_ptr<RequestClient> client;
    ServerRoute route;
  };
  std::map<std::string, Client> clients_;  // by address as given
  TransportSecurity security_;
  std::optional<CurveKeyPair> mine_;
  std::map<std::string, KnownKey> known_;  // by canonical address
  bool registry_proved_ = false;
  bool last_failure_was_security_ = false;
  bool last_may_have_arrived_ = false;
};

enum class CallStatus {
  ok,           // the server did it
  refused,      // the server answered FAILED (error() holds its reason, possibly empty)
  unreachable,  // no reply after all tries
  insecure,     // the connection's security failed (a key not proved or refused)
  bad_reply,    // a reply we cannot understand
};

template <typename T>
class CallResult {
 public:
  CallResult(T value) : status_(CallStatus::ok), value_(std::move(value)) {}  // NOLINT
  static CallResult failure(CallStatus s, std::string error) {
    CallResult r;
    r.status_ = s;
    r.error_ = std::move(error);
    return r;
  }
  bool ok() const { return status_ == CallStatus::ok; }
  CallStatus status() const { return status_; }
  const std::string& error() const { return error_; }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  const T* operator->() const { return &*value_; }
  T* operator->() { return &*value_; }

 private:
  CallResult() = default;
  CallStatus status_ = CallStatus::bad_reply;
  std::optional<T> value_;
  std::string error_;
};

struct Done {};  // success without a payload

// What a group answers to whoami (ours): the caller's public id there, and
// whether it is a member.
struct WhoAmI {
  std::string public_id;
  bool member = false;
};

class RegistryClient {
 public:
  // user_uuid: what get_group_list names the caller by in the registry's log.
  // Not the user's identity (a credential in open groups): our client sends a
  // fresh random one.
  RegistryClient(Transport& transport, std::string address, std::string user_uuid);
  // Live groups as "NAME - IP:PORT" strings, in registration order.
  CallResult<std::vector<std::string>> get_group_list();
  // list_groups (ours; a curve registry): each group with its security and key.
  CallResult<std::vector<GroupEntry>> list_groups();
  const std::string& address() const { return address_; }

 private:
  Transport& transport_;
  std::string address_;
  std::string user_uuid_;
};

// The end of a send's error when the group may have stored the message.
inline constexpr const char* kSendMayBeStored =
    "the message may have been stored: check with get before sending it again";

class GroupClient {
 public:
  // name: display name sent with join and send (ours; empty = not sent).
  GroupClient(Transport& transport, std::string address, std::string user_uuid,
              std::string name = {});
  // A join's reply from our group names the member's public id (public_id()).
  CallResult<Done> join();
  CallResult<Done> leave();
  // Our groups only; a reference group refuses the action.
  CallResult<WhoAmI> whoami();
  // Each call makes a fresh client_msg_id, so the transport's retries of this
  // one request cannot store the message twice (in our groups; a reference
  // group has no client_msg_id). A failure after the request may have reached
  // the group ends its error with kSendMayBeStored.
  CallResult<SentMessage> send(const std::string& text);
  // One page. A page that does not advance (a message's seq not above the
  // previous one's, or not above query.since_seq) or holds more messages than
  // query.limit is a bad reply.
  CallResult<FetchedPage> get(const MessageQuery& query);
  // Pages through `more` (since_seq = seq of the previous page's last message),
  // handing each page to on_page as it arrives (nothing is kept here), until
  // the server says there is no more, on_page returns false, or max_pages
  // pages. A page that says `more` but holds no message is a bad reply (the
  // pages would never end; get() already refuses one that goes back).
  using PageSink = std::function<bool(FetchedPage& page)>;
  CallResult<Done> get_pages(const MessageQuery& query, const PageSink& on_page,
                             int max_pages = 10000);
  const std::string& address() const { return address_; }
  // The public id the last successful join answered (absent from a reference group).
  const std::optional<std::string>& public_id() const { return public_id_; }

 private:
  // One round trip; a FAILED reply is CallStatus::refused. raw, when given,
  // receives the reply as it came (for quoting it in an error).
  CallResult<GroupReply> call(const std::string& body, std::string* raw = nullptr);

  Transport& transport_;
  std::string address_;
  std::string user_uuid_;
  std::string name_;
  std::optional<std::string> public_id_;
};

// "refused" text for a person: the server's error, or a note that it gave none.
std::string describe_refusal(const std::string& address, const std::string& error);

// A "since" time as a user typed it (the forms parse_since accepts), read in
// the user's own zone (TZ) unless it names one, and the forms it is sent in:
// - instant: ISO 8601 with the offset, microseconds ("since_time", ours):
//   our group selects exactly by it, whatever zone it runs in;
// - naive: the same instant floored to the second, as the user's local time
//   "YYYY-MM-DDTHH:MM:SS" ("timestamp"): the one form a reference group
//   parses (HH:MM:SS or a fraction would kill its handler). A reference group
//   is assumed to run in the user's zone; the client drops, from its reply,
//   what is before the exact instant.
struct SinceTime {
  int64_t epoch_us = 0;
  std::string instant;
  std::string naive;
  // Sets query's timestamp, since_time and since_us.
  void apply(MessageQuery& query) const;
};
Result<SinceTime> since_for_wire(std::string_view text, int64_t now_epoch_us);

}  // namespace gc

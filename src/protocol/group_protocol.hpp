#pragma once
// The group server's wire format, both directions (docs/PROTOCOL.md, "Group
// server"): one JSON object per request, one per reply, and the pushed
// message events of live delivery.
//
// Server side: decoding checks types and sizes and produces a GroupRequest
// (which fields an action needs is the Group's business); encoders write
// replies straight into a reused string buffer. Client side: the request
// builders, and the decoders of replies and pushes. Both sides of one
// message stand together, so a change to the format is made in one file.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "protocol/limits.hpp"
#include "protocol/message.hpp"

namespace gc {

// ---- Requests -------------------------------------------------------------

struct GroupRequest {
  std::string action;
  std::string user_uuid;
  std::optional<std::string> message;
  std::string name;           // display name; empty when absent
  std::string client_msg_id;  // empty when absent
  // getMessage filters. timestamp: absent or null → no time filter.
  std::optional<std::string> timestamp;
  std::optional<std::string> since_time;  // ours: an exact instant, preferred to timestamp
  std::optional<uint64_t> since_seq;
  std::optional<size_t> limit;  // absent: see Group::get (a default page)
  std::optional<size_t> last;   // ours: the newest N that pass the other filters

  void clear();
};

// Decodes one request body into `out` (its buffers are reused). Errors are the
// texts of the protocol: "malformed JSON: ...", "request must be a JSON object",
// "missing field 'user_uuid'", "field 'message' must be a string", ...
// A well-formed flat request takes a hand-written scanner (no JSON tree);
// anything else goes through decode_group_request_dom, so errors are its texts.
Status decode_group_request(std::string_view body, GroupRequest& out);
// The same through a full JSON parse: the reference for every result and error text.
Status decode_group_request_dom(std::string_view body, GroupRequest& out);

// What a client asks for with getMessage.
struct MessageQuery {
  std::optional<std::string> timestamp;  // sent as is: messages at or after it
  // ours: the exact instant (ISO 8601 with an offset), which our group prefers
  // to timestamp; timestamp then carries it for a reference group.
  std::optional<std::string> since_time;
  // Not sent: the same instant in epoch microseconds. A reference group's
  // reply (whole seconds) is trimmed to it on the client.
  std::optional<int64_t> since_us;
  std::optional<int64_t> since_seq;  // ours: messages with seq > since_seq
  std::optional<int> limit;          // ours: at most this many in one page
  std::optional<int> last;           // ours: the newest this many (instead of limit)
};

// Request bodies as our client sends them. name: the display name, sent when
// non-empty. client_msg_id makes a retried send idempotent.
std::string make_join_request(const std::string& user_uuid, const std::string& name);
std::string make_leave_request(const std::string& user_uuid);
std::string make_send_request(const std::string& user_uuid, const std::string& name,
                              const std::string& text, const std::string& client_msg_id);
// Always carries "timestamp" (null when unset), which the reference group reads,
// and says which page it wants: "last" when set, else "limit" (kDefaultGetLimit
// when unset), so that our group never answers it with its default newest page.
std::string make_get_request(const std::string& user_uuid, const MessageQuery& query);
std::string make_follow_request(const std::string& user_uuid, std::optional<int64_t> since_seq);
std::string make_whoami_request(const std::string& user_uuid);

// ---- Replies and pushes, as the server writes them --------------------------

// Every message a member receives names its sender by the sender's public id
// (core/public_id.hpp), written in the "user_uuid" field the reference reads:
// the identity a request acts as is a credential and never leaves the server.
// The encoders take the public ids beside the stored messages.

// Each written into `out` (cleared first).
void encode_success(std::string& out);
void encode_failed(std::string& out, std::string_view error);
// {"response":"SUCCESS","public_id":P}: a joinGroup's answer.
void encode_join_success(std::string& out, std::string_view public_id);
// {"response":"SUCCESS","public_id":P,"member":M}: a whoami's answer.
void encode_whoami(std::string& out, std::string_view public_id, bool member);
// {"response":"SUCCESS","seq":S,"timestamp":T}
void encode_send_success(std::string& out, uint64_t seq, int64_t time_us);
// {"response":"SUCCESS","messages":[...],"more":M,"last_seq":L,"history_id":H}
// (H: the store's history id, lower-case hex, written as is.) public_ids[i]
// is the sender's public id of page.messages[i] (one per message).
void encode_messages(std::string& out, const MessagePage& page,
                     std::span<const std::string> public_ids, uint64_t last_seq,
                     std::string_view history_id);
// {"response":"SUCCESS","last_seq":L,"history_id":H,"public_id":P}: where a
// new follower stands, and who it is in the pushes.
void encode_follow_success(std::string& out, uint64_t last_seq, std::string_view history_id,
                           std::string_view public_id);
// A pushed message: {"event":"message","user_uuid":P,"message":T,"timestamp":TS,
// "seq":S[,"name":N]}, the message object with the event tag in front; P is
// the sender's public id.
void encode_push(std::string& out, const StoredMessage& msg, std::string_view public_id);
// One message object as getMessage returns it (appended to out), its sender
// named by public_id.
void append_message_object(std::string& out, const StoredMessage& msg, std::string_view public_id);

// ---- Replies and pushes, as a client reads them -----------------------------

// A message as a client sees it: fields as text, whatever their JSON type.
struct ChatMessage {
  std::string user_uuid;
  std::string name;  // display name; empty when the sender set none
  std::string message;
  std::string timestamp;
  std::optional<int64_t> seq;  // absent from a reference group
};

struct SentMessage {
  std::optional<int64_t> seq;  // absent from a reference group
  std::optional<std::string> timestamp;
};

struct FetchedPage {
  std::vector<ChatMessage> messages;
  bool more = false;  // more messages match after this page
  // The group's latest seq as the server reported it (not necessarily the seq
  // of the last message here).
  std::optional<int64_t> last_seq;
  // No last_seq, more or history_id and no message with a seq: a reference
  // group answered, which knows no seqs and no paging and returns every
  // message its filters select.
  bool from_reference = false;
  // The seq of the last message returned: where the next page starts.
  std::optional<int64_t> end_seq() const {
    return messages.empty() ? std::nullopt : messages.back().seq;
  }
};

// A reply's verdict. The reference group answers {"response": ...} with no
// error text and none of our extra fields.
struct GroupReply {
  bool success = false;
  std::string error;    // FAILED's reason; empty when it gave none
  nlohmann::json body;  // the whole reply object
};
// Every decoder below takes any input (a tree from parse_untrusted_json) and
// returns a value or an error naming what is wrong; none throws. Every field
// used is type-checked: strings are strings, seq and last_seq integers from 0
// to INT64_MAX, "more" a boolean; a field of the wrong type is an error, not
// a guess.
//
// Errors: "not JSON: <parser's reason>", "not a JSON object", "no \"response\"
// field", "\"response\" is neither SUCCESS nor FAILED", "\"error\" of the reply
// is not a string".
Result<GroupReply> decode_group_reply(std::string_view text);
// The same for a reply already parsed.
Result<GroupReply> decode_parsed_group_reply(nlohmann::json body);

// One message object (a getMessage entry, or a push with its tag): user_uuid,
// message and timestamp strings, name a string or absent, seq an integer or
// absent (a reference group sends none).
Result<ChatMessage> decode_message(const nlohmann::json& object);
// The seq and timestamp a sendMessage SUCCESS carries (ours only; absent from
// a reference group).
Result<SentMessage> decode_sent_message(const nlohmann::json& reply);
// A getMessage SUCCESS. Errors: "no \"messages\" list", "a message is not an
// object", "\"more\" is not true or false", and those of decode_message.
Result<FetchedPage> decode_messages(const nlohmann::json& reply);
// "last_seq" of a reply: nullopt when absent, an error when not an integer.
Result<std::optional<int64_t>> decode_last_seq(const nlohmann::json& reply);
// A pushed message ("event":"message"); an error for anything else.
Result<ChatMessage> decode_push(const nlohmann::json& frame);
// "history_id" of a reply, when it has one that is a string of 1 to
// kMaxHistoryIdBytes bytes (anything else counts as absent).
std::optional<std::string> decode_history_id(const nlohmann::json& reply);
inline constexpr size_t kMaxHistoryIdBytes = 64;
// "public_id" of a reply (joinGroup, follow, whoami; ours), when it is a
// string of 1 to kMaxPublicIdBytes bytes (anything else counts as absent: a
// reference group sends none).
std::optional<std::string> decode_public_id(const nlohmann::json& reply);
inline constexpr size_t kMaxPublicIdBytes = 64;

}  // namespace gc

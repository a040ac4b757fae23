#pragma once
// The group server's wire format: one JSON object per request, one per reply
// (see docs/PROTOCOL.md, "Group server"). Decoding checks types and sizes and
// produces a GroupRequest; which fields an action needs is the Group's
// business. Encoding writes replies straight into a reused string buffer.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "groupchat/group_store.hpp"
#include "groupchat/result.hpp"

namespace gc {

inline constexpr size_t kUserUuidLimitBytes = 128;
inline constexpr size_t kClientMsgIdLimitBytes = 128;
inline constexpr size_t kNameLimitBytes = 256;
inline constexpr int64_t kDefaultGetLimit = 1000;
inline constexpr int64_t kMaxGetLimit = 10000;

struct GroupRequest {
  std::string action;
  std::string user_uuid;
  std::optional<std::string> message;
  std::string name;           // display name; empty when absent
  std::string client_msg_id;  // empty when absent
  // getMessage filters. timestamp: absent or null → no time filter.
  std::optional<std::string> timestamp;
  std::optional<uint64_t> since_seq;
  size_t limit = kDefaultGetLimit;

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

// Appends s as a JSON string literal (quoted, escaped) to out.
void append_json_string(std::string& out, std::string_view s);

// Replies, written into `out` (cleared first).
void encode_success(std::string& out);
void encode_failed(std::string& out, std::string_view error);
// {"response":"SUCCESS","seq":S,"timestamp":T}
void encode_send_success(std::string& out, uint64_t seq, int64_t time_us);
// {"response":"SUCCESS","messages":[...],"more":M,"last_seq":L}
void encode_messages(std::string& out, const MessagePage& page, uint64_t last_seq);
// One message object as getMessage returns it (appended to out).
void append_message_object(std::string& out, const StoredMessage& msg);

}  // namespace gc

#pragma once
// The registry's wire format, both directions (docs/PROTOCOL.md, "Registry"):
// what groups and users send to message_server, what it answers, and how
// each side reads the other. The reference registry answers a register with
// the bare string SUCCESS and a group list as a JSON array of strings; both
// are kept exactly.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace gc {

// ---- Requests -------------------------------------------------------------

enum class RegistryAction { register_group, heartbeat, unregister, get_group_list, list_groups };

struct RegistryRequest {
  RegistryAction action = RegistryAction::get_group_list;
  std::string group_name;  // register, heartbeat, unregister
  std::string ip_port;     // register, heartbeat, unregister
  std::string user_uuid;   // get_group_list
  bool heartbeat = false;  // register: the group will send heartbeats (ours)
  // register (ours): "curve" when the group serves CURVE only; its key is the
  // one its registration is authenticated with. Absent: "open".
  bool curve = false;
};

// Decodes and checks one request: the action, the string fields it requires
// and their content (non-empty, within limits, an address others can reach).
// Errors are the texts of the protocol ("missing field 'ip_port'", ...).
Result<RegistryRequest> decode_registry_request(std::string_view body);

// Bodies a group sends: register (with "heartbeat": true when it will send
// heartbeats), heartbeat and unregister.
// curve: register only, "security": "curve" (ours).
std::string make_registry_request(RegistryAction action, std::string_view group_name,
                                  std::string_view ip_port, bool heartbeat_flag = false,
                                  bool curve = false);
std::string make_group_list_request(std::string_view user_uuid);
std::string make_list_groups_request();

// ---- Replies, as the registry writes them -----------------------------------

// The reference's bare register reply, which reference groups compare exactly.
inline constexpr std::string_view kReferenceRegisterSuccess = "SUCCESS";
std::string registry_success();
std::string registry_failed(std::string_view error);
// To a heartbeating group: the interval to keep and when it would expire.
std::string registry_register_success(int64_t heartbeat_ms, int64_t expiry_ms);
// To a heartbeat the registry cannot place: FAILED with "reregister": true.
std::string registry_reregister(std::string_view error);
// The reference's list: a JSON array of "NAME - IP:PORT" strings.
std::string encode_group_list(const std::vector<std::string>& groups);

// One live group as list_groups (ours) describes it.
struct GroupEntry {
  std::string name;
  std::string address;     // IP:PORT, canonical
  bool curve = false;      // "security": "curve" (else "open")
  std::string public_key;  // Z85; empty when the registry knows none (an open group)
  bool operator==(const GroupEntry&) const = default;
};
// {"response":"SUCCESS","groups":[{"name":..,"address":..,"security":..,"public_key":..|null}]}
std::string encode_group_entries(const std::vector<GroupEntry>& groups);

// ---- Replies, as groups and clients read them -------------------------------

struct RegisterReply {
  bool accepted = false;
  bool reference = false;               // the bare SUCCESS: a reference registry, no heartbeats
  std::optional<int64_t> heartbeat_ms;  // the interval asked for, when in 50..60000
  std::string error;                    // why it was refused (made visible: for a log line)
};
RegisterReply decode_register_reply(std::string_view body);

enum class HeartbeatVerdict { ok, reregister, refused, unreadable };
struct HeartbeatReply {
  HeartbeatVerdict verdict = HeartbeatVerdict::unreadable;
  std::string error;  // refused: the registry's reason (made visible: for a log line)
};
HeartbeatReply decode_heartbeat_reply(std::string_view body);

// get_group_list as a user reads it.
struct GroupListReply {
  enum class Kind { list, refused, unreadable } kind = Kind::unreadable;
  std::vector<std::string> groups;  // list: the entries (each must be a JSON string)
  std::string error;                // refused: the reason (maybe empty); unreadable: what is wrong
};
GroupListReply decode_group_list(std::string_view body);

// list_groups as a user reads it. An entry whose fields are not as specified
// (a name or address that is not a string, a security that is neither "open"
// nor "curve", a curve entry without a 40-character key) makes the reply
// unreadable: a client never connects on a guess.
struct GroupEntriesReply {
  enum class Kind { list, refused, unreadable } kind = Kind::unreadable;
  std::vector<GroupEntry> groups;
  std::string error;
};
GroupEntriesReply decode_group_entries(std::string_view body);

}  // namespace gc

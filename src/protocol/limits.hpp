#pragma once
// Every limit of the wire protocol, and its defaults, in one place (docs/PROTOCOL.md lists them
// with what a peer sees past each). Sizes are in bytes.
#include <cstddef>
#include <cstdint>

namespace gc {

// The registry's address when none is given, as the reference has it.
inline constexpr const char* kDefaultRegistryAddress = "localhost:5555";

// Live delivery: a follow lasts this long after its last renewal, and a
// follower renews it this often (group_server --follow-expiry-ms changes the first).
inline constexpr int64_t kDefaultFollowExpiryMs = 5000;
inline constexpr int kFollowRenewMs = 1000;

// Fields of requests, on both servers and in the client's own checks.
inline constexpr size_t kMaxUserUuidBytes = 128;
inline constexpr size_t kMaxClientMsgIdBytes = 128;
inline constexpr size_t kMaxDisplayNameBytes = 256;
inline constexpr size_t kMaxTimestampBytes = 64;
inline constexpr size_t kMaxGroupNameBytes = 128;
inline constexpr size_t kMaxIpPortBytes = 255;

// The registry's caps on groups (message_server --max-groups, --max-groups-per-source).
inline constexpr size_t kDefaultMaxGroups = 1024;
inline constexpr size_t kDefaultMaxGroupsPerSource = 32;
// Curve mode: names the registry keeps bound to keys (its group-keys file).
inline constexpr size_t kDefaultMaxBoundNames = 65536;

// getMessage paging: a page without "limit" holds at most the default.
inline constexpr int64_t kDefaultGetLimit = 1000;
inline constexpr int64_t kMaxGetLimit = 10000;

// The group's longest message text by default (group_server --max-message-bytes).
inline constexpr size_t kDefaultMaxMessageBytes = 65536;
// A group request may exceed the message limit by this much (the other
// fields); a larger one is refused unread.
inline constexpr size_t kRequestOverheadBytes = 64 * 1024;
// A getMessage reply stops before passing this many bytes (group_server
// --max-reply-bytes); at least one message always goes out.
inline constexpr size_t kDefaultMaxReplyBytes = size_t{1} << 20;
// What a server holds on behalf of its peers, in all (group_server and
// message_server --memory-budget, in MiB), and what pushes one follower's
// queue may hold (group_server --follower-queue-bytes).
inline constexpr size_t kDefaultMemoryBudgetBytes = size_t{256} << 20;
inline constexpr size_t kDefaultFollowerQueueBytes = size_t{1} << 20;
// A connection that has not completed the ZMTP handshake this long after
// it was accepted is closed (ZMQ_HANDSHAKE_IVL, both servers).
inline constexpr int kHandshakeTimeoutMs = 10000;
// A registry request larger than this is refused unread.
inline constexpr size_t kMaxRegistryRequestBytes = 64 * 1024;
// JSON from any peer (requests, replies, pushes, group lists) and the client's
// own files: arrays and objects nested deeper than this are refused before
// parsing ("malformed JSON: nesting deeper than 32 levels"). Our messages
// nest at most 3 levels.
inline constexpr size_t kMaxJsonDepth = 32;
// An error text that quotes a peer's input (a parser message) is cut here.
inline constexpr size_t kMaxQuotedErrorBytes = 200;
// The client's cap on one reply or push frame (ZMQ_MAXMSGSIZE on its sockets):
// a larger one drops the connection and the call fails as a bad reply.
inline constexpr int64_t kMaxClientReplyBytes = 16 * 1024 * 1024;
// Frames a follower's receive queue holds before libzmq stops reading from
// the group (ZMQ_RCVHWM): bursts past it are fetched again by seq.
inline constexpr int kFollowerReceiveFrames = 64;
// The client's own files (identity, joined groups) are read up to this size.
inline constexpr size_t kMaxClientFileBytes = 1024 * 1024;

}  // namespace gc

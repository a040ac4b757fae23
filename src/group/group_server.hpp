#pragma once
// GroupServer: the group's event loop. One ROUTER socket, one thread, no
// shared state: poll, drain up to kMaxBatchRequests ready requests, handle
// them through Group as one batch (one store transaction), and only then send
// the replies and print the stdout lines (one flush per batch). A SUCCESS
// thus always means "stored". Pushes to followers and heartbeats to the
// registry ride the same loop, and so does the store's periodic sync. A
// storage fault (the file lost under the process) ends the loop: run()
// returns 1.
#include <cstdio>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>
#include <zmq.hpp>

#include "core/endpoint.hpp"
#include "core/result.hpp"
#include "group/group.hpp"
#include "group/subscriptions.hpp"
#include "net/router.hpp"
#include "protocol/limits.hpp"
#include "registry/registry_link.hpp"

namespace gc {

struct GroupServerOptions {
  std::string name;
  Endpoint endpoint;  // where to bind (and what to register)
  std::string registry = kDefaultRegistryAddress;
  size_t max_message_bytes = kDefaultMaxMessageBytes;  // longest message text
  bool quiet = false;                                  // no per-request stdout lines
  int64_t follow_expiry_ms = kDefaultFollowExpiryMs;   // a follow not renewed for this long ends
};

// Replies held back because their peer's queue was full (a client pipelining
// more requests than the high-water mark without reading). Past this many,
// further replies to such clients are dropped to bound memory, with a warning.
inline constexpr size_t kMaxHeldReplies = 100000;

// With `--sync normal`, how often commits are made safe from a power loss:
// at most about this much acknowledged history is lost on a power cut.
inline constexpr int64_t kSyncIntervalMs = 1000;

class GroupServer {
 public:
  GroupServer(zmq::context_t& ctx, GroupStore& store, GroupServerOptions options);
  ~GroupServer();

  // Binds the ROUTER. Error: "cannot bind tcp://IP:PORT: Address already in use".
  Status bind();
  // Registers with the registry (blocking, ~5 s at most).
  Status register_group(int stop_fd);
  // Serves until stop_fd becomes readable, then unregisters. Returns the exit code.
  int run(int stop_fd);

 private:
  int64_t sweep_interval_ms() const;
  void serve_batch();
  // Makes the store's commits safe from a power loss about once a second
  // (GroupStore::sync); a failure is a storage fault and stops the loop.
  void sync_store(int64_t now);
  // After the replies: acts on the batch's events in request order (new
  // follows, pushes of stored messages, follows ended by leave/unfollow).
  void deliver_events(size_t n);
  void push(const StoredMessage& msg);
  // Sends a reply, or holds it when its peer's queue is full: a reply is only
  // ever lost when its peer has gone. Held replies keep their order per peer.
  void reply(const std::vector<zmq::message_t>& envelope, std::string_view body);
  // Sends what was held, peer by peer, as far as each queue allows.
  void flush_held();

  zmq::context_t& ctx_;
  GroupStore& store_;
  GroupServerOptions options_;
  Group group_;
  zmq::socket_t router_;
  std::unique_ptr<RegistryLink> link_;
  std::vector<RoutedRequest> requests_;  // of the current batch, kMaxBatchRequests of each
  std::vector<GroupOutcome> outcomes_;
  std::string stdout_buf_;
  Subscriptions subscriptions_;
  int64_t next_follow_sweep_ms_ = 0;
  std::string push_buf_;
  std::vector<std::string> gone_;  // follow keys found gone while pushing
  struct HeldReply {
    std::vector<std::string> envelope;
    std::string body;
  };
  std::unordered_map<std::string, std::deque<HeldReply>> held_;  // by envelope_key
  size_t held_count_ = 0;
  int64_t last_sync_ms_ = 0;
  int64_t sync_due_ms_ = -1;  // when the store is next synced; -1: nothing to sync
};

}  // namespace gc

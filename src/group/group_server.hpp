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
#include "group/members_file.hpp"
#include "group/subscriptions.hpp"
#include "net/connections.hpp"
#include "net/curve.hpp"
#include "net/peer_memory.hpp"
#include "net/router.hpp"
#include "protocol/limits.hpp"
#include "registry/registry_link.hpp"

namespace gc {

struct GroupServerOptions {
  std::string name;
  Endpoint endpoint;      // where to bind
  std::string advertise;  // IP:PORT registered, what users connect to (default: endpoint)
  std::string registry = kDefaultRegistryAddress;
  size_t max_message_bytes = kDefaultMaxMessageBytes;  // longest message text
  bool quiet = false;                                  // nothing on stdout
  int64_t follow_expiry_ms = kDefaultFollowExpiryMs;   // a follow not renewed for this long ends
  // What the server holds for peers (queued replies and pushes, parked
  // requests), in total and per peer (net/peer_memory.hpp).
  size_t memory_budget_bytes = kDefaultMemoryBudgetBytes;
  size_t max_reply_bytes = kDefaultMaxReplyBytes;            // one getMessage reply
  size_t follower_queue_bytes = kDefaultFollowerQueueBytes;  // pushes queued for one follower
  FollowLimits follows;
  ConnectionLimits connections;
  // open: NULL mechanism, as the reference; curve: CURVE only, a member is
  // the key its requests come with (docs/SECURITY.md).
  SecurityMode security = SecurityMode::open;
  // The group's own key pair (its key file): what it proves to users in
  // curve mode, and to a curve registry when it registers.
  std::optional<CurveKeyPair> keys;
  // Curve mode: a file of the keys that may be members (group/members_file.hpp),
  // re-read by reload(); empty: any key may join.
  std::string members_file;
  // The registry's public key: it may complete a handshake (to prove the
  // group holds its key) even when a members file does not list it.
  std::string registry_key;
};

// A batch stops reading requests once its replies pass this many bytes, so
// that replies go out before more are built.
inline constexpr size_t kMaxBatchReplyBytes = size_t{4} << 20;

// With `--sync normal`, how often commits are made safe from a power loss:
// at most about this much acknowledged history is lost on a power cut.
inline constexpr int64_t kSyncIntervalMs = 1000;

class GroupServer {
 public:
  GroupServer(zmq::context_t& ctx, GroupStore& store, GroupServerOptions options);
  ~GroupServer();

  // Binds the ROUTER. Error: "cannot bind tcp://IP:PORT: Address already in use".
  Status bind();
  // Starts registering with the registry; returns at once. The loop of run()
  // goes on with it while it serves (registry/registry_link.hpp).
  void start_registering();
  // Serves until stop_fd becomes readable, then prints the reference's
  // "Shutting down group..." and unregisters. Returns the exit code: 1 also
  // when the first registration failed for good (error() says why).
  // reload_fd (or -1): readable after SIGHUP: reload() then.
  int run(int stop_fd, int reload_fd = -1);
  // Why run() returned 1 for a reason of its own (empty otherwise).
  const std::string& error() const { return error_; }
  // Curve mode with a members file: reads it again. A key no longer listed
  // stops being a member at once: its membership is removed, its follows
  // end, its connections are closed and new ones refused. A file that
  // cannot be read or parsed changes nothing (the error is returned).
  Status reload();

 private:
  int64_t sweep_interval_ms() const;
  // After the registry link ran: prints SUCCESS for a registration just accepted.
  void after_link();
  bool curve() const { return options_.security == SecurityMode::curve; }
  // Who may complete a CURVE handshake (the ZAP handler's policy).
  std::optional<std::string> admit(std::string_view key) const;
  void serve_batch();
  // Makes the store's commits safe from a power loss about once a second
  // (GroupStore::sync); a failure is a storage fault and stops the loop.
  void sync_store(int64_t now);
  // After the replies: acts on the batch's events in request order (new
  // follows, pushes of stored messages, follows ended by leave/unfollow).
  void deliver_events(size_t n);
  // Encodes a stored message's push once, to be sent by flush_pushes.
  void queue_push(const StoredMessage& msg, const std::string& public_id);
  // Sends the queued pushes, follower by follower: all of them to one
  // follower back to back, so that libzmq writes them in one go.
  void flush_pushes();
  // Acts on follow and unfollow at once, so that a follow over a limit is
  // answered FAILED.
  void apply_follows(size_t n);

  // A peer: one connection, by routing id. Its requests wait (parked, in
  // order) while its queued replies are over its share; past the parked
  // limit the connection is closed.
  struct Peer {
    std::shared_ptr<PeerAccount> account;
    std::optional<ConnectionId> connection;
    std::string address;
    std::deque<RoutedRequest> parked;
    size_t parked_bytes = 0;
    bool closed = false;
    int64_t idle_since_ms = 0;
    std::string key;  // curve mode: the key the connection authenticated with
  };
  Peer& peer_of(const RoutedRequest& request);
  // The request joins the batch as requests_[n].
  void take(RoutedRequest& request, Peer& peer, size_t& n, size_t& built);
  // Moves parked requests of peers whose queues drained into the batch.
  void take_parked(size_t& n, size_t& built);
  void park(Peer& peer, RoutedRequest&& request);
  void close_peer(Peer& peer, std::string_view routing_id, const std::string& why);
  // Forgets peers with nothing queued, parked or followed; trims freed memory.
  void sweep_peers(int64_t now_ms);
  // What the server holds for its peers: replies and pushes queued, requests parked.
  int64_t held_bytes() const;
  // Sends the reply of requests_[i], charged to its peer.
  void reply(size_t i);

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
  std::vector<zmq::message_t> pushes_;  // of the batch, encoded once (shared_message)
  std::vector<std::string> gone_;       // follow keys found gone while pushing
  std::shared_ptr<QueuedTotal> queued_;
  MemoryPolicy policy_;
  std::unordered_map<std::string, Peer> peers_;  // by routing id
  std::vector<Peer*> batch_peers_;               // the peer of each request of the batch
  size_t parked_total_ = 0;                      // bytes of parked requests, all peers
  size_t parked_peers_ = 0;                      // peers with parked requests
  std::vector<Peer*> parked_list_;               // those peers, oldest parked first
  LogLimiter log_close_;
  TrimAfterDrop trim_;
  int64_t next_peer_sweep_ms_ = 0;
  std::unique_ptr<ConnectionGuard> guard_;
  int64_t last_sync_ms_ = 0;
  int64_t sync_due_ms_ = -1;         // when the store is next synced; -1: nothing to sync
  std::unique_ptr<ZapHandler> zap_;  // curve mode
  std::optional<KeySet> members_;    // the members file's keys, when there is one
  std::string error_;
  bool serving_logged_ = false;
};

}  // namespace gc

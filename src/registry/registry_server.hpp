#pragma once
// The registry's event loop: a ROUTER socket for requests, one watching
// connection per group that does not heartbeat, and the Registry state
// machine in between. One thread, one zmq poll; nothing here decides
// protocol questions.
#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <zmq.hpp>

#include "core/result.hpp"
#include "net/connections.hpp"
#include "net/curve.hpp"
#include "net/peer_memory.hpp"
#include "protocol/limits.hpp"
#include "registry/registry.hpp"

namespace gc {

struct RegistryServerOptions {
  std::string bind = "tcp://*:5555";  // a zmq endpoint
  RegistryConfig registry;
  // ZMTP heartbeats on the watching connections: a peer that stops answering
  // pings is disconnected after the timeout even if TCP stays up. A hung
  // group is thus dropped at most ivl + timeout + watch_poll_ms +
  // watch_reconnect_ms (4.25 s) after it stops: within the 5 s promise.
  int watch_heartbeat_ivl_ms = 500;
  int watch_heartbeat_timeout_ms = 2500;
  size_t max_request_bytes = kMaxRegistryRequestBytes;  // a bigger body gets FAILED
  int64_t max_frame_bytes =
      2 * kMaxRegistryRequestBytes;  // ZMQ_MAXMSGSIZE: a bigger frame drops the connection
  // While groups are watched: how often their connection events are read
  // (the monitors cannot wake the poll). A killed group is dropped
  // watch_reconnect_ms plus at most this after its connection drops.
  int64_t watch_poll_ms = 250;
  // The longest pause between a watch's attempts to connect (libzmq doubles
  // it from 100 ms up to this): a rewatched group, or a host that went away,
  // is tried this often, and a group that answers again is seen this soon.
  int watch_reconnect_max_ms = 2000;
  // What the registry holds for its peers (queued replies), in all; a peer
  // with more than its share queued (it sends and does not read: a REQ
  // client never has more than one reply on its way) is disconnected.
  size_t memory_budget_bytes = kDefaultMemoryBudgetBytes;
  ConnectionLimits connections;
  // curve: the ROUTER is a CURVE server proving `keys`, any client key may
  // connect (the ZAP handler names it), and the Registry runs in curve mode.
  SecurityMode security = SecurityMode::open;
  std::optional<CurveKeyPair> keys;  // required in curve mode
  // Curve mode: where the names' bindings to keys are kept (group-keys), and
  // the operator's groups file (empty: none, any key may register).
  std::filesystem::path bindings_file;
  std::filesystem::path groups_file;
};

// The libzmq sockets the registry may need at most (ZMQ_MAX_SOCKETS for its
// context, set before the first socket): the ROUTER, three per watched group
// (its DEALER, the monitor socket libzmq makes for it and ours that reads
// it; rewatched groups count among --max-groups), the ZAP handler's, and a margin. Each of them
// also holds one file descriptor (its mailbox), and each watch one more for its TCP connection.
int registry_max_zmq_sockets(const RegistryServerOptions& options);

class RegistryServer {
 public:
  RegistryServer(zmq::context_t& context, RegistryServerOptions options);
  ~RegistryServer();
  RegistryServer(const RegistryServer&) = delete;
  RegistryServer& operator=(const RegistryServer&) = delete;

  // Curve mode: reads the bindings and the groups file (before bind). The
  // error says which file and line is wrong.
  Status load_files();
  // Binds the ROUTER socket. The error says what failed and what to do.
  Status bind();
  // The port bound (0 before bind()).
  uint16_t port() const { return host_.port; }
  // Serves until stop_fd (a self-pipe written by the signal handler) becomes
  // readable; re-reads the files when reload_fd (-1: none) becomes readable.
  // The loop sleeps until real work is due: zero wake-ups while idle with no
  // watched group.
  void run(int stop_fd, int reload_fd = -1);

 private:
  class EndpointWatch;
  struct Watcher;

  void serve_requests();
  void drain_watch_events(int64_t now_ms);
  void apply(const RegistryOutput& out);
  void start_watch(const std::string& address, const std::string& server_key);
  void save_bindings();
  void reload_files();
  // Tells the Registry where it listens and the host's addresses (getifaddrs),
  // at bind and then at most every kHostRefreshMs, as interfaces may change.
  void update_host(int64_t now_ms);
  struct Peer {
    std::shared_ptr<PeerAccount> account;
    std::optional<ConnectionId> connection;
    bool closed = false;
  };
  void sweep_peers(int64_t now_ms);

  zmq::context_t& context_;
  RegistryServerOptions options_;
  Registry registry_;
  std::unique_ptr<ZapHandler> zap_;  // curve mode; made before the ROUTER binds
  zmq::socket_t router_;
  std::map<std::string, std::unique_ptr<Watcher>> watchers_;  // by address
  unsigned long watch_counter_ = 0;                           // names the inproc monitor endpoints
  RegistryHost host_;
  int64_t host_updated_ms_ = 0;
  std::shared_ptr<QueuedTotal> queued_;
  MemoryPolicy policy_;
  std::unordered_map<std::string, Peer> peers_;  // by routing id
  int64_t next_peer_sweep_ms_ = 0;
  LogLimiter log_close_;
  TrimAfterDrop trim_;
  std::unique_ptr<ConnectionGuard> guard_;
};

}  // namespace gc

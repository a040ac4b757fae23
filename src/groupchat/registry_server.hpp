#pragma once
// The registry's event loop: a ROUTER socket for requests, one watching
// connection per group that does not heartbeat, and the Registry state
// machine in between. One thread, one zmq poll; nothing here decides
// protocol questions.
#include <atomic>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <zmq.hpp>

#include "groupchat/registry.hpp"
#include "groupchat/result.hpp"

namespace gc {

struct RegistryServerOptions {
  std::string bind = "tcp://*:5555";  // a zmq endpoint
  RegistryConfig registry;
  // ZMTP heartbeats on the watching connections: a peer that stops answering
  // pings is disconnected after the timeout even if TCP stays up.
  int watch_heartbeat_ivl_ms = 1000;
  int watch_heartbeat_timeout_ms = 3000;
  size_t max_request_bytes = 64 * 1024;  // a bigger body gets FAILED
  int64_t max_frame_bytes =
      16 * 1024 * 1024;   // ZMQ_MAXMSGSIZE: a bigger frame drops the connection
  int max_poll_ms = 250;  // upper bound on one wait, so a stop request is seen
};

class RegistryServer {
 public:
  RegistryServer(zmq::context_t& context, RegistryServerOptions options);
  ~RegistryServer();
  RegistryServer(const RegistryServer&) = delete;
  RegistryServer& operator=(const RegistryServer&) = delete;

  // Binds the ROUTER socket. The error says what failed and what to do.
  Status bind();
  // Serves until `stop` becomes true (set it from a signal handler).
  void run(const std::atomic<bool>& stop);

  // For tests and logs.
  const Registry& registry() const { return registry_; }

 private:
  class EndpointWatch;
  struct Watcher;

  void serve_requests();
  void drain_watch_events(int64_t now_ms);
  void apply(const RegistryOutput& out);
  void start_watch(const std::string& address);

  zmq::context_t& context_;
  RegistryServerOptions options_;
  Registry registry_;
  zmq::socket_t router_;
  std::map<std::string, std::unique_ptr<Watcher>> watchers_;  // by address
  unsigned long watch_counter_ = 0;                           // names the inproc monitor endpoints
};

}  // namespace gc

#include "registry/registry_server.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/endpoint.hpp"
#include "core/stop_signal.hpp"
#include "core/visible_text.hpp"
#include "net/monitor_event.hpp"
#include "net/poll.hpp"
#include "net/router.hpp"
#include "registry/key_names.hpp"

namespace gc {

// Records the connection state changes of one watching socket from libzmq's
// monitor; the loop drains them without blocking.
class RegistryServer::EndpointWatch {
 public:
  EndpointWatch(zmq::context_t& ctx, zmq::socket_t& watched, const std::string& endpoint)
      : watched_(watched.handle()), monitor_(ctx, zmq::socket_type::pair) {
    // HANDSHAKE_SUCCEEDED rather than CONNECTED: a ZeroMQ peer answered, not
    // just some program holding the port.
    if (zmq_socket_monitor(watched_, endpoint.c_str(),
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED) != 0)
      throw zmq::error_t();
    monitor_.set(zmq::sockopt::linger, 0);
    monitor_.connect(endpoint);
  }
  ~EndpointWatch() { zmq_socket_monitor(watched_, nullptr, 0); }
  EndpointWatch(const EndpointWatch&) = delete;
  EndpointWatch& operator=(const EndpointWatch&) = delete;

  // Appends the changes seen since the last call.
  void drain(std::vector<WatchEvent>& events) {
    std::optional<MonitorEvent> event;
    while (receive_monitor_event(monitor_, event)) {
      if (!event) continue;
      if (event->kind == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
        events.push_back(WatchEvent::connected);
      else if (event->kind == ZMQ_EVENT_DISCONNECTED)
        events.push_back(WatchEvent::disconnected);
    }
  }

 private:
  void* watched_;
  zmq::socket_t monitor_;
};

struct RegistryServer::Watcher {
  zmq::socket_t socket;  // declared first: the monitor must go before the socket it watches
  std::unique_ptr<EndpointWatch> monitor;
};

namespace {
constexpr int64_t kHostRefreshMs = 5000;
constexpr int kSocketsPerWatch = 3;
constexpr int kSpareSockets = 16;
constexpr int kZapSockets = 1;

RegistryConfig config_of(const RegistryServerOptions& options) {
  RegistryConfig config = options.registry;
  config.curve = options.security == SecurityMode::curve;
  return config;
}

constexpr const char* kBindingsHeader =
    "# groupchat registry: each group name is bound to the key that first registered it\n"
    "# (KEY NAME, one a line). Only that key may register, heartbeat or unregister the\n"
    "# name. Delete a line (or run message_server --release NAME) and send the running\n"
    "# registry SIGHUP to free a name.\n";
}  // namespace

int registry_max_zmq_sockets(const RegistryServerOptions& options) {
  const size_t groups = std::min<size_t>(options.registry.max_groups, 100000);
  return static_cast<int>(groups) * kSocketsPerWatch + 1 + kZapSockets + kSpareSockets;
}

RegistryServer::RegistryServer(zmq::context_t& context, RegistryServerOptions options)
    : context_(context),
      options_(std::move(options)),
      registry_(config_of(options_)),
      zap_(options_.security == SecurityMode::curve
               ? std::make_unique<ZapHandler>(
                     context_,
                     // Any key may connect: users list with their own keys, and
                     // what a key may do is decided per request.
                     [](std::string_view, std::string_view) { return std::nullopt; })
               : nullptr),
      router_(context_, zmq::socket_type::router),
      queued_(std::make_shared<QueuedTotal>()),
      policy_(MemoryLimits::for_budget(options_.memory_budget_bytes, options_.max_request_bytes)) {
  router_.set(zmq::sockopt::linger, 0);
  router_.set(zmq::sockopt::router_mandatory, 1);
  router_.set(zmq::sockopt::maxmsgsize, options_.max_frame_bytes);
  // Every queued byte is accounted: no count limit.
  router_.set(zmq::sockopt::sndhwm, 0);
  router_.set(zmq::sockopt::handshake_ivl, kHandshakeTimeoutMs);
  if (zap_) {
    if (!options_.keys) throw std::invalid_argument("a curve registry needs its key pair");
    make_curve_server(router_, *options_.keys);
  }
  guard_ = std::make_unique<ConnectionGuard>(context_, router_, options_.connections, "registry");
  // What libzmq may hold of a message not yet ended, per connection and in all.
  guard_->limit_backlog(BacklogLimits::for_budget(
      options_.memory_budget_bytes,
      static_cast<uint64_t>(std::max<int64_t>(options_.max_frame_bytes, 0))));
}

RegistryServer::~RegistryServer() = default;

Status RegistryServer::load_files() {
  if (options_.security != SecurityMode::curve) return Status::ok();
  auto bound = load_key_names(options_.bindings_file, true);
  if (!bound) return Status::error(bound.error());
  NameBindings bindings;
  for (auto& [key, name] : *bound) {
    if (auto [it, added] = bindings.emplace(name, key); !added && it->second != key)
      return Status::error(fmt::format("{}: the name '{}' is bound to two keys; keep one line",
                                       options_.bindings_file.string(), visible_text(name)));
  }
  std::optional<AllowedNames> allowed;
  if (!options_.groups_file.empty()) {
    auto listed = load_key_names(options_.groups_file, false);
    if (!listed) return Status::error(listed.error());
    allowed.emplace(listed->begin(), listed->end());
  }
  const size_t bindings_count = bindings.size();
  apply(registry_.set_bindings(std::move(bindings)));
  apply(registry_.set_allowed(std::move(allowed)));
  spdlog::info(
      "{} group names bound to keys ({}){}", bindings_count, options_.bindings_file.string(),
      options_.groups_file.empty() ? std::string()
                                   : fmt::format("; only the keys and names of {} may register",
                                                 options_.groups_file.string()));
  return Status::ok();
}

void RegistryServer::reload_files() {
  if (options_.security != SecurityMode::curve) {
    spdlog::info("SIGHUP: nothing to re-read in open mode");
    return;
  }
  if (auto s = load_files(); !s)
    spdlog::error("SIGHUP: {}; keeping the names and keys as they were", s.message());
}

void RegistryServer::save_bindings() {
  KeyNameLines lines;
  for (const auto& [name, key] : registry_.bindings()) lines.emplace_back(key, name);
  if (auto s = save_key_names(options_.bindings_file, kBindingsHeader, lines); !s)
    spdlog::error("{}; the names bound since the start are kept in memory only", s.message());
}

Status RegistryServer::bind() {
  try {
    router_.bind(options_.bind);
  } catch (const zmq::error_t& e) {
    std::string hint;
    if (e.num() == EADDRINUSE)
      hint = "; is another message_server running?";
    else if (e.num() == EADDRNOTAVAIL)
      hint = "; use an address of this host, or *:PORT";
    return Status::error(fmt::format("cannot bind {}: {}{}", options_.bind, e.what(), hint));
  }
  // What was bound, numerically ("tcp://0.0.0.0:5555" for a wildcard).
  auto bound = parse_endpoint(router_.get(zmq::sockopt::last_endpoint));
  if (bound) {
    host_.port = bound->port;
    auto ip = parse_ipv4_host(bound->host);
    if (ip && *ip != 0) host_.bound_ip = ip;
  }
  update_host(mono_ms());
  return Status::ok();
}

void RegistryServer::update_host(int64_t now_ms) {
  host_updated_ms_ = now_ms;
  host_.interface_ips.clear();
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) {
    spdlog::warn("cannot list this host's addresses: {}", std::strerror(errno));
  } else {
    for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
      if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
      uint32_t ip = ntohl(reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr.s_addr);
      if (!is_loopback_ipv4(ip) && std::find(host_.interface_ips.begin(), host_.interface_ips.end(),
                                             ip) == host_.interface_ips.end())
        host_.interface_ips.push_back(ip);
    }
    freeifaddrs(list);
  }
  registry_.set_host(host_);
}

void RegistryServer::run(int stop_fd, int reload_fd) {
  while (true) {
    int64_t now = mono_ms();
    drain_watch_events(now);
    apply(registry_.tick(now));

    // Sleep until something is due: a group's deadline, or a look at the
    // watches' connection events (they cannot wake the poll). Idle with no
    // watched group, that is forever.
    NextWake wake(now);
    if (!watchers_.empty()) wake.within(options_.watch_poll_ms);
    if (auto deadline = registry_.next_deadline()) wake.at(*deadline);
    // Peers are swept, and memory they gave up is trimmed, a second apart.
    if (!peers_.empty() || trim_.pending(queued_->bytes.load(std::memory_order_relaxed)))
      wake.at(next_peer_sweep_ms_);
    // Messages not yet ended are looked for while there are connections.
    if (int64_t check = guard_->next_check_ms(); check >= 0) wake.at(check);
    zmq::pollitem_t items[] = {{router_.handle(), 0, ZMQ_POLLIN, 0},
                               {nullptr, stop_fd, ZMQ_POLLIN, 0},
                               {guard_->handle(), 0, ZMQ_POLLIN, 0},
                               {nullptr, reload_fd, ZMQ_POLLIN, 0},
                               {zap_ ? zap_->socket().handle() : nullptr, -1, ZMQ_POLLIN, 0}};
    const int count = zap_ ? 5 : (reload_fd >= 0 ? 4 : 3);
    if (!poll_items(items, count, wake.timeout_ms())) continue;
    if (items[1].revents & ZMQ_POLLIN) break;
    if (zap_ && (items[4].revents & ZMQ_POLLIN)) zap_->on_readable();
    if (reload_fd >= 0 && (items[3].revents & ZMQ_POLLIN)) {
      drain_signal_pipe(reload_fd);
      spdlog::info("SIGHUP: re-reading the names and keys");
      reload_files();
    }
    // Connection events first: a request is then credited to the connection it came on.
    if ((items[2].revents & ZMQ_POLLIN) || (items[0].revents & ZMQ_POLLIN)) guard_->drain();
    guard_->on_timer(mono_ms());
    if (items[0].revents & ZMQ_POLLIN) {
      // A registration is judged on the watches' latest state (a lost connection frees its
      // address).
      drain_watch_events(mono_ms());
      serve_requests();
    }
    if (now = mono_ms(); now >= next_peer_sweep_ms_) {
      sweep_peers(now);
      next_peer_sweep_ms_ = now + 1000;
    }
  }
  spdlog::info("shutting down");
}

void RegistryServer::serve_requests() {
  RoutedRequest request;
  if (mono_ms() - host_updated_ms_ >= kHostRefreshMs) update_host(mono_ms());
  for (size_t i = 0; i < kMaxBatchRequests; ++i) {
    if (!receive_routed(router_, request, options_.max_request_bytes, zap_ != nullptr)) return;
    guard_->on_delivered(request.source_fd, request.wire_bytes);
    auto [it, added] = peers_.try_emplace(std::string(request.peer()));
    Peer& peer = it->second;
    if (added) {
      peer.account = std::make_shared<PeerAccount>(queued_);
      peer.connection = ConnectionId::of(request.source_fd);
    }
    if (peer.closed) continue;
    std::string violation = request.framing_violation;
    if (violation.empty() && !policy_.may_serve(peer.account->queued_now(),
                                                queued_->bytes.load(std::memory_order_relaxed), 0))
      violation = fmt::format("it does not read its replies: {} bytes queued for it (share {})",
                              peer.account->queued_now(), policy_.limits().peer_share_bytes);
    if (!violation.empty()) {
      peer.closed = true;
      const bool shut = peer.connection && peer.connection->shut_down();
      log_closed_peer(log_close_, request.peer_address, violation, shut);
      continue;
    }
    RegistryOutput out;
    if (!request.framing_error.empty()) {
      spdlog::warn("refused request: {}", request.framing_error);
      out.reply = registry_failed(request.framing_error);
    } else {
      try {
        out = registry_.handle(request.body, mono_ms(), request.peer_address, request.user_id);
      } catch (const std::exception& e) {
        spdlog::error("internal error on a request: {}", e.what());
        out = RegistryOutput{};
        out.reply =
            registry_failed(std::string("internal error: ") + e.what() + "; please report it");
      }
    }
    apply(out);
    trim_.observe(queued_->bytes.load(std::memory_order_relaxed));
    if (send_accounted(router_, request.envelope, out.reply, peer.account) != SendResult::sent)
      spdlog::debug("could not deliver a reply: the peer is gone");
  }
}

void RegistryServer::sweep_peers(int64_t now_ms) {
  // Only the table holds an idle peer's account; a closed one is forgotten
  // at the sweep after, when libzmq has dropped what it had from it.
  std::erase_if(peers_, [](const auto& kv) { return kv.second.account.use_count() == 1; });
  trim_.maybe_trim(queued_->bytes.load(std::memory_order_relaxed), now_ms);
}

void RegistryServer::apply(const RegistryOutput& out) {
  // Notes and lines quote peers' names, addresses and uuids: shown visibly,
  // so that none can forge a line or act on a terminal.
  for (const auto& note : out.notes) spdlog::info("{}", visible_text(note));
  if (!out.stdout_lines.empty()) {
    for (const auto& line : out.stdout_lines)
      std::fprintf(stdout, "%s\n", visible_text(line).c_str());
    std::fflush(stdout);
  }
  for (const auto& cmd : out.watch) {
    if (cmd.change == WatchChange::stop) {
      watchers_.erase(cmd.address);
    } else {
      watchers_.erase(cmd.address);
      start_watch(cmd.address, cmd.server_key);
    }
  }
  if (out.bindings_changed) save_bindings();
}

void RegistryServer::start_watch(const std::string& address, const std::string& server_key) {
  auto watcher = std::make_unique<Watcher>();
  try {
    watcher->socket = zmq::socket_t(context_, zmq::socket_type::dealer);
    watcher->socket.set(zmq::sockopt::linger, 0);
    watcher->socket.set(zmq::sockopt::heartbeat_ivl, options_.watch_heartbeat_ivl_ms);
    watcher->socket.set(zmq::sockopt::heartbeat_timeout, options_.watch_heartbeat_timeout_ms);
    watcher->socket.set(zmq::sockopt::connect_timeout, options_.watch_heartbeat_timeout_ms);
    watcher->socket.set(zmq::sockopt::reconnect_ivl_max, options_.watch_reconnect_max_ms);
    // A curve group's watch is the proof: the handshake succeeds only with
    // the holder of the key it registered with.
    if (!server_key.empty() && options_.keys)
      make_curve_client(watcher->socket, *options_.keys, server_key);
    watcher->monitor = std::make_unique<EndpointWatch>(
        context_, watcher->socket, fmt::format("inproc://registry-watch-{}", ++watch_counter_));
    // Connecting and never sending is invisible to the group: a ROUTER only
    // sees a peer that stays silent, and the ZMTP pings are answered by libzmq.
    watcher->socket.connect(zmq_address(address));
  } catch (const zmq::error_t& e) {
    // Without a watch the group never shows as connected and is dropped in time.
    spdlog::warn("cannot watch {}: {}", address, e.what());
    return;
  }
  watchers_[address] = std::move(watcher);
}

void RegistryServer::drain_watch_events(int64_t now_ms) {
  std::vector<std::pair<std::string, WatchEvent>> events;
  std::vector<WatchEvent> changes;
  for (auto& [address, watcher] : watchers_) {
    changes.clear();
    watcher->monitor->drain(changes);
    for (WatchEvent e : changes) events.emplace_back(address, e);
  }
  for (const auto& [address, event] : events)
    apply(registry_.on_watch_event(address, event, now_ms));
}

}  // namespace gc

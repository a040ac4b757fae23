#include "net/connections.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "core/clock.hpp"

namespace gc {

size_t raise_descriptor_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  if (rl.rlim_cur == RLIM_INFINITY) return size_t{1} << 20;
  return static_cast<size_t>(rl.rlim_cur);
}

void size_context_sockets(zmq::context_t& ctx, size_t descriptor_limit) {
  const int ceiling = ctx.get(zmq::ctxopt::socket_limit);
  const size_t wanted = descriptor_limit > kReservedDescriptors
                            ? descriptor_limit - kReservedDescriptors
                            : descriptor_limit;
  ctx.set(zmq::ctxopt::max_sockets,
          static_cast<int>(std::min<size_t>(wanted, static_cast<size_t>(ceiling))));
}

size_t connections_for_descriptors(size_t wanted, size_t descriptor_limit) {
  size_t room =
      descriptor_limit > kReservedDescriptors + 1 ? descriptor_limit - kReservedDescriptors : 1;
  return std::max<size_t>(1, std::min(wanted, room));
}

std::string peer_ip(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr, buf, sizeof buf);
  } else if (ss.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr, buf, sizeof buf);
  } else {
    return "local";
  }
  return buf;
}

std::optional<ConnectionId> ConnectionId::of(int fd) {
  if (fd < 0) return std::nullopt;
  ConnectionId id;
  id.fd = fd;
  id.peer_len = sizeof id.peer;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&id.peer), &id.peer_len) != 0)
    return std::nullopt;
  return id;
}

bool ConnectionId::shut_down() const {
  if (fd < 0) return false;
  sockaddr_storage now{};
  socklen_t len = sizeof now;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&now), &len) != 0) return false;
  if (len != peer_len || std::memcmp(&now, &peer, len) != 0) return false;
  return ::shutdown(fd, SHUT_RDWR) == 0;
}

std::optional<std::string> ConnectionCounter::on_accepted(int fd, const std::string& address) {
  // A descriptor seen again means its earlier connection has ended.
  on_closed(fd);
  if (by_fd_.size() >= limits_.max_total)
    return "the limit of " + std::to_string(limits_.max_total) + " connections";
  size_t& n = by_address_[address];
  if (n >= limits_.max_per_address) {
    if (n == 0) by_address_.erase(address);
    return "the limit of " + std::to_string(limits_.max_per_address) + " connections per address";
  }
  ++n;
  by_fd_.emplace(fd, address);
  return std::nullopt;
}

void ConnectionCounter::on_closed(int fd) {
  auto it = by_fd_.find(fd);
  if (it == by_fd_.end()) return;
  auto a = by_address_.find(it->second);
  if (a != by_address_.end() && --a->second == 0) by_address_.erase(a);
  by_fd_.erase(it);
}

size_t ConnectionCounter::from(const std::string& address) const {
  auto it = by_address_.find(address);
  return it == by_address_.end() ? 0 : it->second;
}

namespace {
std::atomic<unsigned> monitor_counter{0};
}

ConnectionGuard::ConnectionGuard(zmq::context_t& ctx, zmq::socket_t& router,
                                 ConnectionLimits limits, std::string name)
    : router_(router),
      monitor_(ctx, zmq::socket_type::pair),
      counter_(limits),
      name_(std::move(name)) {
  const std::string endpoint =
      "inproc://connection-guard-" + std::to_string(monitor_counter.fetch_add(1));
  if (zmq_socket_monitor(router_.handle(), endpoint.c_str(),
                         ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_ACCEPT_FAILED) !=
      0)
    throw zmq::error_t();
  monitor_.set(zmq::sockopt::linger, 0);
  monitor_.connect(endpoint);
}

ConnectionGuard::~ConnectionGuard() {
  zmq_socket_monitor(router_.handle(), nullptr, 0);
}

void ConnectionGuard::drain() {
  while (true) {
    zmq::message_t event, address;
    if (!monitor_.recv(event, zmq::recv_flags::dontwait)) return;
    if (event.more()) (void)monitor_.recv(address, zmq::recv_flags::none);
    if (event.size() < 6) continue;
    uint16_t kind;
    uint32_t value;
    std::memcpy(&kind, event.data(), 2);
    std::memcpy(&value, static_cast<const char*>(event.data()) + 2, 4);
    const int fd = static_cast<int>(value);
    switch (kind) {
      case ZMQ_EVENT_ACCEPTED: {
        const std::string ip = peer_ip(fd);
        if (ip.empty()) break;  // gone already
        if (auto over = counter_.on_accepted(fd, ip)) {
          auto id = ConnectionId::of(fd);
          if (id) id->shut_down();
          LogLimiter& log =
              over->find("per address") != std::string::npos ? log_address_ : log_total_;
          if (size_t skipped = 0; log.due(mono_ms(), skipped)) {
            spdlog::warn("{}: closed a connection from {}: over {}{}", name_, ip, *over,
                         LogLimiter::more(skipped));
          }
        }
        break;
      }
      case ZMQ_EVENT_DISCONNECTED:
        counter_.on_closed(fd);
        break;
      case ZMQ_EVENT_ACCEPT_FAILED:
        if (size_t skipped = 0; log_accept_failed_.due(mono_ms(), skipped))
          spdlog::error("{}: accepting a connection failed: {}{}", name_,
                        std::strerror(static_cast<int>(value)), LogLimiter::more(skipped));
        break;
      default:
        break;
    }
  }
}

}  // namespace gc

#include "net/connections.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <thread>

#include "core/clock.hpp"
#include "net/monitor_event.hpp"

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

int default_io_threads() {
  const unsigned cores = std::thread::hardware_concurrency();
  return static_cast<int>(std::clamp(cores / 2, 1u, 8u));
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

std::optional<uint64_t> bytes_read_from(int fd) {
  tcp_info info{};
  socklen_t len = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return std::nullopt;
  if (len < offsetof(tcp_info, tcpi_bytes_received) + sizeof info.tcpi_bytes_received)
    return std::nullopt;
  int queued = 0;
  if (ioctl(fd, SIOCINQ, &queued) != 0 || queued < 0) queued = 0;
  const uint64_t received = info.tcpi_bytes_received;
  return received > static_cast<uint64_t>(queued) ? received - static_cast<uint64_t>(queued) : 0;
}

uint64_t resident_bytes() {
  static const int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  static const long page = sysconf(_SC_PAGESIZE);
  if (fd < 0 || page <= 0) return 0;
  char buf[128];
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return 0;
  buf[n] = 0;
  unsigned long long size = 0, resident = 0;
  if (std::sscanf(buf, "%llu %llu", &size, &resident) != 2) return 0;
  return resident * static_cast<uint64_t>(page);
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
      name_(std::move(name)),
      growth_(backlog_limits_.growth_trigger_bytes) {
  growth_.looked(resident_bytes());
  const std::string endpoint =
      "inproc://connection-guard-" + std::to_string(monitor_counter.fetch_add(1));
  if (zmq_socket_monitor(router_.handle(), endpoint.c_str(),
                         ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_ACCEPT_FAILED |
                             ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                             ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0)
    throw zmq::error_t();
  monitor_.set(zmq::sockopt::linger, 0);
  monitor_.connect(endpoint);
}

ConnectionGuard::~ConnectionGuard() {
  zmq_socket_monitor(router_.handle(), nullptr, 0);
}

void ConnectionGuard::drain() {
  std::optional<MonitorEvent> event;
  while (receive_monitor_event(monitor_, event)) {
    if (!event) continue;
    const uint32_t value = event->value;
    const int fd = static_cast<int>(value);
    switch (event->kind) {
      case ZMQ_EVENT_ACCEPTED: {
        // A descriptor seen again: its earlier connection has ended.
        ledger_.on_closed(fd);
        accepted_.erase(fd);
        const std::string ip = peer_ip(fd);
        if (ip.empty()) break;  // gone already
        if (auto over = counter_.on_accepted(fd, ip); !over) {
          if (auto id = ConnectionId::of(fd)) {
            if (ledger_.size() == 0) {
              next_check_ms_ = mono_ms() + backlog_limits_.check_interval_ms;
              next_full_check_ms_ = mono_ms() + backlog_limits_.full_check_interval_ms;
            }
            ledger_.on_accepted(fd, mono_ms());
            accepted_.insert_or_assign(fd, *id);
          }
        } else {
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
        ledger_.on_closed(fd);
        accepted_.erase(fd);
        break;
      case ZMQ_EVENT_ACCEPT_FAILED:
        if (size_t skipped = 0; log_accept_failed_.due(mono_ms(), skipped))
          spdlog::error("{}: accepting a connection failed: {}{}", name_,
                        std::strerror(static_cast<int>(value)), LogLimiter::more(skipped));
        break;
      case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        // The value is the protocol error, not the descriptor: the peer is not known here.
        if (size_t skipped = 0; log_handshake_failed_.due(mono_ms(), skipped))
          spdlog::warn("{}: a connection failed its handshake: {}{}", name_,
                       handshake_failure_text(value), LogLimiter::more(skipped));
        break;
      case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        // Often the peer gave up first: it saw our mechanism was not its own.
        if (size_t skipped = 0; log_handshake_failed_.due(mono_ms(), skipped))
          spdlog::warn(
              "{}: a connection failed its handshake: the peer closed it (a client "
              "whose security mechanism is not this server's, such as an unencrypted "
              "one at a curve server, or not a ZeroMQ peer){}",
              name_, LogLimiter::more(skipped));
        break;
      default:
        break;
    }
  }
}

std::string handshake_failure_text(uint32_t protocol_error) {
  switch (protocol_error) {
    case ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH:
      return "the client's security mechanism is not this server's (an unencrypted client, "
             "such as the reference's, at a curve server, or the other way round)";
    case ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC:
      return "its CURVE handshake did not decrypt (the client expects another server key)";
    default:
      return fmt::format("ZMTP protocol error 0x{:x}", protocol_error);
  }
}

void ConnectionGuard::limit_backlog(BacklogLimits limits) {
  backlog_limits_ = limits;
  growth_ = GrowthTrigger(limits.growth_trigger_bytes);
  growth_.looked(resident_bytes());
}

void ConnectionGuard::on_timer(int64_t now_ms) {
  if (ledger_.size() == 0 || now_ms < next_check_ms_) return;
  next_check_ms_ = now_ms + backlog_limits_.check_interval_ms;
  const uint64_t resident = resident_bytes();
  if (!growth_.due(resident) && now_ms < next_full_check_ms_) return;
  check_backlogs();
  growth_.looked(resident_bytes());
  next_full_check_ms_ = now_ms + backlog_limits_.full_check_interval_ms;
}

size_t ConnectionGuard::check_backlogs() {
  drain();  // closes and reuses of descriptors first
  std::vector<Backlog> backlogs;
  backlogs.reserve(ledger_.size());
  const int64_t now = mono_ms();
  for (int fd : ledger_.fds()) {
    if (auto read = bytes_read_from(fd)) {
      if (uint64_t held = ledger_.undelivered(fd, *read, now))
        backlogs.push_back({fd, held, ledger_.progressing(fd)});
    }
  }
  ledger_.looked(now);
  size_t closed = 0;
  for (const Backlog& b : backlogs_to_close(backlogs, backlog_limits_)) {
    auto it = accepted_.find(b.fd);
    if (it == accepted_.end()) continue;
    const std::string ip = peer_ip(b.fd);
    if (!it->second.shut_down()) continue;  // gone, or the descriptor is another connection now
    ++closed;
    ledger_.on_closed(b.fd);  // its DISCONNECTED follows
    accepted_.erase(it);
    if (size_t skipped = 0; log_backlog_.due(mono_ms(), skipped)) {
      spdlog::warn(
          "{}: closed a connection from {}: {} bytes of a message not yet ended held for it "
          "(limit {} per connection, {} for all){}",
          name_, ip, b.undelivered, backlog_limits_.per_connection_bytes,
          backlog_limits_.total_bytes, LogLimiter::more(skipped));
    }
  }
  return closed;
}

void log_closed_peer(LogLimiter& limiter, std::string_view address, std::string_view why,
                     bool shut) {
  if (size_t skipped = 0; limiter.due(mono_ms(), skipped))
    spdlog::warn("closed a connection from {}: {}{}{}",
                 address.empty() ? "an unknown address" : address, why,
                 shut ? "" : "; it had gone already", LogLimiter::more(skipped));
}

}  // namespace gc

#include "core/endpoint.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>

#include "core/clock.hpp"

namespace gc {

std::string Endpoint::ip_port() const {
  return host + ":" + std::to_string(port);
}
std::string Endpoint::zmq() const {
  return zmq_address(ip_port());
}

namespace {
constexpr std::string_view kTcpPrefix = "tcp://";
}

std::string_view without_tcp_prefix(std::string_view address) {
  if (address.substr(0, kTcpPrefix.size()) == kTcpPrefix) address.remove_prefix(kTcpPrefix.size());
  return address;
}

std::string zmq_address(std::string_view address) {
  return std::string(kTcpPrefix) + std::string(without_tcp_prefix(address));
}

Result<Endpoint> parse_endpoint(std::string_view text) {
  std::string_view s = without_tcp_prefix(text);
  auto bad = [&](const std::string& why) {
    return Result<Endpoint>::error("bad address '" + std::string(text.substr(0, 80)) + "': " + why +
                                   " (expected IP:PORT, e.g. 127.0.0.1:5560)");
  };
  auto colon = s.rfind(':');
  if (colon == std::string_view::npos) return bad("no ':PORT'");
  std::string_view host = s.substr(0, colon);
  std::string_view port = s.substr(colon + 1);
  if (host.empty()) return bad("no host");
  if (host != "*") {
    for (char c : host) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_'))
        return bad("invalid character in host");
    }
  }
  if (port.empty() || port.size() > 5) return bad("port must be a number from 1 to 65535");
  unsigned long p = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return bad("port must be a number from 1 to 65535");
    p = p * 10 + static_cast<unsigned long>(c - '0');
  }
  if (p < 1 || p > 65535) return bad("port must be a number from 1 to 65535");
  return Endpoint{std::string(host), static_cast<uint16_t>(p)};
}

namespace {
char ascii_lower(char c) {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}
}  // namespace

std::optional<uint32_t> parse_ipv4_host(std::string_view host) {
  constexpr std::string_view kLocalhost = "localhost";
  if (host.size() == kLocalhost.size() &&
      std::equal(host.begin(), host.end(), kLocalhost.begin(),
                 [](char a, char b) { return ascii_lower(a) == b; }))
    return uint32_t{0x7f000001};
  // inet_aton stops at the first white space and ignores the rest: only a
  // whole host of the characters an IPv4 address can be written with is read.
  if (host.empty() || host.size() > 64) return std::nullopt;
  for (char c : host)
    if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'x' || c == 'X'))
      return std::nullopt;
  in_addr a{};
  if (inet_aton(std::string(host).c_str(), &a) == 0) return std::nullopt;
  return ntohl(a.s_addr);
}

std::optional<uint32_t> parse_ipv4_peer(std::string_view text) {
  constexpr std::string_view kMapped = "::ffff:";
  if (text.substr(0, kMapped.size()) == kMapped) text.remove_prefix(kMapped.size());
  if (text.empty() || text.size() > 15) return std::nullopt;
  in_addr a{};
  if (inet_pton(AF_INET, std::string(text).c_str(), &a) != 1) return std::nullopt;
  return ntohl(a.s_addr);
}

std::string ipv4_text(uint32_t ip) {
  return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 0xff) + "." +
         std::to_string((ip >> 8) & 0xff) + "." + std::to_string(ip & 0xff);
}

Result<Endpoint> parse_connect_endpoint(std::string_view text) {
  auto ep = parse_endpoint(text);
  if (ep && ep->host == "*")
    return Result<Endpoint>::error(
        "bad address '" + std::string(text.substr(0, 80)) +
        "': '*' means every address of a host, for binding; connect to a server's address, e.g. "
        "127.0.0.1:" +
        std::to_string(ep->port));
  return ep;
}

namespace {

// The resolver's answer for one name, as getaddrinfo gives it (blocking).
Result<uint32_t> lookup_ipv4(const std::string& name) {
  using R = Result<uint32_t>;
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = getaddrinfo(name.c_str(), nullptr, &hints, &found);
  if (rc != 0 || found == nullptr) {
    std::string why = rc == EAI_NONAME || rc == EAI_NODATA
                          ? "no such host"
                          : (rc == EAI_SYSTEM ? std::string("the resolver failed")
                                              : std::string(gai_strerror(rc)));
    if (found) freeaddrinfo(found);
    return R::error("the host name '" + name + "' does not resolve (" + why + ")");
  }
  uint32_t ip = 0;
  bool have = false;
  for (addrinfo* a = found; a && !have; a = a->ai_next) {
    if (a->ai_family != AF_INET || a->ai_addr == nullptr) continue;
    ip = ntohl(reinterpret_cast<const sockaddr_in*>(a->ai_addr)->sin_addr.s_addr);
    have = true;
  }
  freeaddrinfo(found);
  if (!have) return R::error("the host name '" + name + "' has no IPv4 address");
  return ip;
}

std::atomic<int> resolve_timeout_ms{0};

// A lookup running in a thread of its own, which outlives a wait that ended.
struct Lookup {
  std::mutex mutex;
  std::condition_variable done_cv;
  std::optional<Result<uint32_t>> result;
};

std::mutex lookups_mutex;
// Names being looked up, so that a name whose lookup outlasted one wait is
// not looked up again in parallel. Bounded: past it, a name waits alone.
std::map<std::string, std::shared_ptr<Lookup>>& running_lookups() {
  static auto* running = new std::map<std::string, std::shared_ptr<Lookup>>();
  return *running;
}
constexpr size_t kMaxRunningLookups = 64;

Result<uint32_t> lookup_ipv4_within(const std::string& name, int timeout_ms) {
  std::shared_ptr<Lookup> lookup;
  bool start = false;
  {
    std::lock_guard<std::mutex> lock(lookups_mutex);
    auto& running = running_lookups();
    if (auto it = running.find(name); it != running.end()) {
      lookup = it->second;
    } else {
      lookup = std::make_shared<Lookup>();
      start = true;
      if (running.size() < kMaxRunningLookups) running.emplace(name, lookup);
    }
  }
  if (start) {
    try {
      std::thread([lookup, name] {
        Result<uint32_t> r = lookup_ipv4(name);
        {
          std::lock_guard<std::mutex> lock(lookups_mutex);
          auto& running = running_lookups();
          if (auto it = running.find(name); it != running.end() && it->second == lookup)
            running.erase(it);
        }
        std::lock_guard<std::mutex> lock(lookup->mutex);
        lookup->result = std::move(r);
        lookup->done_cv.notify_all();
      }).detach();
    } catch (const std::system_error&) {
      // No thread to be had: look up here, unbounded, as without a bound.
      std::lock_guard<std::mutex> lock(lookups_mutex);
      auto& running = running_lookups();
      if (auto it = running.find(name); it != running.end() && it->second == lookup)
        running.erase(it);
      return lookup_ipv4(name);
    }
  }
  std::unique_lock<std::mutex> lock(lookup->mutex);
  if (!lookup->done_cv.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                                [&] { return lookup->result.has_value(); })) {
    // The bound as the user gave it, to the tenth of a second.
    return Result<uint32_t>::error("the host name '" + name + "' did not resolve within " +
                                   describe_ms((int64_t{timeout_ms} + 99) / 100 * 100) +
                                   " (the name service did not answer)");
  }
  return *lookup->result;
}

}  // namespace

void set_resolve_timeout_ms(int ms) {
  resolve_timeout_ms.store(std::max(0, ms));
}

Result<uint32_t> resolve_ipv4_host(std::string_view host) {
  using R = Result<uint32_t>;
  if (auto ip = parse_ipv4_host(host)) return *ip;
  const std::string name(host.substr(0, 255));
  if (host.empty() || host.size() > 253 || host == "*")
    return R::error("'" + name + "' is not a host name");
  // RFC 6761: names under "invalid" get a negative answer at once, without
  // asking the name service (no query leaves the machine for them).
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), ascii_lower);
  if (!lower.empty() && lower.back() == '.') lower.pop_back();
  if (lower == "invalid" || (lower.size() > 8 && lower.ends_with(".invalid")))
    return R::error("the host name '" + name + "' does not resolve (no such host)");
  if (const int bound = resolve_timeout_ms.load(); bound > 0)
    return lookup_ipv4_within(name, bound);
  return lookup_ipv4(name);
}

Result<std::string> resolved_address(const Endpoint& endpoint) {
  auto ip = resolve_ipv4_host(endpoint.host);
  if (!ip) return Result<std::string>::error(ip.error());
  return ipv4_text(*ip) + ":" + std::to_string(endpoint.port);
}

}  // namespace gc

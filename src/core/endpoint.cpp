#include "core/endpoint.hpp"

#include <cctype>

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

}  // namespace gc

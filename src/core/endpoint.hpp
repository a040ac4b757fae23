#pragma once
// Addresses as users type them ("127.0.0.1:5560", "localhost:5555",
// "*:5555", or a full "tcp://host:port") and as ZeroMQ wants them.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace gc {

struct Endpoint {
  std::string host;  // an IPv4 address, a host name, or "*" (bind to all)
  uint16_t port = 0;

  // "host:port", the form the wire protocol uses (the registry's key).
  std::string ip_port() const;
  // "tcp://host:port", for zmq bind/connect.
  std::string zmq() const;
};

// Parses HOST:PORT (an optional "tcp://" prefix is accepted). The port must be
// 1..65535; the host must be non-empty and contain only letters, digits, '.',
// '-', '_' or be "*". Errors say what was wrong with the text.
Result<Endpoint> parse_endpoint(std::string_view text);
// The same for an address to connect to: "*" (every address, for binding)
// names no server and is refused.
Result<Endpoint> parse_connect_endpoint(std::string_view text);

// The one place that knows ZeroMQ's "tcp://" prefix: an address given with or
// without it, as ZeroMQ wants it ("tcp://host:port") ...
std::string zmq_address(std::string_view address);
// ... and as the wire protocol and people write it ("host:port").
std::string_view without_tcp_prefix(std::string_view address);

// IPv4 addresses as numbers (host byte order), so that every spelling of one
// address compares equal.
//
// A host written any way the C library's inet_aton reads it ("127.0.0.1",
// "0x7f000001", "127.1", "127.0.0.0001", "2130706433": what libzmq would
// connect to), or "localhost" in any case (127.0.0.1). nullopt for anything
// else, e.g. a host name, which only a resolver could turn into an address.
std::optional<uint32_t> parse_ipv4_host(std::string_view host);
// Exactly a dotted quad as a socket layer reports a peer ("10.0.0.7"); an
// IPv4-mapped IPv6 form ("::ffff:10.0.0.7") is read as its IPv4 address.
std::optional<uint32_t> parse_ipv4_peer(std::string_view text);
// The dotted quad, e.g. "127.0.0.1".
std::string ipv4_text(uint32_t ip);
// The IPv4 address a host names, as libzmq would connect to it (it speaks
// IPv4 unless told otherwise): an address in any spelling parse_ipv4_host
// reads, else the first address the resolver (getaddrinfo, AF_INET) gives.
// The error says the name does not resolve, and why ("Name or service not
// known", ...). A resolver that cannot answer takes as long as its own
// timeouts (resolv.conf), unless set_resolve_timeout_ms bounds the wait.
// A name under ".invalid" is not looked up: it never resolves (RFC 6761).
Result<uint32_t> resolve_ipv4_host(std::string_view host);
// Bounds every later resolve_ipv4_host of this process to ms milliseconds
// (0: no bound, the default). The lookup goes on in a thread of its own when
// the wait ends, and a later call for the same name waits for that lookup
// instead of starting another. Error: "the host name 'x' did not resolve
// within N s (the name service did not answer)".
void set_resolve_timeout_ms(int ms);
// An address with its host resolved: "a.b.c.d:port". The one form of a
// server's address that every spelling of it shares ("localhost:5560",
// "127.1:5560", "tcp://127.0.0.1:5560", a host name of it).
Result<std::string> resolved_address(const Endpoint& endpoint);

// 127.0.0.0/8.
inline bool is_loopback_ipv4(uint32_t ip) {
  return (ip >> 24) == 127;
}

}  // namespace gc

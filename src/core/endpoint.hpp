#pragma once
// Addresses as users type them ("127.0.0.1:5560", "localhost:5555",
// "*:5555", or a full "tcp://host:port") and as ZeroMQ wants them.
#include <cstdint>
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

// The one place that knows ZeroMQ's "tcp://" prefix: an address given with or
// without it, as ZeroMQ wants it ("tcp://host:port") ...
std::string zmq_address(std::string_view address);
// ... and as the wire protocol and people write it ("host:port").
std::string_view without_tcp_prefix(std::string_view address);

}  // namespace gc

#pragma once
// Addresses as users type them ("127.0.0.1:5560", "localhost:5555",
// "*:5555", or a full "tcp://host:port") and as ZeroMQ wants them.
#include <cstdint>
#include <string>
#include <string_view>

#include "groupchat/result.hpp"

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

}  // namespace gc

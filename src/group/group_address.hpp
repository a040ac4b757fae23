#pragma once
// What a group binds and what it registers (advertises), from its IP:PORT
// argument and --advertise HOST:PORT. Both may be host names, resolved to
// IPv4 before use: libzmq reads a name in a bind address as a network
// interface ("No such device"), and the registry takes numeric addresses
// only. The wildcard (`*`, 0.0.0.0) may be bound but never advertised: other
// hosts cannot connect to it.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/endpoint.hpp"
#include "core/result.hpp"

namespace gc {

// A host name to one IPv4 address (host byte order), or an error text:
// resolve_ipv4_host (core/endpoint) outside tests.
using Resolver = std::function<Result<uint32_t>(const std::string& host)>;

struct GroupAddresses {
  Endpoint bind;          // numeric, or "*" for every address
  Endpoint advertise;     // numeric: what the registry lists
  std::string bind_note;  // how a host name was read, for a log line (empty: none)
};

// Reads IP:PORT and --advertise (empty: advertise what is bound). Errors
// name the text and say what to do, e.g. for a wildcard advertised.
Result<GroupAddresses> plan_group_addresses(std::string_view bind_text,
                                            std::string_view advertise_text,
                                            const Resolver& resolve);

// True when a loopback address is advertised to a registry that is not on
// loopback: its other users cannot reach it. registry_ip: the registry's
// address, nullopt when unknown (then nothing is said).
bool loopback_advertised_to_remote(uint32_t advertised, std::optional<uint32_t> registry_ip);

}  // namespace gc

#include "group/group_address.hpp"

#include <fmt/format.h>

namespace gc {

namespace {

bool is_wildcard(const Endpoint& e, std::optional<uint32_t> ip) {
  return e.host == "*" || (ip && (*ip >> 24) == 0);
}

// A numeric form, "localhost", or a name for the resolver.
Result<uint32_t> host_ip(const Endpoint& e, const Resolver& resolve) {
  if (auto ip = parse_ipv4_host(e.host)) return *ip;
  auto r = resolve(e.host);
  if (!r)
    return Result<uint32_t>::error(fmt::format("cannot resolve host '{}': {}", e.host, r.error()));
  return *r;
}

}  // namespace

Result<GroupAddresses> plan_group_addresses(std::string_view bind_text,
                                            std::string_view advertise_text,
                                            const Resolver& resolve) {
  using R = Result<GroupAddresses>;
  auto bind = parse_endpoint(bind_text);
  if (!bind) return R::error(bind.error());
  GroupAddresses out;
  out.bind = *bind;
  std::optional<uint32_t> bind_ip;
  if (bind->host != "*") {
    auto ip = host_ip(*bind, resolve);
    if (!ip) return R::error(ip.error());
    bind_ip = *ip;
    out.bind.host = ipv4_text(*ip);
    if (out.bind.host != bind->host)
      out.bind_note = fmt::format("{} is {}", bind->host, out.bind.host);
  }
  if (advertise_text.empty()) {
    if (is_wildcard(*bind, bind_ip))
      return R::error(fmt::format(
          "{} binds every address of this host, but other hosts cannot connect to it: bind it "
          "and give the address they should use with --advertise HOST:PORT (e.g. --advertise "
          "192.0.2.7:{}), or bind that address",
          bind->ip_port(), bind->port));
    out.advertise = out.bind;
    return out;
  }
  auto adv = parse_endpoint(advertise_text);
  if (!adv) return R::error("--advertise: " + adv.error());
  std::optional<uint32_t> adv_ip;
  if (adv->host != "*") {
    auto ip = host_ip(*adv, resolve);
    if (!ip) return R::error("--advertise: " + ip.error());
    adv_ip = *ip;
  }
  if (is_wildcard(*adv, adv_ip))
    return R::error(fmt::format(
        "--advertise {}: other hosts cannot connect to a wildcard address; advertise this "
        "host's address (e.g. 192.0.2.7:{})",
        adv->ip_port(), adv->port));
  out.advertise = Endpoint{ipv4_text(*adv_ip), adv->port};
  return out;
}

bool loopback_advertised_to_remote(uint32_t advertised, std::optional<uint32_t> registry_ip) {
  return is_loopback_ipv4(advertised) && registry_ip && !is_loopback_ipv4(*registry_ip);
}

}  // namespace gc

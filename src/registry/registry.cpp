#include "registry/registry.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/endpoint.hpp"
#include "core/visible_text.hpp"

namespace gc {

namespace {

struct Address {
  uint32_t ip;
  uint16_t port;
};

// The canonical form of an ip_port the decoder accepted: a numeric IPv4
// address (any spelling the C library reads, or localhost) that others can
// connect to. Host names are refused, not resolved: resolving blocks (in the
// loop, or in libzmq's I/O thread when the address is watched) for as long as
// a DNS server takes to answer, and the same-host rule needs the address.
Result<Address> canonical_address(std::string_view ip_port) {
  auto ep = parse_endpoint(ip_port);
  if (!ep) return Result<Address>::error("field 'ip_port': " + ep.error());
  auto ip = parse_ipv4_host(ep->host);
  if (!ip)
    return Result<Address>::error(fmt::format(
        "field 'ip_port': '{}' is not an IPv4 address; register the group's numeric address "
        "(e.g. 192.0.2.7:{}): the registry does not resolve host names",
        ep->host.substr(0, 64), ep->port));
  if ((*ip >> 24) == 0)
    return Result<Address>::error(
        fmt::format("field 'ip_port': {} is not an address others can connect to; register the "
                    "group's own address",
                    ipv4_text(*ip)));
  if (*ip >= 0xe0000000u)
    return Result<Address>::error(fmt::format(
        "field 'ip_port': {} is not a unicast address; register the group's own address",
        ipv4_text(*ip)));
  return Address{*ip, ep->port};
}

std::string peer_text(const std::optional<uint32_t>& peer) {
  return peer ? ipv4_text(*peer) : std::string("an unknown address");
}

}  // namespace

bool RegistryHost::is_local(uint32_t ip) const {
  return is_loopback_ipv4(ip) ||
         std::find(interface_ips.begin(), interface_ips.end(), ip) != interface_ips.end();
}

bool RegistryHost::is_registry(uint32_t ip, uint16_t p) const {
  if (port == 0 || p != port) return false;
  return bound_ip ? ip == *bound_ip : is_local(ip);
}

Registry::Registry(RegistryConfig config) : config_(config) {}

const Registry::Command Registry::kCommands[] = {
    {RegistryAction::register_group, &Registry::on_register},
    {RegistryAction::heartbeat, &Registry::on_heartbeat},
    {RegistryAction::unregister, &Registry::on_unregister},
    {RegistryAction::get_group_list, &Registry::on_get_group_list},
    {RegistryAction::list_groups, &Registry::on_list_groups},
};

RegistryOutput Registry::handle(std::string_view body, int64_t now_ms,
                                std::string_view peer_address) {
  RegistryOutput out;
  auto request = decode_registry_request(body);
  if (!request) {
    out.notes.push_back("refused request: " + request.error());
    out.reply = registry_failed(request.error());
    return out;
  }
  Request req{*request, {}, 0, 0, parse_ipv4_peer(peer_address)};
  if (request->action != RegistryAction::get_group_list &&
      request->action != RegistryAction::list_groups) {
    auto address = canonical_address(request->ip_port);
    if (!address) {
      out.notes.push_back(
          fmt::format("refused request from {}: {}", peer_text(req.peer), address.error()));
      out.reply = registry_failed(address.error());
      return out;
    }
    req.ip = address->ip;
    req.port = address->port;
    req.address = ipv4_text(req.ip) + ":" + std::to_string(req.port);
  }
  for (const auto& cmd : kCommands) {
    if (cmd.action == request->action) {
      (this->*cmd.handler)(req, now_ms, out);
      break;
    }
  }
  return out;
}

Registry::Group* Registry::find_address(std::string_view address) {
  auto it = std::find_if(groups_.begin(), groups_.end(),
                         [&](const Group& g) { return g.address == address; });
  return it == groups_.end() ? nullptr : &*it;
}

const Registry::Group* Registry::find_name(std::string_view name) const {
  auto it =
      std::find_if(groups_.begin(), groups_.end(), [&](const Group& g) { return g.name == name; });
  return it == groups_.end() ? nullptr : &*it;
}

void Registry::remove(std::string_view address, RegistryOutput& out) {
  auto it = std::find_if(groups_.begin(), groups_.end(),
                         [&](const Group& g) { return g.address == address; });
  if (it == groups_.end()) return;
  if (!it->heartbeat) out.watch.push_back({WatchChange::stop, it->address});
  groups_.erase(it);
}

int64_t Registry::drop_bound_ms() const {
  return std::max(config_.expiry_ms, config_.watch_connect_ms);
}

std::string Registry::check_registration(const Request& req) const {
  if (host_.is_registry(req.ip, req.port))
    return fmt::format(
        "field 'ip_port': {} is the registry's own address; register the group's address",
        req.address);
  if (!req.peer) return "cannot tell which address this registration comes from";
  if (config_.allow_any_registrant || *req.peer == req.ip) return {};
  if (host_.is_local(*req.peer) && host_.is_local(req.ip)) return {};
  return fmt::format(
      "a group at {} must register from that host, and this registration comes from {}; "
      "register from the group's host (or the registry must run with --allow-any-registrant)",
      ipv4_text(req.ip), ipv4_text(*req.peer));
}

void Registry::on_register(const Request& req, int64_t now_ms, RegistryOutput& out) {
  const std::string& name = req.decoded.group_name;
  const std::string& address = req.address;
  const bool heartbeat = req.decoded.heartbeat;
  auto refuse = [&](const std::string& error) {
    out.reply = registry_failed(error);
    out.notes.push_back(fmt::format("refused register of '{}' at {} from {}: {}", name, address,
                                    peer_text(req.peer), error));
  };
  if (auto why = check_registration(req); !why.empty()) return refuse(why);
  const uint32_t peer = *req.peer;

  Group* group = find_address(address);
  // A watched group whose connection was lost is gone: its address is free
  // for a new registration. Any other entry is live and keeps its name and
  // its registrant until it is dropped or unregisters.
  const bool taken_over = group && !group->heartbeat && group->watch == Watch::lost;
  if (group && !taken_over) {
    if (group->name != name)
      return refuse(fmt::format(
          "address {} is already registered by live group '{}'; register again once that group "
          "is gone (a stopped group is dropped within {} ms)",
          address, group->name, drop_bound_ms()));
    if (group->registrant != peer)
      return refuse(fmt::format(
          "group '{}' at {} is live and was registered from another address; only that address "
          "may register it again while it is alive",
          name, address));
  }
  if (const Group* holder = find_name(name); holder && holder != group)
    return refuse(fmt::format(
        "group name '{}' is already served at {}; choose another name, or register again once "
        "that group is gone (a stopped group is dropped within {} ms)",
        name, holder->address, drop_bound_ms()));
  if (!group && groups_.size() >= config_.max_groups)
    return refuse(fmt::format("the registry holds {} groups, its limit (--max-groups); try later",
                              config_.max_groups));
  if (!group || group->registrant != peer) {
    auto from_peer = static_cast<size_t>(std::count_if(
        groups_.begin(), groups_.end(), [&](const Group& g) { return g.registrant == peer; }));
    if (from_peer >= config_.max_groups_per_source)
      return refuse(fmt::format(
          "{} groups are registered from {}, the limit per address (--max-groups-per-source)",
          config_.max_groups_per_source, ipv4_text(peer)));
  }

  std::string kind = heartbeat ? "heartbeat" : "watched endpoint";
  if (group == nullptr || taken_over) {
    if (group == nullptr) {
      groups_.push_back(Group{address, name, false, Watch::pending, std::nullopt, peer});
      group = &groups_.back();
    } else {
      // Its old process is gone; the watch's connection belonged to it.
      out.watch.push_back({WatchChange::stop, address});
      *group = Group{address, name, false, Watch::pending, std::nullopt, peer};
    }
    group->heartbeat = heartbeat;
    if (heartbeat) {
      group->deadline_ms = now_ms + config_.expiry_ms;
    } else {
      group->deadline_ms = now_ms + config_.watch_connect_ms;
      out.watch.push_back({WatchChange::start, address});
    }
  } else if (group->heartbeat) {
    // Registered again by its own registrant (e.g. a restart at the same address).
    if (heartbeat) {
      group->deadline_ms = now_ms + config_.expiry_ms;
    } else {
      group->heartbeat = false;
      group->watch = Watch::pending;
      group->deadline_ms = now_ms + config_.watch_connect_ms;
      out.watch.push_back({WatchChange::start, address});
    }
  } else {
    // A watched group stays watched: its connection, not a request, proves it alive.
    kind = "watched endpoint, kept";
    if (group->watch == Watch::pending) {
      // Not reachable yet: a fresh connection for the process registering now.
      out.watch.push_back({WatchChange::stop, address});
      out.watch.push_back({WatchChange::start, address});
      group->deadline_ms = now_ms + config_.watch_connect_ms;
    }
  }

  out.stdout_lines.push_back("JOIN REQUEST FROM " + address);
  out.stdout_lines.push_back("SUCCESS");
  out.reply = heartbeat ? registry_register_success(config_.heartbeat_ms, config_.expiry_ms)
                        : std::string(kReferenceRegisterSuccess);
  out.notes.push_back(
      fmt::format("registered '{}' at {} from {} ({})", name, address, ipv4_text(peer), kind));
}

void Registry::on_heartbeat(const Request& req, int64_t now_ms, RegistryOutput& out) {
  const std::string& name = req.decoded.group_name;
  const std::string& address = req.address;
  Group* group = find_address(address);
  if (group == nullptr || group->name != name) {
    out.reply = registry_reregister(
        fmt::format("not registered: no live group '{}' at {}; register again", name, address));
    out.notes.push_back(
        fmt::format("heartbeat from unknown '{}' at {}; asked to register", name, address));
    return;
  }
  if (!req.peer || *req.peer != group->registrant) {
    std::string error = fmt::format(
        "heartbeat for '{}' at {} refused: it comes from {}, not from the address that "
        "registered the group",
        name, address, peer_text(req.peer));
    out.reply = registry_failed(error);
    out.notes.push_back(error);
    return;
  }
  // A watched group stays watched: a heartbeat cannot make a group with a
  // live connection expire. The heartbeat is answered all the same.
  if (group->heartbeat) group->deadline_ms = now_ms + config_.expiry_ms;
  out.reply = registry_success();
}

void Registry::on_unregister(const Request& req, int64_t, RegistryOutput& out) {
  const std::string& name = req.decoded.group_name;
  const std::string& address = req.address;
  // Only the holder of the name may remove it; a stale process's unregister
  // must not remove the group that took over its address.
  if (const Group* group = find_address(address); group && group->name == name) {
    if (!req.peer || *req.peer != group->registrant) {
      std::string error = fmt::format(
          "unregister of '{}' at {} refused: it comes from {}, not from the address that "
          "registered the group",
          name, address, peer_text(req.peer));
      out.reply = registry_failed(error);
      out.notes.push_back(error);
      return;
    }
    remove(address, out);
    out.notes.push_back(fmt::format("unregistered '{}' at {}", name, address));
  }
  out.stdout_lines.push_back("LEAVE REQUEST FROM " + address);
  out.reply = registry_success();
}

void Registry::on_get_group_list(const Request& req, int64_t, RegistryOutput& out) {
  // The uuid is the peer's: shown visibly, so it can neither forge a line nor act on a terminal.
  out.stdout_lines.push_back("GROUP LIST REQUEST FROM " + visible_text(req.decoded.user_uuid));
  out.reply = encode_group_list(group_list());
}

void Registry::on_list_groups(const Request&, int64_t, RegistryOutput& out) {
  out.reply = encode_group_entries(group_entries());
}

std::vector<GroupEntry> Registry::group_entries() const {
  std::vector<GroupEntry> out;
  out.reserve(groups_.size());
  for (const Group& g : groups_) out.push_back(GroupEntry{g.name, g.address, false, {}});
  return out;
}

RegistryOutput Registry::tick(int64_t now_ms) {
  RegistryOutput out;
  std::vector<std::string> expired;
  for (const Group& g : groups_) {
    if (g.deadline_ms && *g.deadline_ms <= now_ms) {
      expired.push_back(g.address);
      if (g.heartbeat)
        out.notes.push_back(fmt::format("dropped '{}' at {}: no heartbeat for {} ms", g.name,
                                        g.address, config_.expiry_ms));
      else
        out.notes.push_back(
            fmt::format("dropped '{}' at {}: its endpoint is not reachable", g.name, g.address));
    }
  }
  for (const auto& address : expired) remove(address, out);
  return out;
}

RegistryOutput Registry::on_watch_event(std::string_view address, WatchEvent event,
                                        int64_t now_ms) {
  RegistryOutput out;
  Group* group = find_address(address);
  if (group == nullptr || group->heartbeat) return out;  // a late event for a watch already stopped
  if (event == WatchEvent::connected) {
    if (group->watch != Watch::connected)
      out.notes.push_back(
          fmt::format("watching '{}' at {}: connected", group->name, group->address));
    group->watch = Watch::connected;
    group->deadline_ms.reset();
  } else if (group->watch == Watch::connected) {
    group->watch = Watch::lost;
    group->deadline_ms = now_ms + config_.watch_reconnect_ms;
    out.notes.push_back(
        fmt::format("lost the connection to '{}' at {}; dropping it in {} ms "
                    "unless it comes back",
                    group->name, group->address, config_.watch_reconnect_ms));
  }
  return out;
}

std::optional<int64_t> Registry::next_deadline() const {
  std::optional<int64_t> next;
  for (const Group& g : groups_)
    if (g.deadline_ms && (!next || *g.deadline_ms < *next)) next = g.deadline_ms;
  return next;
}

std::vector<std::string> Registry::group_list() const {
  std::vector<std::string> list;
  list.reserve(groups_.size());
  for (const Group& g : groups_) list.push_back(g.name + " - " + g.address);
  return list;
}

}  // namespace gc

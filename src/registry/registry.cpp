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
                                std::string_view peer_address, std::string_view key) {
  RegistryOutput out;
  auto request = decode_registry_request(body);
  if (!request) {
    out.notes.push_back("refused request: " + request.error());
    out.reply = registry_failed(request.error());
    return out;
  }
  Request req{*request, {}, 0, 0, parse_ipv4_peer(peer_address), key};
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
  // A rewatched entry holds no name: it was dropped.
  auto it = std::find_if(groups_.begin(), groups_.end(),
                         [&](const Group& g) { return g.name == name && !is_rewatched(g); });
  return it == groups_.end() ? nullptr : &*it;
}

void Registry::remove(std::string_view address, RegistryOutput& out) {
  auto it = std::find_if(groups_.begin(), groups_.end(),
                         [&](const Group& g) { return g.address == address; });
  if (it == groups_.end()) return;
  stop_watch(*it, out);
  groups_.erase(it);
}

void Registry::start_watch(Group& group, RegistryOutput& out) {
  out.watch.push_back({WatchChange::start, group.address, group.curve ? group.key : ""});
  group.watching = true;
}

void Registry::stop_watch(Group& group, RegistryOutput& out) {
  if (group.watching) out.watch.push_back({WatchChange::stop, group.address, ""});
  group.watching = false;
}

std::string Registry::check_key(const Request& req, std::string_view name) const {
  if (!config_.curve) return {};
  if (req.key.empty()) return "the request came without an authenticated key";
  if (auto it = bindings_.find(std::string(name)); it != bindings_.end() && it->second != req.key)
    return fmt::format(
        "group name '{}' is bound to another key: only the key that first registered it may "
        "register, heartbeat or unregister it (the registry's operator can release the name: "
        "message_server --release NAME)",
        name);
  if (allowed_ && !allowed_->count({std::string(req.key), std::string(name)}))
    return fmt::format(
        "the key {} may not register '{}': the registry's groups file does not list that key "
        "with that name",
        req.key, name);
  return {};
}

int64_t Registry::drop_bound_ms() const {
  return std::max(config_.expiry_ms, config_.watch_connect_ms);
}

std::string Registry::check_registration(const Request& req) const {
  if (req.decoded.curve && !config_.curve)
    return "a curve group must register with a registry in curve mode (this registry is open: "
           "run message_server --security curve, and give the group the registry's public key "
           "with --server-key)";
  if (config_.curve) {
    const std::string& name = req.decoded.group_name;
    if (name.front() == ' ' || name.back() == ' ')
      return "field 'group_name': in curve mode a name may not begin or end with a blank (names "
             "are kept in the registry's files, one per line)";
    if (auto why = check_key(req, name); !why.empty()) return why;
  }
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
  const bool curve = req.decoded.curve;
  auto refuse = [&](const std::string& error) {
    out.reply = registry_failed(error);
    out.notes.push_back(fmt::format("refused register of '{}' at {} from {}: {}", name, address,
                                    peer_text(req.peer), error));
  };
  if (auto why = check_registration(req); !why.empty()) return refuse(why);
  const uint32_t peer = *req.peer;

  Group* group = find_address(address);
  // A watched group whose connection was lost is gone (a rewatched one was
  // dropped): its address is free for a new registration. Any other entry is
  // live and keeps its name and its registrant until it is dropped or
  // unregisters.
  const bool taken_over = group && !group->heartbeat &&
                          (group->watch == Watch::lost || group->watch == Watch::rewatched);
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
    if (config_.curve && group->key != req.key)
      return refuse(fmt::format(
          "group '{}' at {} is live and was registered with another key; only that key may "
          "register it again while it is alive",
          name, address));
  }
  if (const Group* holder = find_name(name); holder && holder != group)
    return refuse(fmt::format(
        "group name '{}' is already served at {}; choose another name, or register again once "
        "that group is gone (a stopped group is dropped within {} ms)",
        name, holder->address, drop_bound_ms()));
  // Rewatched entries count for neither cap: they yield their slots below.
  if (!group && size() >= config_.max_groups)
    return refuse(fmt::format("the registry holds {} groups, its limit (--max-groups); try later",
                              config_.max_groups));
  if (!group || group->registrant != peer || is_rewatched(*group)) {
    auto from_peer =
        static_cast<size_t>(std::count_if(groups_.begin(), groups_.end(), [&](const Group& g) {
          return g.registrant == peer && !is_rewatched(g) && &g != group;
        }));
    if (from_peer >= config_.max_groups_per_source)
      return refuse(fmt::format(
          "{} groups are registered from {}, the limit per address (--max-groups-per-source)",
          config_.max_groups_per_source, ipv4_text(peer)));
  }

  if (config_.curve && !bindings_.count(name) && bindings_.size() >= config_.max_bound_names)
    return refuse(fmt::format(
        "the registry has bound {} names to keys, its limit (--max-bound-names); its operator "
        "can release unused names (message_server --release NAME)",
        bindings_.size()));
  if (config_.curve && !bindings_.count(name)) {
    bindings_.emplace(name, std::string(req.key));
    out.bindings_changed = true;
    out.notes.push_back(fmt::format("bound the name '{}' to the key {}", name, req.key));
  }

  // Accepted. A rewatched entry of this name elsewhere yields it, and the
  // oldest rewatched entry yields its slot when the registry is full.
  if (auto it = std::find_if(groups_.begin(), groups_.end(),
                             [&](const Group& g) {
                               return is_rewatched(g) && g.name == name && g.address != address;
                             });
      it != groups_.end()) {
    out.notes.push_back(fmt::format("forgot the dropped '{}' at {}: the name is registered at {}",
                                    it->name, it->address, address));
    remove(std::string(it->address), out);
  }
  if (!group && groups_.size() >= config_.max_groups)
    forget_oldest_rewatched(out, "its slot is taken by a new group (--max-groups)");
  group = find_address(address);

  std::string kind = heartbeat ? "heartbeat" : "watched endpoint";
  if (group == nullptr || taken_over) {
    if (group == nullptr) {
      group = &groups_.emplace_back();
    } else {
      // Its old process is gone; the watch's connection belonged to it.
      stop_watch(*group, out);
      *group = Group{};
    }
    group->address = address;
    group->name = name;
    group->registrant = peer;
    group->heartbeat = heartbeat;
    group->key = std::string(req.key);
    group->curve = curve;
    group->proven = !curve;
    if (curve) group->proof_deadline_ms = now_ms + config_.watch_connect_ms;
    if (heartbeat) {
      group->deadline_ms = now_ms + config_.expiry_ms;
      if (curve) start_watch(*group, out);  // the proof; stopped once it succeeds
    } else {
      group->deadline_ms = now_ms + config_.watch_connect_ms;
      start_watch(*group, out);
    }
  } else {
    // Registered again by its own registrant (and key): e.g. a restart at the same address.
    if (group->curve != curve) {
      // It serves in another mode now: a curve group proves its key before it is listed.
      group->curve = curve;
      group->proven = !curve;
      group->proof_deadline_ms.reset();
      if (curve) group->proof_deadline_ms = now_ms + config_.watch_connect_ms;
      if (group->watching || curve) {
        stop_watch(*group, out);
        if (curve || !group->heartbeat) start_watch(*group, out);
      }
    }
    if (group->heartbeat) {
      if (heartbeat) {
        group->deadline_ms = now_ms + config_.expiry_ms;
      } else {
        group->heartbeat = false;
        group->watch = Watch::pending;
        group->deadline_ms = now_ms + config_.watch_connect_ms;
        stop_watch(*group, out);
        start_watch(*group, out);
      }
    } else {
      // A watched group stays watched: its connection, not a request, proves it alive.
      kind = "watched endpoint, kept";
      if (group->watch == Watch::pending) {
        // Not reachable yet: a fresh connection for the process registering now.
        stop_watch(*group, out);
        start_watch(*group, out);
        group->deadline_ms = now_ms + config_.watch_connect_ms;
      }
    }
  }

  out.stdout_lines.push_back("JOIN REQUEST FROM " + address);
  out.stdout_lines.push_back("SUCCESS");
  out.reply = heartbeat ? registry_register_success(config_.heartbeat_ms, config_.expiry_ms)
                        : std::string(kReferenceRegisterSuccess);
  out.notes.push_back(fmt::format("registered '{}' at {} from {} ({}{}{})", name, address,
                                  ipv4_text(peer), kind, req.key.empty() ? "" : ", key ", req.key));
  if (curve && !group->proven)
    out.notes.push_back(
        fmt::format("'{}' at {} is listed once a CURVE handshake with it proves the key {}", name,
                    address, group->key));
}

void Registry::on_heartbeat(const Request& req, int64_t now_ms, RegistryOutput& out) {
  const std::string& name = req.decoded.group_name;
  const std::string& address = req.address;
  Group* group = find_address(address);
  if (group == nullptr || group->name != name || is_rewatched(*group)) {
    out.reply = registry_reregister(
        fmt::format("not registered: no live group '{}' at {}; register again", name, address));
    out.notes.push_back(
        fmt::format("heartbeat from unknown '{}' at {}; asked to register", name, address));
    return;
  }
  if (config_.curve && group->key != req.key) {
    std::string error = fmt::format(
        "heartbeat for '{}' at {} refused: it is not sent with the key that registered the group",
        name, address);
    out.reply = registry_failed(error);
    out.notes.push_back(error);
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
    if (config_.curve && group->key != req.key) {
      std::string error = fmt::format(
          "unregister of '{}' at {} refused: it is not sent with the key that registered the "
          "group",
          name, address);
      out.reply = registry_failed(error);
      out.notes.push_back(error);
      return;
    }
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
  for (const Group& g : groups_)
    if (g.proven && !is_rewatched(g))
      out.push_back(GroupEntry{g.name, g.address, g.curve, g.curve ? g.key : ""});
  return out;
}

RegistryOutput Registry::tick(int64_t now_ms) {
  RegistryOutput out;
  std::vector<std::string> expired, lost;
  for (const Group& g : groups_) {
    if (!g.proven && g.proof_deadline_ms && *g.proof_deadline_ms <= now_ms) {
      expired.push_back(g.address);
      out.notes.push_back(fmt::format(
          "dropped '{}' at {}: no CURVE handshake with the key {} there within {} ms (nothing "
          "serves there, or not with that key); it was never listed",
          g.name, g.address, g.key, config_.watch_connect_ms));
    } else if (g.deadline_ms && *g.deadline_ms <= now_ms) {
      // A lost watched group may only be paused: it is rewatched, not forgotten.
      (!g.heartbeat && g.watch == Watch::lost ? lost : expired).push_back(g.address);
      if (g.heartbeat) {
        out.notes.push_back(fmt::format("dropped '{}' at {}: no heartbeat for {} ms", g.name,
                                        g.address, config_.expiry_ms));
      } else if (g.watch == Watch::lost) {
        // rewatch() says what it does.
      } else if (g.watch == Watch::rewatched) {
        out.notes.push_back(
            fmt::format("forgot the dropped '{}' at {}: it did not answer for {} ms", g.name,
                        g.address, config_.rewatch_ms));
      } else {
        out.notes.push_back(
            fmt::format("dropped '{}' at {}: its endpoint is not reachable", g.name, g.address));
      }
    }
  }
  for (const auto& address : expired) remove(address, out);
  for (const auto& address : lost) rewatch(address, now_ms, out);
  return out;
}

void Registry::rewatch(std::string_view address, int64_t now_ms, RegistryOutput& out) {
  Group* group = find_address(address);
  if (group == nullptr) return;
  if (config_.rewatch_ms <= 0 || config_.max_rewatched == 0) {
    out.notes.push_back(fmt::format("dropped '{}' at {}: its endpoint is not reachable",
                                    group->name, group->address));
    remove(address, out);
    return;
  }
  while (rewatched() >= config_.max_rewatched)
    forget_oldest_rewatched(out, "more dropped groups are watched (--max-rewatched)");
  group = find_address(address);  // forgetting another entry moved the vector's elements
  group->watch = Watch::rewatched;
  group->deadline_ms = now_ms + config_.rewatch_ms;
  out.notes.push_back(fmt::format(
      "dropped '{}' at {}: its endpoint is not reachable; watching it for {} ms and listing it "
      "again if it answers",
      group->name, group->address, config_.rewatch_ms));
}

void Registry::forget_oldest_rewatched(RegistryOutput& out, std::string_view why) {
  auto oldest = groups_.end();
  for (auto it = groups_.begin(); it != groups_.end(); ++it)
    if (is_rewatched(*it) && (oldest == groups_.end() || *it->deadline_ms < *oldest->deadline_ms))
      oldest = it;
  if (oldest == groups_.end()) return;
  out.notes.push_back(
      fmt::format("forgot the dropped '{}' at {}: {}", oldest->name, oldest->address, why));
  remove(std::string(oldest->address), out);
}

RegistryOutput Registry::on_watch_event(std::string_view address, WatchEvent event,
                                        int64_t now_ms) {
  RegistryOutput out;
  Group* group = find_address(address);
  if (group == nullptr || !group->watching) return out;  // a late event for a watch already stopped
  if (!group->proven && event == WatchEvent::connected) {
    group->proven = true;
    group->proof_deadline_ms.reset();
    out.notes.push_back(fmt::format("'{}' at {} proved its key {}: listed", group->name,
                                    group->address, group->key));
    // A heartbeating group's liveness is its heartbeats: the proof's connection may close.
    if (group->heartbeat) stop_watch(*group, out);
  }
  if (group->heartbeat) return out;
  if (event == WatchEvent::connected) {
    if (group->watch == Watch::rewatched)
      out.notes.push_back(
          fmt::format("'{}' at {} answers again: listed again", group->name, group->address));
    else if (group->watch != Watch::connected)
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
  auto consider = [&](const std::optional<int64_t>& at) {
    if (at && (!next || *at < *next)) next = at;
  };
  for (const Group& g : groups_) {
    consider(g.deadline_ms);
    if (!g.proven) consider(g.proof_deadline_ms);
  }
  return next;
}

RegistryOutput Registry::set_bindings(NameBindings bindings) {
  RegistryOutput out;
  bindings_ = std::move(bindings);
  enforce_keys(out);
  return out;
}

RegistryOutput Registry::set_allowed(std::optional<AllowedNames> allowed) {
  RegistryOutput out;
  allowed_ = std::move(allowed);
  enforce_keys(out);
  return out;
}

void Registry::enforce_keys(RegistryOutput& out) {
  if (!config_.curve) return;
  std::vector<std::string> gone;
  for (const Group& g : groups_) {
    auto bound = bindings_.find(g.name);
    std::string why;
    if (bound != bindings_.end() && bound->second != g.key)
      why = "its name is now bound to another key";
    else if (allowed_ && !allowed_->count({g.key, g.name}))
      why = "the groups file no longer lists its key with its name";
    if (is_rewatched(g) && why.empty() && bound == bindings_.end()) why = "its name was released";
    if (!why.empty()) {
      gone.push_back(g.address);
      out.notes.push_back(fmt::format("{} '{}' at {}: {}",
                                      is_rewatched(g) ? "forgot the dropped" : "dropped", g.name,
                                      g.address, why));
    } else if (bound == bindings_.end()) {
      // A live group keeps its name: release a name once its group is gone.
      bindings_.emplace(g.name, g.key);
      out.bindings_changed = true;
      out.notes.push_back(fmt::format("'{}' at {} is live: its name stays bound to the key {}",
                                      g.name, g.address, g.key));
    }
  }
  for (const auto& address : gone) remove(address, out);
}

size_t Registry::size() const {
  return static_cast<size_t>(std::count_if(groups_.begin(), groups_.end(),
                                           [](const Group& g) { return !is_rewatched(g); }));
}

size_t Registry::rewatched() const {
  return groups_.size() - size();
}

std::vector<std::string> Registry::addresses() const {
  std::vector<std::string> out;
  out.reserve(groups_.size());
  for (const Group& g : groups_) out.push_back(g.address);
  return out;
}

std::vector<std::string> Registry::group_list() const {
  std::vector<std::string> list;
  list.reserve(groups_.size());
  for (const Group& g : groups_)
    if (g.proven && !is_rewatched(g)) list.push_back(g.name + " - " + g.address);
  return list;
}

}  // namespace gc

#include "registry/registry.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace gc {

Registry::Registry(RegistryConfig config) : config_(config) {}

const Registry::Command Registry::kCommands[] = {
    {RegistryAction::register_group, &Registry::on_register},
    {RegistryAction::heartbeat, &Registry::on_heartbeat},
    {RegistryAction::unregister, &Registry::on_unregister},
    {RegistryAction::get_group_list, &Registry::on_get_group_list},
};

RegistryOutput Registry::handle(std::string_view body, int64_t now_ms) {
  RegistryOutput out;
  auto request = decode_registry_request(body);
  if (!request) {
    out.notes.push_back("refused request: " + request.error());
    out.reply = registry_failed(request.error());
    return out;
  }
  for (const auto& cmd : kCommands) {
    if (cmd.action == request->action) {
      (this->*cmd.handler)(*request, now_ms, out);
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

void Registry::on_register(const RegistryRequest& req, int64_t now_ms, RegistryOutput& out) {
  const std::string& name = req.group_name;
  const std::string& address = req.ip_port;
  const bool heartbeat = req.heartbeat;
  if (const Group* holder = find_name(name); holder && holder->address != address) {
    std::string error = fmt::format("group name '{}' is already served at {}; choose another name",
                                    name, holder->address);
    out.reply = registry_failed(error);
    out.notes.push_back("refused register from " + address + ": " + error);
    return;
  }

  Group* group = find_address(address);
  if (group == nullptr) {
    groups_.push_back(Group{address, name, false, false, std::nullopt});
    group = &groups_.back();
  } else {
    // Two live processes cannot hold one port, so the older holder is gone; a
    // watched one's connection belongs to that old process and is restarted.
    if (!group->heartbeat) out.watch.push_back({WatchChange::stop, address});
    group->name = name;
  }
  group->heartbeat = heartbeat;
  group->connected = false;
  if (heartbeat) {
    group->deadline_ms = now_ms + config_.expiry_ms;
  } else {
    group->deadline_ms = now_ms + config_.watch_connect_ms;
    out.watch.push_back({WatchChange::start, address});
  }

  out.stdout_lines.push_back("JOIN REQUEST FROM " + address);
  out.stdout_lines.push_back("SUCCESS");
  out.reply = heartbeat ? registry_register_success(config_.heartbeat_ms, config_.expiry_ms)
                        : std::string(kReferenceRegisterSuccess);
  out.notes.push_back(fmt::format("registered '{}' at {} ({})", name, address,
                                  heartbeat ? "heartbeat" : "watched endpoint"));
}

void Registry::on_heartbeat(const RegistryRequest& req, int64_t now_ms, RegistryOutput& out) {
  const std::string& name = req.group_name;
  const std::string& address = req.ip_port;
  Group* group = find_address(address);
  if (group == nullptr || group->name != name) {
    out.reply = registry_reregister(
        fmt::format("not registered: no live group '{}' at {}; register again", name, address));
    out.notes.push_back(
        fmt::format("heartbeat from unknown '{}' at {}; asked to register", name, address));
    return;
  }
  if (!group->heartbeat) {
    // It proves itself alive by heartbeats now; the endpoint watch is no longer needed.
    out.watch.push_back({WatchChange::stop, address});
    group->heartbeat = true;
    group->connected = false;
  }
  group->deadline_ms = now_ms + config_.expiry_ms;
  out.reply = registry_success();
}

void Registry::on_unregister(const RegistryRequest& req, int64_t, RegistryOutput& out) {
  const std::string& name = req.group_name;
  const std::string& address = req.ip_port;
  out.stdout_lines.push_back("LEAVE REQUEST FROM " + address);
  // Only the holder of the name may remove it; a stale process's unregister
  // must not remove the group that took over its address.
  if (const Group* group = find_address(address); group && group->name == name) {
    remove(address, out);
    out.notes.push_back(fmt::format("unregistered '{}' at {}", name, address));
  }
  out.reply = registry_success();
}

void Registry::on_get_group_list(const RegistryRequest& req, int64_t, RegistryOutput& out) {
  out.stdout_lines.push_back("GROUP LIST REQUEST FROM " + req.user_uuid);
  out.reply = encode_group_list(group_list());
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
    if (!group->connected)
      out.notes.push_back(
          fmt::format("watching '{}' at {}: connected", group->name, group->address));
    group->connected = true;
    group->deadline_ms.reset();
  } else if (group->connected) {
    group->connected = false;
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

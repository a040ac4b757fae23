#include "groupchat/registry.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "groupchat/endpoint.hpp"

namespace gc {

using nlohmann::json;
using ordered = nlohmann::ordered_json;

namespace {

std::string dump(const ordered& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string success_reply() {
  return dump(ordered{{"response", "SUCCESS"}});
}

bool has_control_char(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// Content rules for each string field a request may carry; empty when valid.
std::string check_field(std::string_view field, const std::string& value) {
  if (field == "group_name") {
    if (value.empty()) return "field 'group_name' must not be empty";
    if (value.size() > kMaxGroupNameBytes)
      return fmt::format("field 'group_name' is {} bytes, over the limit of {} bytes", value.size(),
                         kMaxGroupNameBytes);
    if (has_control_char(value)) return "field 'group_name' must not contain control characters";
  } else if (field == "ip_port") {
    if (value.size() > kMaxIpPortBytes)
      return fmt::format("field 'ip_port' is {} bytes, over the limit of {} bytes", value.size(),
                         kMaxIpPortBytes);
    if (value.rfind("tcp://", 0) == 0)
      return "field 'ip_port' must be HOST:PORT without 'tcp://', e.g. 127.0.0.1:5560";
    auto ep = parse_endpoint(value);
    if (!ep) return "field 'ip_port': " + ep.error();
    if (ep->host == "*")
      return "field 'ip_port' must name a host others can connect to, not '*' (e.g. "
             "127.0.0.1:5560)";
  } else if (field == "user_uuid") {
    if (value.empty()) return "field 'user_uuid' must not be empty";
    if (value.size() > kMaxUserUuidBytes)
      return fmt::format("field 'user_uuid' is {} bytes, over the limit of {} bytes", value.size(),
                         kMaxUserUuidBytes);
  }
  return {};
}

}  // namespace

Registry::Registry(RegistryConfig config) : config_(config) {}

std::string Registry::failed_reply(std::string_view error) {
  return dump(ordered{{"response", "FAILED"}, {"error", error}});
}

// The action table: one row per request; adding an action is one row and one handler.
const std::vector<Registry::Command>& Registry::commands() {
  static const std::vector<Command> table = {
      {"register", &Registry::on_register, {"group_name", "ip_port"}},
      {"heartbeat", &Registry::on_heartbeat, {"group_name", "ip_port"}},
      {"unregister", &Registry::on_unregister, {"group_name", "ip_port"}},
      {"get_group_list", &Registry::on_get_group_list, {"user_uuid"}},
  };
  return table;
}

RegistryOutput Registry::handle(std::string_view body, int64_t now_ms) {
  json request;
  try {
    request = json::parse(body);
  } catch (const json::parse_error& e) {
    RegistryOutput out;
    // nlohmann's text starts with "[json.exception.parse_error.101] "; the rest is what matters.
    std::string what = e.what();
    auto close = what.find("] ");
    if (close != std::string::npos) what = what.substr(close + 2);
    out.reply = failed_reply("malformed JSON: " + what);
    out.notes.push_back("refused malformed JSON request");
    return out;
  }
  return handle_request(request, now_ms);
}

RegistryOutput Registry::handle_request(const json& request, int64_t now_ms) {
  RegistryOutput out;
  auto refuse = [&](std::string error) {
    out.notes.push_back("refused request: " + error);
    out.reply = failed_reply(error);
    return out;
  };
  if (!request.is_object()) return refuse("request must be a JSON object");
  auto action_it = request.find("action");
  if (action_it == request.end()) return refuse("missing field 'action'");
  if (!action_it->is_string()) return refuse("field 'action' must be a string");
  const auto& action = action_it->get_ref<const std::string&>();

  const auto& table = commands();
  auto cmd = std::find_if(table.begin(), table.end(),
                          [&](const Command& c) { return c.action == action; });
  if (cmd == table.end()) {
    std::string shown = action.size() > 64 ? action.substr(0, 64) + "..." : action;
    return refuse(fmt::format(
        "unknown action '{}'; expected register, heartbeat, unregister or get_group_list", shown));
  }
  for (std::string_view field : cmd->fields) {
    auto it = request.find(std::string(field));
    if (it == request.end()) return refuse(fmt::format("missing field '{}'", field));
    if (!it->is_string()) return refuse(fmt::format("field '{}' must be a string", field));
    if (auto why = check_field(field, it->get_ref<const std::string&>()); !why.empty())
      return refuse(why);
  }
  (this->*(cmd->handler))(request, now_ms, out);
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

void Registry::on_register(const json& req, int64_t now_ms, RegistryOutput& out) {
  const auto& name = req["group_name"].get_ref<const std::string&>();
  const auto& address = req["ip_port"].get_ref<const std::string&>();
  bool heartbeat = false;
  if (auto it = req.find("heartbeat"); it != req.end() && !it->is_null()) {
    if (!it->is_boolean()) {
      out.reply = failed_reply("field 'heartbeat' must be true or false");
      out.notes.push_back("refused register from " + address + ": heartbeat not a boolean");
      return;
    }
    heartbeat = it->get<bool>();
  }
  if (const Group* holder = find_name(name); holder && holder->address != address) {
    std::string error = fmt::format("group name '{}' is already served at {}; choose another name",
                                    name, holder->address);
    out.reply = failed_reply(error);
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
  if (heartbeat) {
    out.reply = dump(ordered{{"response", "SUCCESS"},
                             {"heartbeat_ms", config_.heartbeat_ms},
                             {"expiry_ms", config_.expiry_ms}});
  } else {
    out.reply = "SUCCESS";  // the reference's bare string, which reference groups compare exactly
  }
  out.notes.push_back(fmt::format("registered '{}' at {} ({})", name, address,
                                  heartbeat ? "heartbeat" : "watched endpoint"));
}

void Registry::on_heartbeat(const json& req, int64_t now_ms, RegistryOutput& out) {
  const auto& name = req["group_name"].get_ref<const std::string&>();
  const auto& address = req["ip_port"].get_ref<const std::string&>();
  Group* group = find_address(address);
  if (group == nullptr || group->name != name) {
    out.reply = dump(ordered{{"response", "FAILED"},
                             {"error", fmt::format("not registered: no live group '{}' at {}; "
                                                   "register again",
                                                   name, address)},
                             {"reregister", true}});
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
  out.reply = success_reply();
}

void Registry::on_unregister(const json& req, int64_t, RegistryOutput& out) {
  const auto& name = req["group_name"].get_ref<const std::string&>();
  const auto& address = req["ip_port"].get_ref<const std::string&>();
  out.stdout_lines.push_back("LEAVE REQUEST FROM " + address);
  // Only the holder of the name may remove it; a stale process's unregister
  // must not remove the group that took over its address.
  if (const Group* group = find_address(address); group && group->name == name) {
    remove(address, out);
    out.notes.push_back(fmt::format("unregistered '{}' at {}", name, address));
  }
  out.reply = success_reply();
}

void Registry::on_get_group_list(const json& req, int64_t, RegistryOutput& out) {
  out.stdout_lines.push_back("GROUP LIST REQUEST FROM " +
                             req["user_uuid"].get_ref<const std::string&>());
  nlohmann::json list = nlohmann::json::array();
  for (auto& entry : group_list()) list.push_back(std::move(entry));
  out.reply = list.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
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

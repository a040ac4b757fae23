#include "protocol/registry_protocol.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/endpoint.hpp"
#include "core/json_text.hpp"
#include "core/visible_text.hpp"
#include "protocol/json_parse.hpp"
#include "protocol/limits.hpp"

namespace gc {

using nlohmann::json;
using ordered = nlohmann::ordered_json;

namespace {

std::string dump(const ordered& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
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
    if (without_tcp_prefix(value).size() != value.size())
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

// Each action and the string fields it requires, checked in this order.
struct ActionSpec {
  std::string_view name;
  RegistryAction action;
  std::vector<std::string_view> fields;
};
const std::vector<ActionSpec>& action_specs() {
  static const std::vector<ActionSpec> specs = {
      {"register", RegistryAction::register_group, {"group_name", "ip_port"}},
      {"heartbeat", RegistryAction::heartbeat, {"group_name", "ip_port"}},
      {"unregister", RegistryAction::unregister, {"group_name", "ip_port"}},
      {"get_group_list", RegistryAction::get_group_list, {"user_uuid"}},
      {"list_groups", RegistryAction::list_groups, {}},
  };
  return specs;
}

std::string* field_slot(RegistryRequest& r, std::string_view field) {
  if (field == "group_name") return &r.group_name;
  if (field == "ip_port") return &r.ip_port;
  return &r.user_uuid;
}

std::string_view action_name(RegistryAction action) {
  for (const auto& spec : action_specs())
    if (spec.action == action) return spec.name;
  return "?";
}

}  // namespace

Result<RegistryRequest> decode_registry_request(std::string_view body) {
  using R = Result<RegistryRequest>;
  auto parsed = parse_untrusted_json(body);
  if (!parsed) return R::error("malformed JSON: " + parsed.error());
  const json& request = *parsed;
  if (!request.is_object()) return R::error("request must be a JSON object");
  auto action_it = request.find("action");
  if (action_it == request.end()) return R::error("missing field 'action'");
  if (!action_it->is_string()) return R::error("field 'action' must be a string");
  const auto& action = action_it->get_ref<const std::string&>();

  const auto& specs = action_specs();
  auto spec = std::find_if(specs.begin(), specs.end(),
                           [&](const ActionSpec& s) { return s.name == action; });
  if (spec == specs.end()) {
    std::string shown = action.size() > 64 ? action.substr(0, 64) + "..." : action;
    return R::error(fmt::format(
        "unknown action '{}'; expected register, heartbeat, unregister, get_group_list or "
        "list_groups",
        shown));
  }
  RegistryRequest out;
  out.action = spec->action;
  for (std::string_view field : spec->fields) {
    auto it = request.find(std::string(field));
    if (it == request.end()) return R::error(fmt::format("missing field '{}'", field));
    if (!it->is_string()) return R::error(fmt::format("field '{}' must be a string", field));
    const auto& value = it->get_ref<const std::string&>();
    if (auto why = check_field(field, value); !why.empty()) return R::error(why);
    *field_slot(out, field) = value;
  }
  if (out.action == RegistryAction::register_group) {
    if (auto it = request.find("heartbeat"); it != request.end() && !it->is_null()) {
      if (!it->is_boolean()) return R::error("field 'heartbeat' must be true or false");
      out.heartbeat = it->get<bool>();
    }
    if (auto it = request.find("security"); it != request.end() && !it->is_null()) {
      if (!it->is_string() || (*it != "open" && *it != "curve"))
        return R::error("field 'security' must be \"open\" or \"curve\"");
      out.curve = *it == "curve";
    }
  }
  return out;
}

std::string make_registry_request(RegistryAction action, std::string_view group_name,
                                  std::string_view ip_port, bool heartbeat_flag, bool curve) {
  std::string out = R"({"action":)";
  append_json_string(out, action_name(action));
  out += R"(,"group_name":)";
  append_json_string(out, group_name);
  out += R"(,"ip_port":)";
  append_json_string(out, ip_port);
  if (heartbeat_flag) out += R"(,"heartbeat":true)";
  if (curve && action == RegistryAction::register_group) out += R"(,"security":"curve")";
  out += '}';
  return out;
}

std::string make_list_groups_request() {
  return R"({"action":"list_groups"})";
}

std::string make_group_list_request(std::string_view user_uuid) {
  std::string out = R"({"action":"get_group_list","user_uuid":)";
  append_json_string(out, user_uuid);
  out += '}';
  return out;
}

std::string registry_success() {
  return dump(ordered{{"response", "SUCCESS"}});
}

std::string registry_failed(std::string_view error) {
  return dump(ordered{{"response", "FAILED"}, {"error", error}});
}

std::string registry_register_success(int64_t heartbeat_ms, int64_t expiry_ms) {
  return dump(
      ordered{{"response", "SUCCESS"}, {"heartbeat_ms", heartbeat_ms}, {"expiry_ms", expiry_ms}});
}

std::string registry_reregister(std::string_view error) {
  return dump(ordered{{"response", "FAILED"}, {"error", error}, {"reregister", true}});
}

std::string encode_group_list(const std::vector<std::string>& groups) {
  return dump(ordered(groups));
}

std::string encode_group_entries(const std::vector<GroupEntry>& groups) {
  ordered list = ordered::array();
  for (const auto& g : groups) {
    ordered entry{{"name", g.name},
                  {"address", g.address},
                  {"security", g.curve ? "curve" : "open"},
                  {"public_key", nullptr}};
    if (!g.public_key.empty()) entry["public_key"] = g.public_key;
    list.push_back(std::move(entry));
  }
  return dump(ordered{{"response", "SUCCESS"}, {"groups", std::move(list)}});
}

RegisterReply decode_register_reply(std::string_view body) {
  RegisterReply r;
  if (body == kReferenceRegisterSuccess) {
    r.accepted = true;
    r.reference = true;
    return r;
  }
  auto parsed = parse_untrusted_json(body);
  auto unexpected = [&] { return "unexpected reply: " + visible_text(body.substr(0, 200)); };
  if (!parsed || !parsed->is_object()) {
    r.error = unexpected();
    return r;
  }
  const json& j = *parsed;
  auto resp = j.find("response");
  if (resp != j.end() && resp->is_string() && *resp == "SUCCESS") {
    r.accepted = true;
    if (auto it = j.find("heartbeat_ms"); it != j.end() && it->is_number_integer()) {
      int64_t ms = it->get<int64_t>();
      if (ms >= 50 && ms <= 60000) r.heartbeat_ms = ms;
    }
    return r;
  }
  auto e = j.find("error");
  r.error = e != j.end() && e->is_string() ? visible_text(e->get<std::string>()) : unexpected();
  return r;
}

HeartbeatReply decode_heartbeat_reply(std::string_view body) {
  HeartbeatReply r;
  auto parsed = parse_untrusted_json(body);
  if (!parsed || !parsed->is_object()) return r;
  const json& j = *parsed;
  auto resp = j.find("response");
  if (resp == j.end() || !resp->is_string()) return r;
  if (*resp != "FAILED") {
    r.verdict = HeartbeatVerdict::ok;
    return r;
  }
  auto again = j.find("reregister");
  if (again != j.end() && again->is_boolean() && again->get<bool>()) {
    r.verdict = HeartbeatVerdict::reregister;
    return r;
  }
  r.verdict = HeartbeatVerdict::refused;
  auto e = j.find("error");
  r.error =
      e != j.end() && e->is_string() ? visible_text(e->get<std::string>()) : "no reason given";
  return r;
}

GroupListReply decode_group_list(std::string_view body) {
  GroupListReply r;
  auto parsed = parse_untrusted_json(body);
  if (!parsed) {
    r.error = "not JSON: " + parsed.error();
    return r;
  }
  const json& j = *parsed;
  if (j.is_array()) {
    r.groups.reserve(j.size());
    for (const auto& g : j) {
      if (!g.is_string()) {
        r.groups.clear();
        r.error = "a group list entry is not a string";
        return r;
      }
      r.groups.push_back(g.get<std::string>());
    }
    r.kind = GroupListReply::Kind::list;
    return r;
  }
  if (j.is_object()) {
    auto resp = j.find("response");
    if (resp != j.end() && resp->is_string() && *resp == "FAILED") {
      r.kind = GroupListReply::Kind::refused;
      auto e = j.find("error");
      if (e != j.end() && e->is_string()) r.error = e->get<std::string>();
      return r;
    }
  }
  r.error = "expected a JSON list of groups";
  return r;
}

GroupEntriesReply decode_group_entries(std::string_view body) {
  GroupEntriesReply r;
  auto parsed = parse_untrusted_json(body);
  if (!parsed) {
    r.error = "not JSON: " + parsed.error();
    return r;
  }
  const json& j = *parsed;
  if (!j.is_object()) {
    r.error = "expected a JSON object";
    return r;
  }
  auto resp = j.find("response");
  if (resp == j.end() || !resp->is_string()) {
    r.error = "no 'response' string";
    return r;
  }
  if (*resp != "SUCCESS") {
    r.kind = GroupEntriesReply::Kind::refused;
    auto e = j.find("error");
    if (e != j.end() && e->is_string()) r.error = visible_text(e->get<std::string>());
    return r;
  }
  auto groups = j.find("groups");
  if (groups == j.end() || !groups->is_array()) {
    r.error = "no 'groups' list";
    return r;
  }
  auto text = [](const json& entry, const char* field) -> const std::string* {
    auto it = entry.find(field);
    return it != entry.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
  };
  for (const auto& entry : *groups) {
    if (!entry.is_object()) {
      r.groups.clear();
      r.error = "a group entry is not an object";
      return r;
    }
    const std::string* name = text(entry, "name");
    const std::string* address = text(entry, "address");
    const std::string* security = text(entry, "security");
    if (!name || !address || !security || (*security != "open" && *security != "curve")) {
      r.groups.clear();
      r.error = "a group entry lacks a name, an address or a security of open or curve";
      return r;
    }
    GroupEntry g{*name, *address, *security == "curve", {}};
    if (const std::string* key = text(entry, "public_key")) g.public_key = *key;
    if (g.curve && g.public_key.size() != 40) {
      r.groups.clear();
      r.error = "the curve group '" + visible_text(g.name) + "' has no 40-character public key";
      return r;
    }
    r.groups.push_back(std::move(g));
  }
  r.kind = GroupEntriesReply::Kind::list;
  return r;
}

}  // namespace gc

#include "client/security.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/visible_text.hpp"
#include "net/curve.hpp"
#include "protocol/limits.hpp"

namespace gc {
namespace fs = std::filesystem;

std::optional<fs::path> user_key_file(const IdentityOptions& options) {
  auto id = identity_file(options);
  if (!id) return std::nullopt;
  return id->parent_path() / "key";
}

std::optional<fs::path> known_registries_file(const IdentityOptions& options) {
  auto id = identity_file(options);
  if (!id) return std::nullopt;
  return id->parent_path() / "known_registries";
}

std::string canonical_address(const Endpoint& endpoint) {
  if (auto ip = parse_ipv4_host(endpoint.host))
    return fmt::format("{}:{}", ipv4_text(*ip), endpoint.port);
  return endpoint.ip_port();
}

std::string canonical_address(std::string_view text) {
  auto ep = parse_endpoint(text);
  if (!ep) return std::string(text);
  return canonical_address(*ep);
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

struct KnownLine {
  std::string address;
  std::string key;
};

// Reads the file: nullopt entries when it does not exist.
Result<std::vector<KnownLine>> read_known(const fs::path& file, std::string* text_out = nullptr) {
  using R = Result<std::vector<KnownLine>>;
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::vector<KnownLine>{};
  std::ifstream in(file, std::ios::binary);
  if (!in) return R::error(fmt::format("cannot read {}: {}", file.string(), std::strerror(errno)));
  std::string text(kMaxClientFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxClientFileBytes)
    return R::error(fmt::format("{} is larger than {} bytes", file.string(), kMaxClientFileBytes));
  std::vector<KnownLine> lines;
  std::istringstream ss(text);
  std::string line;
  for (int no = 1; std::getline(ss, line); ++no) {
    std::string_view l = trim(line);
    if (l.empty() || l.front() == '#') continue;
    const auto space = l.find_first_of(" \t");
    if (space == std::string_view::npos)
      return R::error(fmt::format("{}, line {}: expected 'IP:PORT KEY'", file.string(), no));
    const std::string_view address = l.substr(0, space);
    const std::string_view key = trim(l.substr(space + 1));
    if (!parse_endpoint(address) || !is_z85_key(key))
      return R::error(
          fmt::format("{}, line {}: expected 'IP:PORT KEY' (a 40-character key), got "
                      "'{}'; fix or remove the line",
                      file.string(), no, visible_text(l.substr(0, 100))));
    lines.push_back({canonical_address(address), std::string(key)});
  }
  if (text_out) *text_out = std::move(text);
  return lines;
}

}  // namespace

Result<std::optional<std::string>> remembered_registry_key(const fs::path& file,
                                                           const std::string& address) {
  using R = Result<std::optional<std::string>>;
  auto lines = read_known(file);
  if (!lines) return R::error(lines.error());
  const std::string want = canonical_address(address);
  for (const auto& l : *lines)
    if (l.address == want) return std::optional<std::string>(l.key);
  return std::optional<std::string>();
}

std::optional<std::string> remember_registry_key(const fs::path& file, const std::string& address,
                                                 const std::string& key) {
  std::string text;
  auto lines = read_known(file, &text);
  if (!lines) return lines.error();
  const std::string canonical = canonical_address(address);
  for (const auto& l : *lines)
    if (l.address == canonical) return std::nullopt;
  if (text.empty())
    text =
        "# Registries this user trusts, one 'IP:PORT KEY' a line (the registry's CURVE public\n"
        "# key). Written the first time a registry proves its key; a different key given\n"
        "# later for the same address is refused. Remove a line if that registry's key\n"
        "# really changed.\n";
  if (text.back() != '\n') text += '\n';
  text += canonical + " " + key + "\n";
  std::error_code ec;
  if (file.has_parent_path()) fs::create_directories(file.parent_path(), ec);
  if (ec) return fmt::format("cannot create {}: {}", file.parent_path().string(), ec.message());
  // Public keys only: readable by others, as ssh's known_hosts.
  return replace_file(file, text, 0644);
}

Result<RegistryTrust> resolve_registry_trust(const std::optional<fs::path>& file,
                                             const std::string& address,
                                             const std::optional<std::string>& given,
                                             std::string_view given_what) {
  using R = Result<RegistryTrust>;
  std::optional<std::string> key;
  if (given) {
    auto k = parse_public_key(*given, given_what);
    if (!k) return R::error(k.error());
    key = *k;
  }
  std::optional<std::string> known;
  if (file) {
    auto r = remembered_registry_key(*file, address);
    if (!r) return R::error(r.error());
    known = *r;
  }
  RegistryTrust trust;
  if (!key) {
    trust.key = known;
    trust.remembered = known.has_value();
    return trust;
  }
  if (known && *known != *key) {
    const std::string canonical = canonical_address(address);
    return R::error(fmt::format(
        "THE REGISTRY KEY GIVEN IS NOT THE ONE REMEMBERED FOR {0}.\n"
        "  {1} gives:                 {2}\n"
        "  {3} remembers:  {4}\n"
        "Either this is not the registry you used before (someone may be pretending to be it),\n"
        "or its key really changed. Nothing was sent. If its operator confirms the new key,\n"
        "remove the line '{0} {4}' from {3} and run again;\n"
        "otherwise do not use this registry.",
        canonical, given_what, *key, file->string(), *known));
  }
  trust.key = key;
  trust.remembered = known.has_value();
  trust.remember = !known.has_value() && file.has_value();
  return trust;
}

std::string KeySource::text() const {
  switch (kind) {
    case Kind::given:
      return given_as;
    case Kind::known_registries:
      return "known_registries";
    case Kind::group_key:
      return "--group-key";
    case Kind::registry_list:
      return "the registry's list";
    case Kind::none:
      break;
  }
  return "no key";
}

namespace {

// A curve server that did not complete the handshake for the key expected.
std::string proof_failed(const std::string& who, const LinkContext& c) {
  if (c.registry)
    return fmt::format(
        "{} did not prove it holds the key {} (the CURVE handshake failed): it is not the "
        "registry you know, or its key changed; if its operator confirms a new key, {}",
        who, c.server_key,
        c.key_source.is(KeySource::Kind::known_registries)
            ? fmt::format("remove the line for {} from {} and give the new key with "
                          "--server-key",
                          c.address, c.known_registries.string())
            : fmt::format("give that key with --server-key (the key here came from {})",
                          c.key_source.text()));
  return fmt::format(
      "{} did not prove it holds the key {} (the CURVE handshake failed): it is not the group "
      "{}, or its key changed; {}",
      who, c.server_key,
      c.key_source.is(KeySource::Kind::group_key) ? "whose key you gave" : "the registry lists",
      c.key_source.is(KeySource::Kind::group_key)
          ? "check --group-key (the group's operator prints it with group_server --public-key)"
          : "try again (the registry lists a group's current key)");
}

}  // namespace

std::string describe_link_problem(const LinkEvents& link, const LinkContext& c) {
  const std::string who = fmt::format("the {} at {}", c.registry ? "registry" : "group", c.address);
  const bool curve = !c.server_key.empty();
  switch (link.problem) {
    case LinkProblem::key_refused:
      if (c.registry)
        return fmt::format(
            "{} refused your key {} (CURVE, status {}): ask its operator to allow it", who,
            c.my_key, link.zap_status);
      return fmt::format(
          "{} refused your key {} (CURVE, status {}): ask its operator to add it "
          "(it is printed by user_client whoami)",
          who, c.my_key, link.zap_status);
    case LinkProblem::handshake_failed:
      if (curve) return proof_failed(who, c);
      [[fallthrough]];  // open, we are not asked to prove anything: most likely a curve server
    case LinkProblem::mechanism_mismatch:
      if (!curve) {
        if (c.registry)
          return fmt::format(
              "{} did not accept an unencrypted connection: it may be a curve registry; give its "
              "key with --server-key or GROUPCHAT_SERVER_KEY (its operator prints it with "
              "message_server --public-key)",
              who);
        return fmt::format(
            "{} did not accept an unencrypted connection: it may be a curve group; reach it "
            "through a curve registry (--server-key) or give --group-key",
            who);
      }
      if (c.registry)
        return fmt::format(
            "{} does not speak CURVE (an open server answered), but the registry you know there "
            "proves the key {} ({}): it is not the registry you know, or it now runs open; if "
            "its operator really made it open, remove the line for {} from {}",
            who, c.server_key, c.key_source.text(), c.address, c.known_registries.string());
      return fmt::format(
          "{} does not speak CURVE (an open server answered) although {} gives it the key {}: "
          "{}",
          who, c.key_source.text(), c.server_key,
          c.key_source.is(KeySource::Kind::group_key)
              ? "reach it without --group-key"
              : "it is not the group the registry lists, or it now "
                "runs open");
    case LinkProblem::nothing_listens:
    case LinkProblem::none:
      break;
  }
  return fmt::format("the connection to {} failed", c.address);
}

}  // namespace gc

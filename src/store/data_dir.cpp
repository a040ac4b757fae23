#include "store/data_dir.hpp"

#include <cstdint>
#include <cstdlib>
#include <system_error>

namespace gc {

namespace {
const char* non_empty_env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

constexpr size_t kMaxDirNameBytes = 200;

uint64_t fnv1a(std::string_view text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}
}  // namespace

std::filesystem::path default_data_dir() {
  if (const char* dir = non_empty_env("GROUPCHAT_DATA_DIR")) return dir;
  if (const char* xdg = non_empty_env("XDG_DATA_HOME"))
    return std::filesystem::path(xdg) / "groupchat";
  const char* home = non_empty_env("HOME");
  return std::filesystem::path(home ? home : ".") / ".local" / "share" / "groupchat";
}

std::string group_dir_name(std::string_view name) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "group-";
  for (size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c == 0x7f || c == '/' || c == '\\' || c == '%' || (i == 0 && c == '.')) {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (out.size() > kMaxDirNameBytes) {
    // Cut at a character boundary (not inside a %XX or a UTF-8 sequence).
    size_t cut = kMaxDirNameBytes - 17;
    while (cut > 0 && ((static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80 ||
                       out[cut - 1] == '%' || (cut >= 2 && out[cut - 2] == '%')))
      --cut;
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string hash(16, '0');
    uint64_t h = fnv1a(name);
    for (int i = 15; i >= 0; --i, h >>= 4) hash[static_cast<size_t>(i)] = kDigits[h & 15];
    out = out.substr(0, cut) + "~" + hash;
  }
  return out;
}

std::filesystem::path group_data_dir(const std::filesystem::path& data_dir, std::string_view name) {
  return data_dir / group_dir_name(name);
}

std::filesystem::path legacy_group_data_dir(const std::filesystem::path& data_dir,
                                            const Endpoint& endpoint) {
  return data_dir / (endpoint.host + "_" + std::to_string(endpoint.port));
}

std::filesystem::path group_database(const std::filesystem::path& group_dir) {
  return group_dir / "group.db";
}

Migration migrate_group_data_dir(const std::filesystem::path& group_dir,
                                 const std::vector<std::filesystem::path>& legacy) {
  std::error_code ec;
  if (std::filesystem::exists(group_dir, ec) || ec) return {};
  for (const auto& old : legacy) {
    if (old == group_dir || !std::filesystem::is_directory(old, ec)) continue;
    const bool holds = std::filesystem::exists(group_database(old), ec) ||
                       std::filesystem::exists(old / "key", ec);
    if (!holds) continue;
    std::filesystem::rename(old, group_dir, ec);
    if (ec)
      return {old,
              "cannot move " + old.string() + " to " + group_dir.string() + ": " + ec.message()};
    return {old, {}};
  }
  return {};
}

}  // namespace gc

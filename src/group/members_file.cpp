#include "group/members_file.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/visible_text.hpp"
#include "net/curve.hpp"

namespace gc {

namespace {
constexpr std::uintmax_t kMaxMembersFileBytes = std::uintmax_t{16} << 20;
}

Result<KeySet> parse_members(std::string_view text, std::string_view name) {
  KeySet keys;
  size_t line_no = 0;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string_view::npos) continue;
    line.remove_prefix(start);
    if (line == "#" || line.starts_with("# ") || line.starts_with("#\t")) continue;
    const std::string_view key = line.substr(0, line.find_first_of(" \t"));
    if (!is_z85_key(key))
      return Result<KeySet>::error(
          fmt::format("{}, line {}: '{}' is not a public key (40 characters of Z85, as "
                      "user_client whoami prints it); a comment starts with '# '",
                      name, line_no, visible_text(key.substr(0, 60))));
    keys.emplace(key);
  }
  return keys;
}

Result<KeySet> load_members_file(const std::filesystem::path& file) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  if (ec)
    return Result<KeySet>::error(
        fmt::format("cannot read the members file {}: {}", file.string(), ec.message()));
  if (size > kMaxMembersFileBytes)
    return Result<KeySet>::error(fmt::format("the members file {} is {} bytes, over {} bytes",
                                             file.string(), size, kMaxMembersFileBytes));
  std::ifstream in(file, std::ios::binary);
  if (!in)
    return Result<KeySet>::error(
        fmt::format("cannot read the members file {}: {}", file.string(), std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_members(text.str(), file.string());
}

}  // namespace gc

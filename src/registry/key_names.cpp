#include "registry/key_names.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/atomic_file.hpp"
#include "net/curve.hpp"
#include "protocol/limits.hpp"

namespace gc {

namespace fs = std::filesystem;

namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

}  // namespace

Result<KeyNameLines> load_key_names(const fs::path& file, bool missing_is_empty) {
  using R = Result<KeyNameLines>;
  std::ifstream in(file);
  if (!in) {
    std::error_code ec;
    if (missing_is_empty && !fs::exists(file, ec) && !fs::is_symlink(file, ec))
      return KeyNameLines{};
    return R::error(fmt::format("cannot read {}: {}", file.string(), std::strerror(errno)));
  }
  KeyNameLines lines;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    size_t b = 0;
    while (b < line.size() && is_blank(line[b])) ++b;
    size_t e = line.size();
    while (e > b && is_blank(line[e - 1])) --e;
    const std::string_view l = std::string_view(line).substr(b, e - b);
    if (l.empty() || l.front() == '#') continue;
    size_t k = 0;
    while (k < l.size() && !is_blank(l[k])) ++k;
    const std::string_view key = l.substr(0, k);
    size_t n = k;
    while (n < l.size() && is_blank(l[n])) ++n;
    const std::string_view name = l.substr(n);
    const bool key_ok = is_z85_key(key);
    if (!key_ok || name.empty())
      return R::error(fmt::format(
          "{}, line {}: expected 'KEY NAME' (a 40-character Z85 public key, then the group's "
          "name)",
          file.string(), line_no));
    if (name.size() > kMaxGroupNameBytes)
      return R::error(fmt::format("{}, line {}: the name is over {} bytes", file.string(), line_no,
                                  kMaxGroupNameBytes));
    lines.emplace_back(std::string(key), std::string(name));
  }
  if (in.bad())
    return R::error(fmt::format("cannot read {}: {}", file.string(), std::strerror(errno)));
  return lines;
}

Status save_key_names(const fs::path& file, const std::string& header, const KeyNameLines& lines) {
  std::error_code ec;
  if (file.has_parent_path()) {
    fs::create_directories(file.parent_path(), ec);
    if (ec)
      return Status::error(
          fmt::format("cannot create the directory of {}: {}", file.string(), ec.message()));
  }
  std::string text = header;
  for (const auto& [key, name] : lines) text += key + " " + name + "\n";
  if (auto failure = write_file_atomically(file, text, {.mode = 0600, .exact_mode = true}))
    return Status::error(
        fmt::format("cannot write {}: {}", file.string(), std::strerror(failure->err)));
  return Status::ok();
}

}  // namespace gc

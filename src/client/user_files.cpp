#include "client/user_files.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "core/atomic_file.hpp"
#include "protocol/json_parse.hpp"
#include "protocol/limits.hpp"

namespace gc {
namespace fs = std::filesystem;

std::string generate_uuid_v4() {
  std::random_device rd;
  unsigned char bytes[16];
  for (int i = 0; i < 16; i += 4) {
    uint32_t r = rd();
    for (int k = 0; k < 4; ++k) bytes[i + k] = static_cast<unsigned char>(r >> (8 * k));
  }
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);  // version 4
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(hex[bytes[i] >> 4]);
    out.push_back(hex[bytes[i] & 0x0f]);
  }
  return out;
}

bool is_canonical_uuid(std::string_view t) {
  if (t.size() != 36) return false;
  for (size_t i = 0; i < t.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (t[i] != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(t[i]))) {
      return false;
    }
  }
  return true;
}

std::optional<std::string> check_user_id(std::string_view id) {
  if (id.empty()) return "user id must not be empty";
  if (id.size() > kMaxUserUuidBytes)
    return "user id of " + std::to_string(id.size()) + " bytes is over " +
           std::to_string(kMaxUserUuidBytes);
  for (char c : id)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return "user id must not contain control characters";
  return std::nullopt;
}

namespace {

std::optional<fs::path> config_base(const IdentityOptions& options) {
  if (options.config_home) return *options.config_home;
  if (const char* x = std::getenv("XDG_CONFIG_HOME"); x && x[0] == '/')
    return fs::path(x);  // the XDG spec says to ignore a relative value
  if (const char* h = std::getenv("HOME"); h && h[0] != '\0') return fs::path(h) / ".config";
  return std::nullopt;
}

}  // namespace

std::optional<fs::path> identity_file(const IdentityOptions& options) {
  auto base = config_base(options);
  if (!base) return std::nullopt;
  return *base / "groupchat" / "identity";
}

std::optional<fs::path> joined_groups_file(const IdentityOptions& options) {
  auto base = config_base(options);
  if (!base) return std::nullopt;
  return *base / "groupchat" / "groups";
}

std::optional<fs::path> history_file() {
  fs::path base;
  if (const char* x = std::getenv("XDG_STATE_HOME"); x && x[0] == '/') {
    base = x;
  } else if (const char* h = std::getenv("HOME"); h && h[0] != '\0') {
    base = fs::path(h) / ".local" / "state";
  } else {
    return std::nullopt;
  }
  return base / "groupchat" / "history";
}

namespace {

std::string errno_text(int err) {
  return std::strerror(err);
}

std::string serialize(const std::string& uuid, const std::string& name) {
  nlohmann::json j = {{"user_uuid", uuid}};
  if (!name.empty()) j["name"] = name;
  return j.dump(2) + "\n";
}

enum class ReadState { missing, ok, broken };

// Reads at most kMaxClientFileBytes of a small file; false with `why` when it
// cannot be read or is larger.
bool read_small_file(const fs::path& file, std::string& text, std::string& why) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    why = "cannot read " + file.string() + ": " + errno_text(errno);
    return false;
  }
  text.resize(kMaxClientFileBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxClientFileBytes) {
    why = fmt::format("{} is larger than {} bytes", file.string(), kMaxClientFileBytes);
    return false;
  }
  return true;
}

ReadState read_identity(const fs::path& file, std::string& uuid, std::string& name,
                        std::string& why) {
  std::error_code ec;
  if (!fs::exists(file, ec) && !ec) return ReadState::missing;
  std::string text;
  if (!read_small_file(file, text, why)) return ReadState::broken;
  auto parsed = parse_untrusted_json(text);
  if (!parsed || !parsed->is_object()) {
    why = file.string() + " is not a JSON object";
    return ReadState::broken;
  }
  const auto& j = *parsed;
  auto u = j.find("user_uuid");
  if (u == j.end() || !u->is_string() || check_user_id(u->get<std::string>())) {
    why = file.string() + " has no valid \"user_uuid\" string";
    return ReadState::broken;
  }
  uuid = u->get<std::string>();
  if (auto n = j.find("name"); n != j.end() && n->is_string()) name = n->get<std::string>();
  return ReadState::ok;
}

nlohmann::json read_groups_json(const fs::path& file) {
  std::string text, why;
  if (!read_small_file(file, text, why)) return nlohmann::json::object();
  auto parsed = parse_untrusted_json(text);
  if (!parsed || !parsed->is_object()) return nlohmann::json::object();
  return std::move(*parsed);
}

}  // namespace

std::vector<std::string> load_joined_groups(const fs::path& file, const std::string& user_uuid) {
  std::vector<std::string> out;
  auto j = read_groups_json(file);
  auto it = j.find(user_uuid);
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& a : *it)
    if (a.is_string()) out.push_back(a.get<std::string>());
  return out;
}

std::optional<std::string> replace_file(const fs::path& target, const std::string& text,
                                        unsigned mode) {
  // A private file gets exactly its mode, whatever the umask or a stale
  // temporary file had; a public one (0644) leaves the umask its say.
  if (auto failure =
          write_file_atomically(target, text, {.mode = mode, .exact_mode = (mode & 077) == 0}))
    return failure->message;
  return std::nullopt;
}

namespace {

// An exclusive lock on FILE.lock (flock), held while a file is read, changed
// and written back, so that two clients updating it at once both count.
class FileLock {
 public:
  // Waits up to about two seconds for a client that holds it.
  explicit FileLock(const fs::path& file) {
    const fs::path lock = file.string() + ".lock";
    fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd_ < 0) {
      error_ = fmt::format("cannot open {}: {}", lock.string(), errno_text(errno));
      return;
    }
    for (int tries = 0; tries < 200; ++tries) {
      if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return;
      if (errno != EWOULDBLOCK && errno != EINTR) break;
      ::usleep(10'000);
    }
    error_ = fmt::format(
        "{} is being changed by another user_client (its lock {} stayed taken); "
        "try again",
        file.string(), lock.string());
    ::close(fd_);
    fd_ = -1;
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // closing lets go of the lock
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  const std::optional<std::string>& error() const { return error_; }

 private:
  int fd_ = -1;
  std::optional<std::string> error_;
};

}  // namespace

std::optional<std::string> store_joined_group(const fs::path& file, const std::string& user_uuid,
                                              const std::string& address, bool joined) {
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec) return "cannot create " + file.parent_path().string() + ": " + ec.message();
  FileLock lock(file);
  if (lock.error()) return lock.error();
  auto j = read_groups_json(file);
  auto& list = j[user_uuid];
  if (!list.is_array()) list = nlohmann::json::array();
  auto pos = std::find(list.begin(), list.end(), address);
  if (joined == (pos != list.end())) return std::nullopt;  // already as asked
  if (joined)
    list.push_back(address);
  else
    list.erase(pos);
  if (list.empty()) j.erase(user_uuid);
  return replace_file(file, j.dump(2) + "\n");
}

Identity load_identity(const IdentityOptions& options) {
  Identity id;
  if (options.user_id) {
    // Another user's id for this run: the stored identity (and its display
    // name) belongs to someone else, so neither is read nor written.
    id.user_uuid = *options.user_id;
    if (options.name) id.name = *options.name;
    return id;
  }
  auto in_memory = [&](const std::string& why) {
    if (id.user_uuid.empty()) id.user_uuid = generate_uuid_v4();
    if (options.name) id.name = *options.name;
    id.persisted = false;
    id.file.clear();
    id.warnings.push_back(why + "; using the id " + id.user_uuid +
                          " for this run only (memberships will not carry over)");
  };
  auto file = identity_file(options);
  if (!file) {
    in_memory("no config directory (set XDG_CONFIG_HOME or HOME)");
    return id;
  }

  std::string stored_uuid, stored_name, why;
  ReadState state = read_identity(*file, stored_uuid, stored_name, why);
  if (state == ReadState::broken) {
    in_memory(why + "; fix or remove it");
    return id;
  }

  if (state == ReadState::missing) {
    std::error_code ec;
    fs::create_directories(file->parent_path(), ec);
    if (ec) {
      in_memory("cannot create " + file->parent_path().string() + ": " + ec.message());
      return id;
    }
    stored_uuid = generate_uuid_v4();
    if (options.name) stored_name = *options.name;
    // link() fails if another process created the file first; then its id wins,
    // so two first runs at once still agree on one identity.
    if (auto failure = write_file_atomically(*file, serialize(stored_uuid, stored_name),
                                             {.exact_mode = true, .keep_existing = true})) {
      if (failure->err != EEXIST ||
          read_identity(*file, stored_uuid, stored_name, why) != ReadState::ok) {
        id.user_uuid = stored_uuid;
        in_memory(failure->err == EEXIST ? why : failure->message);
        return id;
      }
    }
  }

  // The file holds our identity now; store a changed display name.
  if (options.name && *options.name != stored_name) {
    auto err = replace_file(*file, serialize(stored_uuid, *options.name));
    if (err) id.warnings.push_back(*err + "; the name is used for this run only");
    stored_name = *options.name;
  }
  id.user_uuid = stored_uuid;
  id.name = stored_name;
  id.file = *file;
  id.persisted = true;
  return id;
}

}  // namespace gc

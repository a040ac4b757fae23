#include "store/data_dir.hpp"

#include <cstdlib>

namespace gc {

namespace {
const char* non_empty_env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}
}  // namespace

std::filesystem::path default_data_dir() {
  if (const char* dir = non_empty_env("GROUPCHAT_DATA_DIR")) return dir;
  if (const char* xdg = non_empty_env("XDG_DATA_HOME"))
    return std::filesystem::path(xdg) / "groupchat";
  const char* home = non_empty_env("HOME");
  return std::filesystem::path(home ? home : ".") / ".local" / "share" / "groupchat";
}

std::filesystem::path group_data_dir(const std::filesystem::path& data_dir,
                                     const Endpoint& endpoint) {
  return data_dir / (endpoint.host + "_" + std::to_string(endpoint.port));
}

std::filesystem::path group_database(const std::filesystem::path& group_dir) {
  return group_dir / "group.db";
}

}  // namespace gc

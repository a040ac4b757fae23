#pragma once
// Where a group keeps its data on disk: DATA_DIR/group-NAME/group.db (and its
// curve key file), where DATA_DIR is --data-dir, $GROUPCHAT_DATA_DIR,
// $XDG_DATA_HOME/groupchat or ~/.local/share/groupchat (the README's rule).
// Keyed by the group's name, not its address, so that a host whose address
// changes finds its history again. Earlier versions used DATA_DIR/IP_PORT:
// migrate_group_data_dir moves such a directory into place.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/endpoint.hpp"

namespace gc {

// $GROUPCHAT_DATA_DIR, else $XDG_DATA_HOME/groupchat, else ~/.local/share/groupchat.
std::filesystem::path default_data_dir();
// The directory name of the group called `name`: "group-" and the name, with
// '/', '\', '%', control characters and a leading '.' written as %XX; a name
// whose form would pass 200 bytes keeps its first part and a hash of the whole.
std::string group_dir_name(std::string_view name);
// DATA_DIR/group_dir_name(name).
std::filesystem::path group_data_dir(const std::filesystem::path& data_dir, std::string_view name);
// The directory earlier versions used for the group bound at `endpoint`: DATA_DIR/HOST_PORT.
std::filesystem::path legacy_group_data_dir(const std::filesystem::path& data_dir,
                                            const Endpoint& endpoint);
// The group's database file inside its directory.
std::filesystem::path group_database(const std::filesystem::path& group_dir);

// Moves the first of `legacy` that holds a group's data (a group.db or a key
// file) to `group_dir`, when `group_dir` does not exist yet. Returns the
// directory moved (empty: nothing moved); an error when a move failed.
struct Migration {
  std::filesystem::path from;
  std::string error;
};
Migration migrate_group_data_dir(const std::filesystem::path& group_dir,
                                 const std::vector<std::filesystem::path>& legacy);

}  // namespace gc

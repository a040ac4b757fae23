#pragma once
// Where a group keeps its data on disk: DATA_DIR/IP_PORT/group.db, where
// DATA_DIR is --data-dir, $GROUPCHAT_DATA_DIR, $XDG_DATA_HOME/groupchat or
// ~/.local/share/groupchat (the README's rule).
#include <filesystem>
#include <string>

#include "core/endpoint.hpp"

namespace gc {

// $GROUPCHAT_DATA_DIR, else $XDG_DATA_HOME/groupchat, else ~/.local/share/groupchat.
std::filesystem::path default_data_dir();
// The directory of the group bound at `endpoint`: DATA_DIR/HOST_PORT.
std::filesystem::path group_data_dir(const std::filesystem::path& data_dir,
                                     const Endpoint& endpoint);
// The group's database file inside its directory.
std::filesystem::path group_database(const std::filesystem::path& group_dir);

}  // namespace gc

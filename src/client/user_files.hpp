#pragma once
// The user's files: the stable identity, the joined groups and the shell's
// history. The reference gave every run a fresh UUID, so a user lost every
// membership on restart; we keep one UUID per user in a small JSON file
// ({"user_uuid": ..., "name": ...}) under the XDG config directory and reuse
// it on every run.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gc {

struct Identity {
  std::string user_uuid;
  std::string name;                   // display name; empty when none is set
  std::filesystem::path file;         // where it is stored; empty when not stored
  bool persisted = false;             // false: an in-memory id for this run only
  std::vector<std::string> warnings;  // for stderr: why the id is not persisted, etc.
};

struct IdentityOptions {
  // --user-id: used as is for this run; the file is neither read nor written
  // (its display name belongs to the stored id, not to this one).
  std::optional<std::string> user_id;
  // --name: used and stored in the file (an empty string clears it); with
  // user_id, used for this run only.
  std::optional<std::string> name;
  // The config base directory; when unset, $XDG_CONFIG_HOME (if absolute) or
  // $HOME/.config is used.
  std::optional<std::filesystem::path> config_home;
};

// A random (version 4) UUID in lowercase canonical form, from std::random_device.
std::string generate_uuid_v4();
// True for the canonical 8-4-4-4-12 hex form (either case).
bool is_canonical_uuid(std::string_view text);

// The identity file: <config_home>/groupchat/identity; nullopt when there is
// no usable base directory (no absolute XDG_CONFIG_HOME and no HOME).
std::optional<std::filesystem::path> identity_file(const IdentityOptions& options);

// Loads the stored identity, creating the file on first use. Never fails: when
// the file cannot be read or written, the identity lives in memory for this run
// and `warnings` says why and what to do. An unreadable or corrupt file is left
// untouched (a user may want to repair it).
Identity load_identity(const IdentityOptions& options);

// Joined groups, remembered so that a new shell on a terminal follows them
// again. One file for every user id used on this account:
// <config_home>/groupchat/groups, JSON {"<user_uuid>": ["IP:PORT", ...]}.
// nullopt when there is no usable base directory.
std::optional<std::filesystem::path> joined_groups_file(const IdentityOptions& options);
// The groups `user_uuid` is remembered to have joined, in the order joined.
// A missing or unreadable file is an empty list.
std::vector<std::string> load_joined_groups(const std::filesystem::path& file,
                                            const std::string& user_uuid);
// Adds (joined) or removes (!joined) one group address for the user and
// rewrites the file (temporary file + rename), holding FILE.lock meanwhile so
// that clients changing it at once do not undo each other. Returns an error
// text, or nullopt when stored.
std::optional<std::string> store_joined_group(const std::filesystem::path& file,
                                              const std::string& user_uuid,
                                              const std::string& address, bool joined);

// Replaces `target` with text: a fresh temporary file beside it (mode),
// synced, renamed over it, so a reader sees the old file or the new one,
// never a part. Returns an error text, or nullopt when replaced.
std::optional<std::string> replace_file(const std::filesystem::path& target,
                                        const std::string& text, unsigned mode = 0600);

// Where the shell keeps its command history: $XDG_STATE_HOME/groupchat/history
// when XDG_STATE_HOME is absolute, else $HOME/.local/state/groupchat/history;
// nullopt when neither is usable.
std::optional<std::filesystem::path> history_file();

// Checks a --user-id value: non-empty, at most kMaxUserUuidBytes (the
// servers' limit), no control characters. Returns an error text, or nullopt when fine.
std::optional<std::string> check_user_id(std::string_view id);

}  // namespace gc

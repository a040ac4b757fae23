#pragma once
// The client's side of the curve mode (docs/CLIENT.md, "Curve mode"): the
// user's key pair, the registries the user trusts, and the words for a
// connection whose security failed.
//
// The user's key pair lives beside the identity, <config_home>/groupchat/key
// (net/curve.hpp's key file, 0600), made the first time a connection needs
// CURVE. The registries are remembered as ssh remembers hosts: the first key
// a registry proves is written to <config_home>/groupchat/known_registries,
// one "IP:PORT KEY" a line, and from then on that registry is reached over
// CURVE with that key; another key given for it later is refused.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "client/user_files.hpp"
#include "core/endpoint.hpp"
#include "core/result.hpp"
#include "net/link_monitor.hpp"

namespace gc {

// <config_home>/groupchat/key; nullopt without a usable base directory.
std::optional<std::filesystem::path> user_key_file(const IdentityOptions& options);
// <config_home>/groupchat/known_registries; nullopt without a usable base directory.
std::optional<std::filesystem::path> known_registries_file(const IdentityOptions& options);

// An address as known_registries and the registry's list write it: the host
// as a dotted quad when it is an IPv4 address in any spelling or localhost
// ("localhost:5555" is "127.0.0.1:5555"), else as typed.
std::string canonical_address(const Endpoint& endpoint);
// The same for an address in text; the text itself when it does not parse.
std::string canonical_address(std::string_view text);

// The key remembered for a registry address; nullopt when there is none (or
// no file). An error names the file and the line that cannot be read.
Result<std::optional<std::string>> remembered_registry_key(const std::filesystem::path& file,
                                                           const std::string& address);
// Adds "address key" to the file (created as needed). An address already
// there keeps its line. Returns an error text, or nullopt when stored.
std::optional<std::string> remember_registry_key(const std::filesystem::path& file,
                                                 const std::string& address,
                                                 const std::string& key);

// How the registry is to be reached.
struct RegistryTrust {
  std::optional<std::string> key;  // its CURVE public key; nullopt: open
  bool remember = false;           // given and not remembered yet: remember once it answers
  bool remembered = false;         // the key came from known_registries
};

// Decides from the key given (given_what names where it came from:
// "--server-key" or "GROUPCHAT_SERVER_KEY"; given nullopt when none) and the
// remembered one. An error is a usage error (exit 2): a malformed key, an
// unreadable file, or a key that is not the one remembered for this address,
// said loudly with both keys, the file and what to do.
Result<RegistryTrust> resolve_registry_trust(const std::optional<std::filesystem::path>& file,
                                             const std::string& address,
                                             const std::optional<std::string>& given,
                                             std::string_view given_what);

// Where a server's key came from: what decides how far it is trusted (a key
// from the registry's list is asked for again when it fails) and how the
// error words name it.
struct KeySource {
  enum class Kind {
    none,              // no key: an open server
    given,             // --server-key or GROUPCHAT_SERVER_KEY (given_as says which)
    known_registries,  // remembered in the known_registries file
    group_key,         // --group-key
    registry_list,     // the curve registry's list of groups
  };
  Kind kind = Kind::none;
  std::string given_as;

  static KeySource given(std::string as) { return {Kind::given, std::move(as)}; }
  static KeySource of(Kind kind) { return {kind, {}}; }
  bool is(Kind k) const { return kind == k; }
  // As the error words say it: "--server-key", "GROUPCHAT_SERVER_KEY",
  // "known_registries", "--group-key", "the registry's list".
  std::string text() const;
};

// What the client knows about a server it failed to reach, for the words.
struct LinkContext {
  std::string address;  // IP:PORT
  bool registry = false;
  // The server's key we expected (curve), empty when we connected open.
  std::string server_key;
  std::string my_key;                      // our public key (curve)
  KeySource key_source;                    // where server_key came from
  std::filesystem::path known_registries;  // for the advice on a changed registry key
};

// The error for a connection whose handshake failed (is_handshake_problem),
// saying what failed and what to do.
std::string describe_link_problem(const LinkEvents& link, const LinkContext& context);

}  // namespace gc

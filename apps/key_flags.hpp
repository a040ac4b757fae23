#pragma once
// The security flags both servers take (--security, --key-file,
// --public-key), and the loading of the server's key pair they lead to.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>

#include "net/curve.hpp"

namespace gc {

struct KeyFlags {
  std::string security = "open";
  std::string key_file;  // empty: the default file of the server's directory
  bool print_public_key = false;
};

// whose: "group" or "registry", for the help texts; curve_help: what curve
// mode means for this server.
inline void add_key_flags(CLI::App& app, KeyFlags& flags, const std::string& whose,
                          const std::string& curve_help) {
  app.add_option("--security", flags.security,
                 "open: anyone may connect, unencrypted, as the reference (its programs work); "
                 "curve: " +
                     curve_help)
      ->capture_default_str()
      ->check(CLI::IsMember({"open", "curve"}));
  app.add_option("--key-file", flags.key_file,
                 "the " + whose +
                     "'s key pair, created (mode 0600) on first use (default: the file 'key' in "
                     "the " +
                     whose + "'s data directory)");
  app.add_flag("--public-key", flags.print_public_key,
               "print the " + whose +
                   "'s public key (Z85) from its key file, creating the file if needed, and exit");
}

// The server's key pair from --key-file, else default_file, made there on
// first use. With --public-key it is printed on stdout and `exit_code` is 0:
// the program exits with it. A key file that cannot be used is said on
// stderr (program: the name before the message) and `exit_code` is 1.
struct LoadedKeys {
  std::optional<CurveKeyPair> keys;
  std::optional<int> exit_code;
};
inline LoadedKeys load_server_keys(const KeyFlags& flags, const std::filesystem::path& default_file,
                                   const char* program) {
  const std::filesystem::path file =
      flags.key_file.empty() ? default_file : std::filesystem::path(flags.key_file);
  bool created = false;
  auto keys = load_or_create_key_file(file, &created);
  if (!keys) {
    std::fprintf(stderr, "%s: %s\n", program, keys.error().c_str());
    return {std::nullopt, 1};
  }
  if (flags.print_public_key) {
    std::printf("%s\n", keys->public_key.c_str());
    return {std::nullopt, 0};
  }
  if (created) spdlog::info("made a new key pair in {}", file.string());
  spdlog::info("public key {}", keys->public_key);
  return {*keys, std::nullopt};
}

}  // namespace gc

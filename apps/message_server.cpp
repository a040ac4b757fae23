// message_server: the registry of live groups (see docs/PROTOCOL.md).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "connection_flags.hpp"
#include "core/endpoint.hpp"
#include "core/stop_signal.hpp"
#include "core/version.hpp"
#include "key_flags.hpp"
#include "net/curve.hpp"
#include "registry/key_names.hpp"
#include "registry/registry_server.hpp"
#include "store/data_dir.hpp"

namespace {

// message_server --release NAME: frees a name's binding in the group-keys file.
int release_name(const std::filesystem::path& file, const std::string& name) {
  auto lines = gc::load_key_names(file, true);
  if (!lines) {
    std::fprintf(stderr, "message_server: %s\n", lines.error().c_str());
    return 1;
  }
  const size_t before = lines->size();
  std::erase_if(*lines, [&](const auto& line) { return line.second == name; });
  if (lines->size() == before) {
    std::printf("the name '%s' is not bound to a key in %s: nothing to release\n", name.c_str(),
                file.string().c_str());
    return 0;
  }
  // Keep the file's own comments: only the lines are rewritten.
  if (auto s = gc::save_key_names(
          file,
          "# groupchat registry: each group name is bound to the key that first registered it\n"
          "# (KEY NAME, one a line). Only that key may register, heartbeat or unregister the\n"
          "# name. Delete a line (or run message_server --release NAME) and send the running\n"
          "# registry SIGHUP to free a name.\n",
          *lines);
      !s) {
    std::fprintf(stderr, "message_server: %s\n", s.message().c_str());
    return 1;
  }
  std::printf(
      "released the name '%s' in %s: the next key to register it is bound to it. A running "
      "registry reads the file again on SIGHUP (kill -HUP its pid); until then it keeps the "
      "old binding, and a live group keeps its name.\n",
      name.c_str(), file.string().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // stdout carries only the reference's print lines; diagnostics go to stderr.
  spdlog::set_default_logger(spdlog::stderr_color_mt("message_server"));

  const char* env_bind = std::getenv("GROUPCHAT_BIND");
  std::string bind = env_bind && *env_bind ? env_bind : "*:5555";
  gc::RegistryServerOptions options;

  CLI::App app{
      "message_server: the registry of live groups. Groups register here; user clients "
      "ask it for the list of live groups (get_group_list). Prints the reference's lines "
      "(Starting message server on port PORT..., JOIN REQUEST FROM ..., GROUP LIST REQUEST "
      "FROM ..., and on SIGINT/SIGTERM Shutting down server... and Server shut down.) on "
      "stdout, diagnostics on stderr. Stops cleanly on SIGINT/SIGTERM."};
  app.set_version_flag("--version", std::string("message_server ") + gc::kVersion);
  app.add_option("--bind", bind,
                 "address to listen on: IP:PORT, *:PORT or tcp://IP:PORT (default *:5555, or "
                 "$GROUPCHAT_BIND)");
  app.add_option("--expiry-ms", options.registry.expiry_ms,
                 "drop a heartbeating group this long after its last heartbeat")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{100}, int64_t{3600000}));
  app.add_option("--heartbeat-ms", options.registry.heartbeat_ms,
                 "heartbeat interval the registry asks groups to keep (less than --expiry-ms)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{50}, int64_t{600000}));
  app.add_option("--max-groups", options.registry.max_groups,
                 "most groups listed at once; a registration past it is refused")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{100000}));
  app.add_option("--max-groups-per-source", options.registry.max_groups_per_source,
                 "most groups registered from one peer address (all of this host's own groups "
                 "count for the address they register from, usually 127.0.0.1)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{100000}));
  app.add_flag("--allow-any-registrant", options.registry.allow_any_registrant,
               "accept a registration whose IP is not of the host it comes from (e.g. groups "
               "behind NAT, or one host registering others); by default a group must register "
               "from the host it advertises");
  app.add_option("--rewatch-ms", options.registry.rewatch_ms,
                 "a group that never heartbeats (a reference group) and whose endpoint stopped "
                 "answering is dropped from the list, then watched this long and listed again "
                 "as soon as it answers (a paused process); 0: forget it at once")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{86400000}));
  app.add_option("--max-rewatched", options.registry.max_rewatched,
                 "most dropped groups watched for their return at once; past it the one "
                 "watched longest is forgotten (they also yield their slots to new groups "
                 "under --max-groups)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{0}, size_t{100000}));
  size_t budget_mib = gc::kDefaultMemoryBudgetBytes >> 20;
  app.add_option("--memory-budget", budget_mib,
                 "MiB the registry holds for its peers in all (queued replies); a peer with more "
                 "than a sixteenth of it queued (at least 1 MiB) is disconnected")
      ->capture_default_str()
      ->check(CLI::Range(size_t{8}, size_t{1} << 20));
  std::string data_dir = gc::default_data_dir().string(), groups_file, release;
  gc::KeyFlags key_flags;
  gc::add_key_flags(app, key_flags, "registry",
                    "CURVE only, every connection encrypted and authenticated, each group name "
                    "bound to the key that first registered it (docs/SECURITY.md); groups and "
                    "users need its public key (--server-key, GROUPCHAT_SERVER_KEY)");
  app.add_option("--data-dir", data_dir,
                 "where the registry keeps its files: the sub-directory registry_PORT (its key "
                 "pair, the names bound to keys) (default $GROUPCHAT_DATA_DIR, "
                 "$XDG_DATA_HOME/groupchat or ~/.local/share/groupchat)");
  app.add_option("--groups-file", groups_file,
                 "curve mode: only the keys listed in this file (lines 'KEY NAME') may register, "
                 "each only the names listed with it; re-read on SIGHUP");
  app.add_option("--max-bound-names", options.registry.max_bound_names,
                 "curve mode: most names bound to keys (the group-keys file); a registration of "
                 "a new name past it is refused")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{10000000}));
  app.add_option("--release", release,
                 "free the name NAME from the key it is bound to (in the registry's group-keys "
                 "file), print what was done and exit; a running registry needs SIGHUP to see it");
  gc::add_connection_flags(app, options.connections);
  CLI11_PARSE(app, argc, argv);
  options.security = *gc::parse_security(key_flags.security);
  options.memory_budget_bytes = budget_mib << 20;
  const size_t descriptors = gc::raise_descriptor_limit();
  options.connections.max_total =
      gc::connections_for_descriptors(options.connections.max_total, descriptors);

  if (options.registry.heartbeat_ms >= options.registry.expiry_ms) {
    std::fprintf(stderr,
                 "message_server: --heartbeat-ms (%lld) must be less than --expiry-ms (%lld)\n",
                 static_cast<long long>(options.registry.heartbeat_ms),
                 static_cast<long long>(options.registry.expiry_ms));
    return 2;
  }
  auto endpoint = gc::parse_endpoint(bind);
  if (!endpoint) {
    std::fprintf(stderr, "message_server: --bind: %s\n", endpoint.error().c_str());
    return 2;
  }
  options.bind = endpoint->zmq();
  const std::filesystem::path registry_dir =
      std::filesystem::path(data_dir) / ("registry_" + std::to_string(endpoint->port));
  options.bindings_file = registry_dir / "group-keys";
  if (!release.empty()) return release_name(options.bindings_file, release);
  if (key_flags.print_public_key || options.security == gc::SecurityMode::curve) {
    auto loaded = gc::load_server_keys(key_flags, registry_dir / "key", "message_server");
    if (loaded.exit_code) return *loaded.exit_code;
    options.keys = loaded.keys;
  }
  if (!groups_file.empty()) {
    if (options.security != gc::SecurityMode::curve) {
      std::fprintf(stderr, "message_server: --groups-file lists keys: it needs --security curve\n");
      return 2;
    }
    options.groups_file = groups_file;
  }

  const int stop_fd = gc::watch_stop_signals();
  const int reload_fd = gc::watch_reload_signal();
  if (stop_fd < 0 || reload_fd < 0) {
    std::fprintf(stderr, "message_server: cannot set up signal handling\n");
    return 1;
  }

  zmq::context_t context;
  gc::size_context_sockets(context, descriptors);
  // Enough sockets to watch --max-groups reference groups (the default of 1023 ran out at ~340).
  if (const int watch = gc::registry_max_zmq_sockets(options);
      watch > context.get(zmq::ctxopt::max_sockets))
    context.set(zmq::ctxopt::max_sockets, watch);
  auto server = std::make_unique<gc::RegistryServer>(context, options);
  if (auto status = server->load_files(); !status) {
    std::fprintf(stderr, "message_server: %s\n", status.message().c_str());
    return 1;
  }
  if (auto status = server->bind(); !status) {
    std::fprintf(stderr, "message_server: %s\n", status.message().c_str());
    return 1;
  }
  spdlog::info("serving on {}", options.bind);
  // The reference's lines, on stdout, where it prints them (with the port bound).
  std::printf("Starting message server on port %u...\n", static_cast<unsigned>(server->port()));
  std::fflush(stdout);
  server->run(stop_fd, reload_fd);
  std::printf("Shutting down server...\n");
  std::fflush(stdout);
  server.reset();
  context.close();
  std::printf("Server shut down.\n");
  std::fflush(stdout);
  return 0;
}

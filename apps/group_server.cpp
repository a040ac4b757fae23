// group_server NAME IP:PORT: one chat group (see docs/PROTOCOL.md).
#include "group/group_server.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <vector>

#include "connection_flags.hpp"
#include "core/endpoint.hpp"
#include "core/stop_signal.hpp"
#include "core/version.hpp"
#include "group/group_address.hpp"
#include "key_flags.hpp"
#include "net/curve.hpp"
#include "store/data_dir.hpp"
#include "store/memory_store.hpp"
#include "store/sqlite_store.hpp"

namespace {

int fail(const std::string& message) {
  std::fprintf(stderr, "group_server: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  // stdout carries only the reference's print lines; diagnostics go to stderr.
  spdlog::set_default_logger(spdlog::stderr_color_mt("group_server"));

  gc::GroupServerOptions options;
  std::string address;
  if (const char* server = std::getenv("GROUPCHAT_SERVER"); server && *server)
    options.registry = server;
  std::string data_dir = gc::default_data_dir().string();
  std::string store_kind = "sqlite", sync = "normal";

  CLI::App app{
      "group_server: one chat group. Binds a ROUTER on tcp://IP:PORT and serves joinGroup, "
      "leaveGroup, sendMessage and getMessage at once, pushing each new message to the members "
      "that follow the group; registers NAME with the registry (message_server) as soon as it "
      "answers, and again after it restarts. Messages and members are kept in SQLite under "
      "--data-dir, by group name, and survive restarts. Prints the reference's lines (SUCCESS once "
      "registered, JOIN REQUEST FROM ..., MESSAGE SEND FROM ..., Shutting down group...) on "
      "stdout, diagnostics on stderr. Stops cleanly on SIGINT/SIGTERM (unregisters first)."};
  app.set_version_flag("--version", std::string("group_server ") + gc::kVersion);
  app.add_option("NAME", options.name, "the group's name, as listed by the registry")->required();
  app.add_option("IP:PORT", address,
                 "address to bind (and to register, unless --advertise), e.g. 192.0.2.7:5560; a "
                 "host name is resolved first; 0.0.0.0 or * binds every address and needs "
                 "--advertise")
      ->required();
  std::string advertise;
  app.add_option("--advertise", advertise,
                 "HOST:PORT to register instead of IP:PORT: the address other hosts connect to "
                 "(a host name is resolved at start; never a wildcard)");
  app.add_option("--server", options.registry,
                 "the registry (message_server) as HOST:PORT (default localhost:5555, or "
                 "$GROUPCHAT_SERVER)");
  app.add_option("--data-dir", data_dir,
                 "where groups keep their data; this group uses the sub-directory group-NAME "
                 "(an IP_PORT directory of earlier versions is moved there) "
                 "(default $XDG_DATA_HOME/groupchat or ~/.local/share/groupchat, or "
                 "$GROUPCHAT_DATA_DIR)");
  app.add_option("--store", store_kind, "sqlite (durable) or memory (lost at exit)")
      ->capture_default_str()
      ->check(CLI::IsMember({"sqlite", "memory"}));
  app.add_option("--sync", sync,
                 "normal: a stored message survives a crash of the process, and a power loss "
                 "takes at most about the last second (a sync a second while writing); full: "
                 "nothing acknowledged is lost on a power loss (an fsync per batch)")
      ->capture_default_str()
      ->check(CLI::IsMember({"normal", "full"}));
  app.add_option("--max-message-bytes", options.max_message_bytes, "longest message text accepted")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{8} * 1024 * 1024));
  app.add_option("--follow-expiry-ms", options.follow_expiry_ms,
                 "a live follow not renewed for this long ends (clients renew every second)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{100}, int64_t{3600000}));
  app.add_flag("--quiet", options.quiet,
               "print nothing on stdout: no line per request, no SUCCESS, no Shutting down");
  size_t budget_mib = gc::kDefaultMemoryBudgetBytes >> 20;
  app.add_option("--memory-budget", budget_mib,
                 "MiB the server holds for its peers in all (queued replies and pushes, requests "
                 "waiting); a peer's share is a sixteenth of it (at least 1 MiB)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{8}, size_t{1} << 20));
  app.add_option("--max-reply-bytes", options.max_reply_bytes,
                 "a getMessage reply stops before this many bytes and says more (one message "
                 "always fits)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1024}, size_t{64} << 20));
  app.add_option("--follower-queue-bytes", options.follower_queue_bytes,
                 "pushes queued for one follower; past it pushes are skipped and the follower "
                 "fetches what it missed")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1024}, size_t{1} << 30));
  app.add_option("--max-follows-per-user", options.follows.per_user,
                 "follows of one user at once (one per connection)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 20));
  app.add_option("--max-follows-per-address", options.follows.per_address,
                 "follows from one source IP address at once")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 20));
  gc::KeyFlags key_flags;
  gc::add_key_flags(app, key_flags, "group",
                    "CURVE only, every connection encrypted and a member is the key it connects "
                    "with (docs/SECURITY.md)");
  app.add_option("--members-file", options.members_file,
                 "curve mode: only the public keys listed in this file (one per line, '# ' "
                 "comments) may join; re-read on SIGHUP, and a key no longer listed is out at "
                 "once (default: any key may join)");
  std::string server_key;
  if (const char* env = std::getenv("GROUPCHAT_SERVER_KEY"); env && *env) server_key = env;
  app.add_option("--server-key", server_key,
                 "the registry's public key (Z85, 40 characters; message_server --public-key "
                 "prints it): the group registers over CURVE with its own key pair and trusts "
                 "only that registry (default $GROUPCHAT_SERVER_KEY). Needed with --security "
                 "curve; with open, it registers an open group with a curve registry");
  gc::add_connection_flags(app, options.connections);
  int io_threads = gc::default_io_threads();
  app.add_option("--io-threads", io_threads,
                 "ZeroMQ I/O threads: connections are spread over them, so pushes to many "
                 "followers use that many cores (default: half the machine's cores, 1 to 8)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  CLI11_PARSE(app, argc, argv);
  options.security = *gc::parse_security(key_flags.security);
  if (!options.members_file.empty() && options.security != gc::SecurityMode::curve) {
    std::fprintf(stderr,
                 "group_server: --members-file needs --security curve: an open group cannot "
                 "tell its members' keys\n");
    return 2;
  }
  if (!server_key.empty()) {
    auto key = gc::parse_public_key(server_key, "--server-key");
    if (!key) {
      std::fprintf(stderr, "group_server: %s\n", key.error().c_str());
      return 2;
    }
    options.registry_key = *key;
  } else if (options.security == gc::SecurityMode::curve && !key_flags.print_public_key) {
    std::fprintf(stderr,
                 "group_server: --security curve needs the registry's public key: --server-key "
                 "KEY or GROUPCHAT_SERVER_KEY (message_server --public-key prints it)\n");
    return 2;
  }
  options.memory_budget_bytes = budget_mib << 20;
  const size_t descriptors = gc::raise_descriptor_limit();
  options.connections.max_total =
      gc::connections_for_descriptors(options.connections.max_total, descriptors);

  auto planned = gc::plan_group_addresses(
      address, advertise, [](const std::string& host) { return gc::resolve_ipv4_host(host); });
  if (!planned) {
    std::fprintf(stderr, "group_server: %s\n", planned.error().c_str());
    return 2;
  }
  const gc::Endpoint* endpoint = &planned->bind;
  options.endpoint = planned->bind;
  options.advertise = planned->advertise.ip_port();
  if (!planned->bind_note.empty()) spdlog::info("binding {}", planned->bind_note);
  if (auto registry = gc::parse_connect_endpoint(gc::without_tcp_prefix(options.registry))) {
    std::optional<uint32_t> registry_ip;
    if (auto r = gc::resolve_ipv4_host(registry->host)) registry_ip = *r;
    if (gc::loopback_advertised_to_remote(*gc::parse_ipv4_host(planned->advertise.host),
                                          registry_ip))
      spdlog::warn(
          "advertising the loopback address {} to the registry at {}, which is not on this "
          "host's loopback: users on other hosts cannot reach the group there; bind this host's "
          "LAN address, or give it with --advertise HOST:PORT",
          options.advertise, options.registry);
  }
  const auto group_dir = gc::group_data_dir(data_dir, options.name);
  {
    // Earlier versions kept a group's data under its address (IP_PORT).
    std::vector<std::filesystem::path> legacy;
    gc::Endpoint typed = *gc::parse_endpoint(address);
    legacy.push_back(gc::legacy_group_data_dir(data_dir, typed));
    if (typed.host != endpoint->host)
      legacy.push_back(gc::legacy_group_data_dir(data_dir, *endpoint));
    auto moved = gc::migrate_group_data_dir(group_dir, legacy);
    if (!moved.error.empty()) return fail(moved.error);
    if (!moved.from.empty())
      spdlog::info("moved the group's data from {} to {} (data is now kept by group name)",
                   moved.from.string(), group_dir.string());
  }
  if (key_flags.print_public_key || options.security == gc::SecurityMode::curve ||
      !options.registry_key.empty()) {
    auto loaded = gc::load_server_keys(key_flags, group_dir / "key", "group_server");
    if (loaded.exit_code) return *loaded.exit_code;
    options.keys = loaded.keys;
  }

  std::unique_ptr<gc::GroupStore> store;
  if (store_kind == "memory") {
    store = std::make_unique<gc::MemoryStore>();
  } else {
    const auto& dir = group_dir;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec)
      return fail("cannot create the data directory " + dir.string() + ": " + ec.message() +
                  "; choose a writable place with --data-dir");
    const auto file = gc::group_database(dir);
    auto opened = gc::SqliteStore::open({file.string(), sync == "full", 0});
    if (!opened) return fail(opened.error());
    store = std::move(*opened);
    spdlog::info("data in {} ({} messages)", file.string(), store->last_seq());
  }

  int stop_fd = gc::watch_stop_signals();
  int reload_fd = gc::watch_reload_signal();
  zmq::context_t context(io_threads);
  gc::size_context_sockets(context, descriptors);
  gc::GroupServer server(context, *store, options);
  if (auto s = server.bind(); !s) return fail(s.message());
  server.start_registering();
  spdlog::info("accepting users on {}; registering as '{}' at {} with the registry at {}",
               endpoint->zmq(), options.name, options.advertise, options.registry);
  const int code = server.run(stop_fd, reload_fd);
  if (!server.error().empty()) return fail(server.error());
  return code;
}

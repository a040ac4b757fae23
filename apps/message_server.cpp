// message_server: the registry of live groups (see docs/PROTOCOL.md).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdlib>

#include "connection_flags.hpp"
#include "core/endpoint.hpp"
#include "core/stop_signal.hpp"
#include "core/version.hpp"
#include "registry/registry_server.hpp"

int main(int argc, char** argv) {
  // stdout carries only the reference's print lines; diagnostics go to stderr.
  spdlog::set_default_logger(spdlog::stderr_color_mt("message_server"));

  const char* env_bind = std::getenv("GROUPCHAT_BIND");
  std::string bind = env_bind && *env_bind ? env_bind : "*:5555";
  gc::RegistryServerOptions options;

  CLI::App app{
      "message_server: the registry of live groups. Groups register here; user clients "
      "ask it for the list of live groups (get_group_list). Prints the reference's lines "
      "(JOIN REQUEST FROM ..., GROUP LIST REQUEST FROM ...) on stdout, diagnostics on "
      "stderr. Stops cleanly on SIGINT/SIGTERM."};
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
  size_t budget_mib = gc::kDefaultMemoryBudgetBytes >> 20;
  app.add_option("--memory-budget", budget_mib,
                 "MiB the registry holds for its peers in all (queued replies); a peer with more "
                 "than a sixteenth of it queued (at least 1 MiB) is disconnected")
      ->capture_default_str()
      ->check(CLI::Range(size_t{8}, size_t{1} << 20));
  gc::add_connection_flags(app, options.connections);
  CLI11_PARSE(app, argc, argv);
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

  const int stop_fd = gc::watch_stop_signals();
  if (stop_fd < 0) {
    std::fprintf(stderr, "message_server: cannot set up signal handling\n");
    return 1;
  }

  zmq::context_t context;
  gc::size_context_sockets(context, descriptors);
  // Enough sockets to watch --max-groups reference groups (the default of 1023 ran out at ~340).
  if (const int watch = gc::registry_max_zmq_sockets(options);
      watch > context.get(zmq::ctxopt::max_sockets))
    context.set(zmq::ctxopt::max_sockets, watch);
  gc::RegistryServer server(context, options);
  if (auto status = server.bind(); !status) {
    std::fprintf(stderr, "message_server: %s\n", status.message().c_str());
    return 1;
  }
  spdlog::info("serving on {}", options.bind);
  server.run(stop_fd);
  return 0;
}

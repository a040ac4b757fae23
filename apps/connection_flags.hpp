#pragma once
// The connection caps both servers take on their command line, and the
// descriptor limit they are fitted under.
#include <CLI/CLI.hpp>

#include "net/connections.hpp"

namespace gc {

inline void add_connection_flags(CLI::App& app, ConnectionLimits& limits) {
  app.add_option("--max-connections", limits.max_total,
                 "connections at once; also at most the descriptor limit less 64")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 20));
  app.add_option("--max-connections-per-address", limits.max_per_address,
                 "connections at once from one source IP address")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 20));
}

}  // namespace gc

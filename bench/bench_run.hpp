#pragma once
// What every scenario runs with: the sizes of this run, the servers it starts
// for itself on 127.0.0.1 (the registry, group servers) and the figures it
// records.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "child_process.hpp"
#include "load.hpp"
#include "net/curve.hpp"
#include "report.hpp"

namespace bench {

// One point of the in-flight curve: `clients` DEALERs with `window` requests
// outstanding each.
struct InflightPoint {
  size_t clients = 1;
  size_t window = 1;
};

struct Sizes {
  size_t warmup = 0;
  Bounds sequential;                         // sequential: round trips per side
  size_t clients = 4;                        // pipelined, reads, redis: DEALERs / connections
  size_t window = 64;                        // outstanding requests per client
  Bounds pipelined;                          // pipelined, redis: sends per side
  size_t small_store = 0;                    // reads, redis: messages in the small store
  size_t large_store = 0;                    // reads, redis: ... and in the large one
  std::chrono::milliseconds fill_time{0};    // reads, redis: time budget to fill both stores
  Bounds reads;                              // reads, redis: round trips per store size
  std::chrono::milliseconds idle_window{0};  // idle: how long idle CPU is watched
  size_t message_bytes = 100;                // the text of every message sent
  size_t few_followers = 1;                  // live_delivery: followers in the first run ...
  size_t many_followers = 500;               // live_delivery: ... and in the second
  Bounds live;                               // live_delivery: sends per follower count

  // The curves and the reference.
  std::vector<size_t> history_sizes;               // history: the store grows through these sizes
  std::chrono::milliseconds history_fill_time{0};  // history: time budget for the whole fill
  Bounds history_reads;                            // history: round trips per size
  std::vector<InflightPoint> inflight_points;      // inflight: the points of the curve
  Bounds inflight;                                 // inflight: sends per point
  Bounds reference_sequential;                     // reference: round trips
  Bounds reference_pipelined;                      // reference: sends
  std::vector<size_t> fanout_followers;      // fanout: follower counts, a fresh group each
  Bounds fanout_sends;                       // fanout: single sends per follower count
  size_t fanout_burst = 100;                 // fanout: then this many pipelined
};

Sizes smoke_sizes();
Sizes full_sizes();

struct BenchRun {
  BenchRun(Sizes sizes, std::filesystem::path bin_dir, std::string redis_server);
  ~BenchRun();

  Sizes sizes;
  std::filesystem::path bin_dir;
  std::string redis_server;  // path, or empty when not installed
  // Extra arguments for every group_server started (experiments: "--store memory").
  std::vector<std::string> group_args;
  zmq::context_t ctx;
  Figures figures;
  TempDir data;

  // The registry every open group server registers with; started on first use.
  uint16_t registry_port();
  // The group_server arguments that make a group of `mode` register with a
  // registry of this run (--server, and for a curve group --server-key). An
  // open group uses the registry above. A curve group uses one in curve mode,
  // started on first use (message_server --security curve, its key read
  // first with --public-key from the same data directory), or the one above
  // over NULL when the binaries do not offer a curve registry yet (the run
  // says so on stderr).
  std::vector<std::string> registry_args(gc::SecurityMode mode);
  // CPU time the registry has used so far, in ms; -1 when it is not running.
  int64_t registry_cpu_ms();
  // The same to the microsecond (scheduler count); -1 when it is not running.
  int64_t registry_cpu_exact_us();
  // A fresh group server with its own data directory; returns its "tcp://" endpoint.
  // `extra`: more group_server arguments for this scenario (after --group-arg's).
  std::unique_ptr<ChildProcess> start_group(const std::string& name, std::string& endpoint,
                                            const std::vector<std::string>& extra = {});
  // The same in curve mode (--security curve): the group's public key, which
  // `group_server NAME IP:PORT --data-dir DIR --public-key` prints (run first,
  // with the same address and data directory), goes in `public_key`.
  std::unique_ptr<ChildProcess> start_curve_group(const std::string& name, std::string& endpoint,
                                                  std::string& public_key,
                                                  const std::vector<std::string>& extra = {});
  // Whether group_server offers --security (its --help lists it): an older
  // build does not, and the curve rows then say "not available".
  bool group_serves_curve();

  // Where the reference's group.py is (--reference-dir); empty: not given.
  std::filesystem::path reference_dir;
  // The python3 that runs it (--reference-python).
  std::string reference_python = "/usr/bin/python3";

  // The large store the reads scenario filled, kept for the idle scenario.
  std::unique_ptr<ChildProcess> read_group;

 private:
  std::unique_ptr<ChildProcess> launch_group(const std::string& name, uint16_t port,
                                             std::vector<std::string> argv,
                                             const std::vector<std::string>& extra);

  std::unique_ptr<ChildProcess> registry_;
  uint16_t registry_port_ = 0;
  std::unique_ptr<ChildProcess> curve_registry_;
  uint16_t curve_registry_port_ = 0;
  std::string curve_registry_key_;
  std::optional<bool> curve_registry_offered_;
  std::optional<bool> group_curve_offered_;
};

// One line on stderr, so that a long run shows where it is.
void progress(const std::string& text);

}  // namespace bench

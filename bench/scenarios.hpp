#pragma once
// The scenarios of groupchat_bench: each measures one groupchat figure and
// its baseline in the same run, bounded in count and in time, and records
// them in run.figures under keys that begin with its id (the table finds a
// failed scenario's rows by that prefix).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "bench_run.hpp"
#include "report.hpp"

namespace bench {

struct Scenario {
  std::string id;  // what --only takes; names its file, scenario_<id>.cpp
  std::string title;
  std::function<void(BenchRun&)> run;
};

// In the order they run: later ones read figures (and a server) of earlier ones.
const std::vector<Scenario>& scenarios();

// The rows of the final table, labelled with the sizes actually reached.
std::vector<Row> table_rows(const Figures& figures, const Sizes& sizes);

// One REQ client, one sendMessage at a time, against a bare REQ/REP echo.
void sequential_send(BenchRun& run);
// Pipelined DEALER clients, against a bare ROUTER that answers at once.
void pipelined_send(BenchRun& run);
// Empty when `reply` is a getMessage page of the newest min(stored, 100)
// messages of a store holding seqs 1..stored; otherwise what is wrong.
std::string check_newest_page(const std::string& reply, uint64_t stored);
// getMessage of the newest 100, from a small and from a large store.
void read_newest(BenchRun& run);
// Memory of the group server holding the large store; CPU while idle.
void memory_and_idle(BenchRun& run);
// The pipelined and reads workloads against redis-server with an append-only file.
void redis_baseline(BenchRun& run);
// A sender's SUCCESS to the push's receipt by 1 follower and by many.
void live_delivery(BenchRun& run);
// getMessage newest 100 and the group server's RSS as one store grows.
void history_curve(BenchRun& run);
// Pipelined send throughput against requests in flight.
void inflight_curve(BenchRun& run);
// The reference group.py (--reference-dir) under the sequential and pipelined loads.
void reference_group(BenchRun& run);
// A sender's SUCCESS to the push's receipt by the last of 1 to 10,000
// followers (in follower processes), missed pushes, the group's memory.
void fanout(BenchRun& run);

}  // namespace bench

#pragma once
// The fan-out scenario's side of its follower processes (follower_process.hpp):
// starts them, splits the followers among them, and turns their lines into
// answers, each wait with a deadline. Every method throws std::runtime_error
// when a process reports an error or ends early.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "log_histogram.hpp"

namespace bench {

struct FleetConfig {
  std::string program;  // groupchat_bench itself
  std::string host;     // the group's address ...
  uint16_t port = 0;    // ... and port
  size_t followers = 0;
  size_t processes = 1;
  std::string user_prefix;  // follower i joins as user_prefix-i
};

class FollowerFleet {
 public:
  using Clock = std::chrono::steady_clock;

  explicit FollowerFleet(const FleetConfig& config);
  ~FollowerFleet();
  FollowerFleet(const FollowerFleet&) = delete;
  FollowerFleet& operator=(const FollowerFleet&) = delete;

  // Waits until every follower's follow is confirmed.
  void wait_ready(Clock::time_point deadline);

  // Receipts of one seq, or of a range of seqs, over all processes.
  struct Arrival {
    size_t received = 0;    // receipts
    int64_t last_ns = 0;    // the latest receipt (CLOCK_MONOTONIC ns)
    bool complete = false;  // every follower has every seq asked about
  };
  // Tells every process that `seq` was answered at `t0_ns` (nullopt: a
  // warm-up send, whose receipt latencies are not kept).
  void sent(uint64_t seq, std::optional<int64_t> t0_ns);
  // Waits until every process has settled `seq` (every follower got it, or a
  // later one), at most until `deadline`, then asks the others what they have.
  Arrival wait_for(uint64_t seq, Clock::time_point deadline);
  // The same for seqs first..last (no receipt latencies kept for them),
  // waiting until seqs up to `through` (>= last) have settled: a follower
  // that has a later seq will not get an earlier one any more.
  Arrival wait_for_range(uint64_t first, uint64_t last, uint64_t through,
                         Clock::time_point deadline);

  struct Tally {
    size_t missed = 0;      // pushes of seqs first..last that never arrived
    int64_t cpu_ms = 0;     // the follower processes' CPU time since they were ready, in all
    LogHistogram receipts;  // latency of every receipt of a seq given to sent()
  };
  Tally tally(uint64_t first, uint64_t last);

  // Ends every process (end of input, then SIGKILL past a deadline). Idempotent.
  void stop();

 private:
  struct Settled {
    size_t received = 0;
    int64_t last_ns = 0;
  };
  struct Process {
    pid_t pid = -1;
    int in_fd = -1;
    int out_fd = -1;
    size_t followers = 0;
    std::string buffer;  // output not yet a whole line
    bool ready = false;
    int64_t ready_cpu_ms = 0;             // its CPU time when it was ready
    std::map<uint64_t, Settled> settled;  // "done" and "have" lines
    std::optional<std::string> tally;
    std::string error;
  };

  void spawn(Process& p, const FleetConfig& config, size_t first);
  void tell(Process& p, const std::string& line);
  // Reads what the processes printed, waiting at most until `deadline` for
  // something. False when the deadline passed with nothing read.
  bool pump(Clock::time_point deadline);
  void on_line(Process& p, const std::string& line);
  template <typename Done>
  bool wait_until(Done done, Clock::time_point deadline);

  std::vector<Process> processes_;
  size_t followers_ = 0;
};

}  // namespace bench

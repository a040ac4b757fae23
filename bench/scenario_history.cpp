// The history curve: getMessage of the newest 100 against how much history
// one group holds. One store grows through the sizes (filled by pipelined
// sends to the first size, read, filled on to the next, read, ...), so the
// largest size costs one fill; the group server's RSS is read at each size.
// The whole fill is bounded in time: sizes not reached in time are missing,
// with the size that was reached.
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "measure.hpp"
#include "protocol/group_protocol.hpp"
#include "scenarios.hpp"

namespace bench {

namespace {

std::string newest_page_request(const std::string& user, uint64_t stored) {
  gc::MessageQuery query;
  query.since_seq = static_cast<int64_t>(stored - std::min<uint64_t>(stored, 100));
  query.limit = 100;
  return gc::make_get_request(user, query);
}

}  // namespace

void history_curve(BenchRun& run) {
  const Sizes& z = run.sizes;
  std::string endpoint;
  auto group = run.start_group("bench-history", endpoint);
  for (size_t i = 0; i < z.clients; ++i) join(run, endpoint, client_user(i));
  const auto requests = send_requests(z);
  const auto start = Clock::now();
  const auto deadline = start + z.history_fill_time;
  uint64_t stored = 0;
  double fill_seconds = 0;
  for (size_t target : z.history_sizes) {
    const std::string key = fmt::format("history.h{}", target);
    const std::vector<std::string> keys = {key + ".get.p50_us", key + ".get.p99_us",
                                           key + ".rss_mib"};
    if (g_stop_requested) {
      record_unavailable(run, keys, "the run was interrupted");
      continue;
    }
    if (stored < target) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() > 0) {
        progress(fmt::format("  filling on from {} to {} messages (at most {:.0f} s)",
                             format_count(static_cast<double>(stored)),
                             format_count(static_cast<double>(target)), left.count() / 1000.0));
        const PipelineResult r = zmq_pipelined(run.ctx, endpoint, requests, z.window,
                                               Bounds{target - stored, left}, true);
        if (!r.error.empty() || r.failed > 0)
          throw std::runtime_error(
              "filling the history: " +
              (r.error.empty() ? fmt::format("{} FAILED replies", r.failed) : r.error));
        stored = std::max(stored, r.max_seq);
        fill_seconds += r.seconds;
      }
    }
    if (stored < target) {
      const std::string why =
          g_stop_requested
              ? std::string("the run was interrupted while filling")
              : fmt::format("fill time bound: {} of {} stored after {:.0f} s of filling",
                            format_count(static_cast<double>(stored)),
                            format_count(static_cast<double>(target)),
                            std::chrono::duration<double>(Clock::now() - start).count());
      for (const auto& k : keys) run.figures.missing(k, why);
      fmt::print(stderr, "bench: {}: {}\n", key, why);
      continue;
    }
    const std::string request = newest_page_request(client_user(0), stored);
    const RoundTripResult reads =
        zmq_round_trips(run.ctx, endpoint, request, z.warmup, z.history_reads);
    if (reads.error.empty())
      if (std::string bad = check_newest_page(reads.last_reply, stored); !bad.empty())
        throw std::runtime_error(key + ": getMessage newest 100: " + bad);
    record_latency(run, key + ".get", reads);
    const int64_t rss = resident_bytes(group->pid());
    if (rss < 0)
      run.figures.missing(key + ".rss_mib", "cannot read the group server's VmRSS");
    else
      run.figures.set(key + ".rss_mib", rss / kMiB);
    progress(fmt::format("  {}: RSS {:.1f} MiB", key, rss / kMiB));
  }
  run.figures.set("history.stored", static_cast<double>(stored));
  if (fill_seconds > 0)
    run.figures.set("history.fill.per_s", static_cast<double>(stored) / fill_seconds,
                    fmt::format("{} messages in {:.1f} s of filling",
                                format_count(static_cast<double>(stored)), fill_seconds));
  group->stop();
}

}  // namespace bench

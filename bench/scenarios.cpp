#include "scenarios.hpp"

#include <fmt/format.h>

namespace bench {

const std::vector<Scenario>& scenarios() {
  static const std::vector<Scenario> list = {
      {"sequential", "sequential sendMessage round trip, open and curve groups", sequential_send},
      {"pipelined", "pipelined durable sendMessage, open and curve groups", pipelined_send},
      {"reads", "getMessage newest 100, small and large store", read_newest},
      {"idle", "group server memory and idle CPU", memory_and_idle},
      {"redis", "redis-server baseline (XADD, XREVRANGE, AOF everysec)", redis_baseline},
      {"live_delivery", "live delivery to 1 and to many followers, open and curve groups",
       live_delivery},
      {"history", "getMessage newest 100 and RSS as one store grows (the history curve)",
       history_curve},
      {"inflight", "pipelined durable send against requests in flight (the in-flight curve)",
       inflight_curve},
      {"reference", "the reference group.py (--reference-dir) under the same loads",
       reference_group},
      {"fanout", "fan-out to 1 .. 10,000 followers in follower processes", fanout},
  };
  return list;
}

namespace {

// The fan-out rows of one follower count; the targets are those at 10,000.
void append_fanout_rows(std::vector<Row>& rows, size_t n, size_t burst) {
  const std::string key = fmt::format("fanout.f{}", n);
  const std::string at = "fan-out to " + format_count(n) + (n == 1 ? " follower" : " followers");
  const bool target = n == 10'000;
  rows.push_back({.label = at + ", last receipt per send, p50",
                  .unit = Unit::kMicros,
                  .groupchat_key = key + ".last.p50_us",
                  .target = target ? Target::kValueAtMost : Target::kNone,
                  .bound = 25'000});
  rows.push_back({.label = at + ", group server RSS idle",
                  .unit = Unit::kMiB,
                  .groupchat_key = key + ".idle_rss_mib",
                  .target = target ? Target::kValueAtMost : Target::kNone,
                  .bound = 200});
  if (!target) return;
  rows.push_back({.label = at + ", last receipt per send, p99",
                  .unit = Unit::kMicros,
                  .groupchat_key = key + ".last.p99_us",
                  .target = Target::kValueAtMost,
                  .bound = 50'000});
  rows.push_back({.label = at + ", pushes missed",
                  .unit = Unit::kCount,
                  .groupchat_key = key + ".missed",
                  .target = Target::kValueAtMost,
                  .bound = 0});
  rows.push_back({.label = at + ", every receipt, p50",
                  .unit = Unit::kMicros,
                  .groupchat_key = key + ".p50_us"});
  rows.push_back(
      {.label = at + ", burst of " + format_count(burst) + " pipelined, until all have all",
       .unit = Unit::kMillis,
       .groupchat_key = key + ".burst_all_ms"});
  rows.push_back({.label = at + ", group server CPU per push delivered",
                  .unit = Unit::kMicros,
                  .groupchat_key = key + ".cpu_us_per_push"});
}

}  // namespace

std::vector<Row> table_rows(const Figures& figures, const Sizes& sizes) {
  const double small = figures.value("reads.small.size").value_or(sizes.small_store);
  const double large = figures.value("reads.large.size").value_or(sizes.large_store);
  const std::string at_small = format_count(small) + " stored";
  const std::string at_large = format_count(large) + " stored";
  const std::string pipeline =
      fmt::format("{} DEALERs x {} in flight", sizes.clients, sizes.window);
  const std::string few =
      format_count(sizes.few_followers) + (sizes.few_followers == 1 ? " follower" : " followers");
  const std::string many = format_count(sizes.many_followers) + " followers";
  const std::string idle_window = format_count(sizes.idle_window.count() / 1000.0) + " s";
  std::vector<Row> rows = {
      {.label = "sequential send round trip, p50",
       .unit = Unit::kMicros,
       .groupchat_key = "sequential.groupchat.p50_us",
       .baseline_key = "sequential.bare.p50_us",
       .baseline_name = "(bare REQ/REP)",
       .target = Target::kRatioAtMost,
       .bound = 1.2},
      {.label = "sequential send round trip, p99",
       .unit = Unit::kMicros,
       .groupchat_key = "sequential.groupchat.p99_us",
       .baseline_key = "sequential.bare.p99_us",
       .baseline_name = "(bare REQ/REP)"},
      {.label = "group server CPU per sequential send",
       .unit = Unit::kMicros,
       .groupchat_key = "sequential.groupchat.cpu_us"},
      {.label = "sequential send round trip, curve group, p50",
       .unit = Unit::kMicros,
       .groupchat_key = "sequential.groupchat_curve.p50_us",
       .baseline_key = "sequential.groupchat.p50_us",
       .baseline_name = "(open group p50)",
       .target = Target::kRatioAtMost,
       .bound = 1.5},
      {.label = "sequential send round trip, curve group, p99",
       .unit = Unit::kMicros,
       .groupchat_key = "sequential.groupchat_curve.p99_us",
       .baseline_key = "sequential.groupchat.p99_us",
       .baseline_name = "(open group p99)"},
      {.label = "... bare REQ/REP in CURVE (the transport alone), p50",
       .unit = Unit::kMicros,
       .groupchat_key = "sequential.bare_curve.p50_us",
       .baseline_key = "sequential.bare.p50_us",
       .baseline_name = "(bare REQ/REP)"},
      {.label = "sequential send round trip, curve group vs bare in CURVE, p50",
       .unit = Unit::kMicros,
       .groupchat_key = "sequential.groupchat_curve.p50_us",
       .baseline_key = "sequential.bare_curve.p50_us",
       .baseline_name = "(bare REQ/REP in CURVE)"},
      {.label = "group server CPU per sequential send, curve group",
       .unit = Unit::kMicros,
       .groupchat_key = "sequential.groupchat_curve.cpu_us",
       .baseline_key = "sequential.groupchat.cpu_us",
       .baseline_name = "(open group)"},
      {.label = "pipelined durable send, " + pipeline,
       .unit = Unit::kPerSecond,
       .groupchat_key = "pipelined.groupchat.per_s",
       .baseline_key = "pipelined.bare.per_s",
       .baseline_name = "(bare ROUTER echo)",
       .target = Target::kRatioAtLeast,
       .bound = 0.5},
      {.label = "pipelined durable send vs Redis",
       .unit = Unit::kPerSecond,
       .groupchat_key = "pipelined.groupchat.per_s",
       .baseline_key = "redis.xadd.per_s",
       .baseline_name = "(Redis XADD, AOF everysec)",
       .target = Target::kRatioAtLeast,
       .bound = 1.0},
      {.label = "group server CPU per pipelined send",
       .unit = Unit::kMicros,
       .groupchat_key = "pipelined.groupchat.cpu_us"},
      {.label = "pipelined durable send, curve group, " + pipeline,
       .unit = Unit::kPerSecond,
       .groupchat_key = "pipelined.groupchat_curve.per_s",
       .baseline_key = "pipelined.groupchat.per_s",
       .baseline_name = "(open group)",
       .target = Target::kRatioAtLeast,
       .bound = 0.6},
      {.label = "... bare ROUTER echo in CURVE (the transport alone)",
       .unit = Unit::kPerSecond,
       .groupchat_key = "pipelined.bare_curve.per_s",
       .baseline_key = "pipelined.bare.per_s",
       .baseline_name = "(bare ROUTER echo)"},
      {.label = "pipelined durable send, curve group vs bare in CURVE",
       .unit = Unit::kPerSecond,
       .groupchat_key = "pipelined.groupchat_curve.per_s",
       .baseline_key = "pipelined.bare_curve.per_s",
       .baseline_name = "(bare ROUTER echo in CURVE)"},
      {.label = "group server CPU per pipelined send, curve group",
       .unit = Unit::kMicros,
       .groupchat_key = "pipelined.groupchat_curve.cpu_us",
       .baseline_key = "pipelined.groupchat.cpu_us",
       .baseline_name = "(open group)"},
      {.label = "getMessage newest 100, " + at_small + ", p50",
       .unit = Unit::kMicros,
       .groupchat_key = "reads.get.small.p50_us",
       .baseline_key = "sequential.groupchat.p50_us",
       .baseline_name = "(send round trip p50)",
       .target = Target::kRatioAtMost,
       .bound = 2.0},
      {.label = "getMessage newest 100, " + at_large + ", p50",
       .unit = Unit::kMicros,
       .groupchat_key = "reads.get.large.p50_us",
       .baseline_key = "sequential.groupchat.p50_us",
       .baseline_name = "(send round trip p50)",
       .target = Target::kRatioAtMost,
       .bound = 2.0},
      {.label = "getMessage newest 100, " + at_large + " vs " + at_small,
       .unit = Unit::kMicros,
       .groupchat_key = "reads.get.large.p50_us",
       .baseline_key = "reads.get.small.p50_us",
       .baseline_name = "(p50 at " + format_count(small) + ")",
       .target = Target::kRatioAtMost,
       .bound = 1.25},
      {.label = "getMessage newest 100, " + at_small + " vs Redis",
       .unit = Unit::kMicros,
       .groupchat_key = "reads.get.small.p50_us",
       .baseline_key = "redis.get.small.p50_us",
       .baseline_name = "(XREVRANGE COUNT 100)"},
      {.label = "getMessage newest 100, " + at_large + " vs Redis",
       .unit = Unit::kMicros,
       .groupchat_key = "reads.get.large.p50_us",
       .baseline_key = "redis.get.large.p50_us",
       .baseline_name = "(XREVRANGE COUNT 100)"},
      {.label = "filling the store (pipelined send)",
       .unit = Unit::kPerSecond,
       .groupchat_key = "reads.fill.large.per_s",
       .baseline_key = "redis.fill.large.per_s",
       .baseline_name = "(Redis XADD)"},
      {.label = "group server RSS, " + at_large,
       .unit = Unit::kMiB,
       .groupchat_key = "idle.rss_mib",
       .baseline_key = "redis.rss_mib",
       .baseline_name = "(redis-server, same stream)",
       .target = Target::kValueAtMost,
       .bound = 100},
      {.label = "group server idle CPU over " + idle_window,
       .unit = Unit::kCpuMillis,
       .groupchat_key = "idle.idle_cpu_ms",
       .target = Target::kValueAtMost,
       .bound = 0},
      {.label = "registry idle CPU over " + idle_window,
       .unit = Unit::kCpuMillis,
       .groupchat_key = "idle.registry_idle_cpu_ms",
       .target = Target::kValueAtMost,
       .bound = 0},
      // The tick-based rows above move in 10 ms steps; these say what the
      // heartbeats and timers of an idle server really cost.
      {.label = "... group server idle CPU, scheduler count",
       .unit = Unit::kMicros,
       .groupchat_key = "idle.idle_cpu_exact_us"},
      {.label = "... registry idle CPU, scheduler count",
       .unit = Unit::kMicros,
       .groupchat_key = "idle.registry_idle_cpu_exact_us"},
      {.label = "live delivery (SUCCESS to push), " + few + ", p50",
       .unit = Unit::kMicros,
       .groupchat_key = "live_delivery.few.p50_us",
       .baseline_key = "sequential.groupchat.p50_us",
       .baseline_name = "(send round trip p50)"},
      {.label = "live delivery, " + few + ", p99",
       .unit = Unit::kMicros,
       .groupchat_key = "live_delivery.few.p99_us"},
      {.label = "live delivery, " + many + ", p50 of every receipt",
       .unit = Unit::kMicros,
       .groupchat_key = "live_delivery.many.p50_us",
       .baseline_key = "live_delivery.few.p50_us",
       .baseline_name = "(p50 with " + few + ")"},
      {.label = "live delivery, " + many + ", p99 of every receipt",
       .unit = Unit::kMicros,
       .groupchat_key = "live_delivery.many.p99_us"},
      {.label = "live delivery, " + many + ", last receipt per send, p50",
       .unit = Unit::kMicros,
       .groupchat_key = "live_delivery.many.last.p50_us"},
      {.label = "live delivery, " + many + ", last receipt per send, p99",
       .unit = Unit::kMicros,
       .groupchat_key = "live_delivery.many.last.p99_us"},
      // A follower's push in a curve group is one more CURVE box per follower.
      {.label = "live delivery, curve group, " + few + ", pushes received",
       .unit = Unit::kPerSecond,
       .groupchat_key = "live_delivery.few_curve.per_s",
       .baseline_key = "live_delivery.few.per_s",
       .baseline_name = "(open group)"},
      {.label = "live delivery, curve group, " + few + ", p50",
       .unit = Unit::kMicros,
       .groupchat_key = "live_delivery.few_curve.p50_us",
       .baseline_key = "live_delivery.few.p50_us",
       .baseline_name = "(open group p50)"},
      {.label = "live delivery, curve group, " + many + ", pushes received",
       .unit = Unit::kPerSecond,
       .groupchat_key = "live_delivery.many_curve.per_s",
       .baseline_key = "live_delivery.many.per_s",
       .baseline_name = "(open group)"},
      {.label = "live delivery, curve group, " + many + ", p50 of every receipt",
       .unit = Unit::kMicros,
       .groupchat_key = "live_delivery.many_curve.p50_us",
       .baseline_key = "live_delivery.many.p50_us",
       .baseline_name = "(open group p50)"},
      {.label = "live delivery, curve group, " + many + ", last receipt per send, p50",
       .unit = Unit::kMicros,
       .groupchat_key = "live_delivery.many_curve.last.p50_us",
       .baseline_key = "live_delivery.many.last.p50_us",
       .baseline_name = "(open group)"},
      // groupchat vs the reference group (--reference-dir): ours / theirs.
      {.label = "sequential send round trip, p50, groupchat vs the reference group",
       .unit = Unit::kMicros,
       .groupchat_key = "sequential.groupchat.p50_us",
       .baseline_key = "reference.sequential.p50_us",
       .baseline_name = "(reference group.py)"},
      {.label = "pipelined durable send, groupchat vs the reference group",
       .unit = Unit::kPerSecond,
       .groupchat_key = "pipelined.groupchat.per_s",
       .baseline_key = "reference.pipelined.per_s",
       .baseline_name = "(reference group.py)"},
  };
  // The ends of the history curve (the whole curve is in the JSON and the plots).
  if (sizes.history_sizes.size() >= 2) {
    const size_t first = sizes.history_sizes.front(), last = sizes.history_sizes.back();
    const std::string key_first = fmt::format("history.h{}", first);
    const std::string key_last = fmt::format("history.h{}", last);
    rows.push_back({.label = fmt::format("getMessage newest 100, {} stored vs {} (history curve)",
                                         format_count(last), format_count(first)),
                    .unit = Unit::kMicros,
                    .groupchat_key = key_last + ".get.p50_us",
                    .baseline_key = key_first + ".get.p50_us",
                    .baseline_name = fmt::format("(p50 at {})", format_count(first))});
    rows.push_back(
        {.label = fmt::format("group server RSS, {} stored (history curve)", format_count(last)),
         .unit = Unit::kMiB,
         .groupchat_key = key_last + ".rss_mib",
         .baseline_key = key_first + ".rss_mib",
         .baseline_name = fmt::format("(RSS at {})", format_count(first))});
  }
  for (const size_t n : sizes.fanout_followers) append_fanout_rows(rows, n, sizes.fanout_burst);
  return rows;
}

}  // namespace bench

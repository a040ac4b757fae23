#include "scenarios.hpp"

#include <fmt/format.h>

namespace bench {

const std::vector<Scenario>& scenarios() {
  static const std::vector<Scenario> list = {
      {"sequential", "sequential sendMessage round trip", sequential_send},
      {"pipelined", "pipelined durable sendMessage", pipelined_send},
      {"reads", "getMessage newest 100, small and large store", read_newest},
      {"idle", "group server memory and idle CPU", memory_and_idle},
      {"redis", "redis-server baseline (XADD, XREVRANGE, AOF everysec)", redis_baseline},
      {"live_delivery", "live delivery to 1 and to many followers", live_delivery},
  };
  return list;
}

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
  return {
      {.label = "sequential send round trip, p50",
       .unit = Unit::kMicros,
       .groupchat_key = "sequential.groupchat.p50_us",
       .baseline_key = "sequential.bare.p50_us",
       .baseline_name = "(bare REQ/REP)",
       .target = Target::kRatioAtMost,
       .bound = 1.3},
      {.label = "sequential send round trip, p99",
       .unit = Unit::kMicros,
       .groupchat_key = "sequential.groupchat.p99_us",
       .baseline_key = "sequential.bare.p99_us",
       .baseline_name = "(bare REQ/REP)"},
      {.label = "group server CPU per sequential send",
       .unit = Unit::kMicros,
       .groupchat_key = "sequential.groupchat.cpu_us"},
      {.label = "pipelined durable send, " + pipeline,
       .unit = Unit::kPerSecond,
       .groupchat_key = "pipelined.groupchat.per_s",
       .baseline_key = "pipelined.bare.per_s",
       .baseline_name = "(bare ROUTER echo)",
       .target = Target::kRatioAtLeast,
       .bound = 0.4},
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
  };
}

}  // namespace bench

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
  return {
      {"sequential send round trip, p50", Unit::kMicros, "sequential.groupchat.p50_us",
       "sequential.bare.p50_us", "(bare REQ/REP)", Target::kRatioAtMost, 1.3},
      {"sequential send round trip, p99", Unit::kMicros, "sequential.groupchat.p99_us",
       "sequential.bare.p99_us", "(bare REQ/REP)", Target::kNone, 0},
      {"group server CPU per sequential send", Unit::kMicros, "sequential.groupchat.cpu_us", "", "",
       Target::kNone, 0},
      {"pipelined durable send, " + pipeline, Unit::kPerSecond, "pipelined.groupchat.per_s",
       "pipelined.bare.per_s", "(bare ROUTER echo)", Target::kRatioAtLeast, 0.4},
      {"pipelined durable send vs Redis", Unit::kPerSecond, "pipelined.groupchat.per_s",
       "redis.xadd.per_s", "(Redis XADD, AOF everysec)", Target::kRatioAtLeast, 1.0},
      {"group server CPU per pipelined send", Unit::kMicros, "pipelined.groupchat.cpu_us", "", "",
       Target::kNone, 0},
      {"getMessage newest 100, " + at_small + ", p50", Unit::kMicros, "reads.get.small.p50_us",
       "sequential.groupchat.p50_us", "(send round trip p50)", Target::kRatioAtMost, 2.0},
      {"getMessage newest 100, " + at_large + ", p50", Unit::kMicros, "reads.get.large.p50_us",
       "sequential.groupchat.p50_us", "(send round trip p50)", Target::kRatioAtMost, 2.0},
      {"getMessage newest 100, " + at_large + " vs " + at_small, Unit::kMicros,
       "reads.get.large.p50_us", "reads.get.small.p50_us", "(p50 at " + format_count(small) + ")",
       Target::kRatioAtMost, 1.25},
      {"getMessage newest 100, " + at_small + " vs Redis", Unit::kMicros, "reads.get.small.p50_us",
       "redis.get.small.p50_us", "(XREVRANGE COUNT 100)", Target::kNone, 0},
      {"getMessage newest 100, " + at_large + " vs Redis", Unit::kMicros, "reads.get.large.p50_us",
       "redis.get.large.p50_us", "(XREVRANGE COUNT 100)", Target::kNone, 0},
      {"filling the store (pipelined send)", Unit::kPerSecond, "reads.fill.large.per_s",
       "redis.fill.large.per_s", "(Redis XADD)", Target::kNone, 0},
      {"group server RSS, " + at_large, Unit::kMiB, "idle.rss_mib", "redis.rss_mib",
       "(redis-server, same stream)", Target::kValueAtMost, 100},
      {"group server idle CPU over " + format_count(sizes.idle_window.count() / 1000.0) + " s",
       Unit::kCpuMillis, "idle.idle_cpu_ms", "", "", Target::kValueAtMost, 0},
      {"registry idle CPU over " + format_count(sizes.idle_window.count() / 1000.0) + " s",
       Unit::kCpuMillis, "idle.registry_idle_cpu_ms", "", "", Target::kValueAtMost, 0},
      // The tick-based rows above move in 10 ms steps; these say what the
      // heartbeats and timers of an idle server really cost.
      {"... group server idle CPU, scheduler count", Unit::kMicros, "idle.idle_cpu_exact_us", "",
       "", Target::kNone, 0},
      {"... registry idle CPU, scheduler count", Unit::kMicros, "idle.registry_idle_cpu_exact_us",
       "", "", Target::kNone, 0},
      {"live delivery (SUCCESS to push), " + few + ", p50", Unit::kMicros,
       "live_delivery.few.p50_us", "sequential.groupchat.p50_us", "(send round trip p50)",
       Target::kNone, 0},
      {"live delivery, " + few + ", p99", Unit::kMicros, "live_delivery.few.p99_us", "", "",
       Target::kNone, 0},
      {"live delivery, " + many + ", p50 of every receipt", Unit::kMicros,
       "live_delivery.many.p50_us", "live_delivery.few.p50_us", "(p50 with " + few + ")",
       Target::kNone, 0},
      {"live delivery, " + many + ", p99 of every receipt", Unit::kMicros,
       "live_delivery.many.p99_us", "", "", Target::kNone, 0},
      {"live delivery, " + many + ", last receipt per send, p50", Unit::kMicros,
       "live_delivery.many.last.p50_us", "", "", Target::kNone, 0},
      {"live delivery, " + many + ", last receipt per send, p99", Unit::kMicros,
       "live_delivery.many.last.p99_us", "", "", Target::kNone, 0},
  };
}

}  // namespace bench

#include "scenarios.hpp"

#include <fmt/format.h>

namespace bench {

const std::vector<Scenario>& scenarios() {
  static const std::vector<Scenario> list = {
      {"a", "sequential sendMessage round trip", sequential_send},
      {"b", "pipelined durable sendMessage", pipelined_send},
      {"c", "getMessage newest 100, small and large store", read_newest},
      {"d", "group server memory and idle CPU", memory_and_idle},
      {"e", "redis-server baseline (XADD, XREVRANGE, AOF everysec)", redis_baseline},
      {"f", "live delivery to 1 and to many followers", live_delivery},
  };
  return list;
}

std::vector<Row> table_rows(const Figures& figures, const Sizes& sizes) {
  const double small = figures.value("c.small.size").value_or(sizes.small_store);
  const double large = figures.value("c.large.size").value_or(sizes.large_store);
  const std::string at_small = format_count(small) + " stored";
  const std::string at_large = format_count(large) + " stored";
  const std::string pipeline =
      fmt::format("{} DEALERs x {} in flight", sizes.clients, sizes.window);
  const std::string few =
      format_count(sizes.few_followers) + (sizes.few_followers == 1 ? " follower" : " followers");
  const std::string many = format_count(sizes.many_followers) + " followers";
  return {
      {"a. sequential send round trip, p50", Unit::kMicros, "a.groupchat.p50_us", "a.bare.p50_us",
       "(bare REQ/REP)", Target::kRatioAtMost, 1.3},
      {"a. sequential send round trip, p99", Unit::kMicros, "a.groupchat.p99_us", "a.bare.p99_us",
       "(bare REQ/REP)", Target::kNone, 0},
      {"a. group server CPU per sequential send", Unit::kMicros, "a.groupchat.cpu_us", "", "",
       Target::kNone, 0},
      {"b. pipelined durable send, " + pipeline, Unit::kPerSecond, "b.groupchat.per_s",
       "b.bare.per_s", "(bare ROUTER echo)", Target::kRatioAtLeast, 0.4},
      {"b. pipelined durable send vs Redis", Unit::kPerSecond, "b.groupchat.per_s", "e.xadd.per_s",
       "(Redis XADD, AOF everysec)", Target::kRatioAtLeast, 1.0},
      {"b. group server CPU per pipelined send", Unit::kMicros, "b.groupchat.cpu_us", "", "",
       Target::kNone, 0},
      {"c. getMessage newest 100, " + at_small + ", p50", Unit::kMicros, "c.get.small.p50_us",
       "a.groupchat.p50_us", "(send round trip p50)", Target::kRatioAtMost, 2.0},
      {"c. getMessage newest 100, " + at_large + ", p50", Unit::kMicros, "c.get.large.p50_us",
       "a.groupchat.p50_us", "(send round trip p50)", Target::kRatioAtMost, 2.0},
      {"c. getMessage newest 100, " + at_large + " vs " + at_small, Unit::kMicros,
       "c.get.large.p50_us", "c.get.small.p50_us", "(p50 at " + format_count(small) + ")",
       Target::kRatioAtMost, 1.25},
      {"c. getMessage newest 100, " + at_small + " vs Redis", Unit::kMicros, "c.get.small.p50_us",
       "e.get.small.p50_us", "(XREVRANGE COUNT 100)", Target::kNone, 0},
      {"c. getMessage newest 100, " + at_large + " vs Redis", Unit::kMicros, "c.get.large.p50_us",
       "e.get.large.p50_us", "(XREVRANGE COUNT 100)", Target::kNone, 0},
      {"c. filling the store (pipelined send)", Unit::kPerSecond, "c.fill.large.per_s",
       "e.fill.large.per_s", "(Redis XADD)", Target::kNone, 0},
      {"d. group server RSS, " + at_large, Unit::kMiB, "d.rss_mib", "e.rss_mib",
       "(redis-server, same stream)", Target::kValueAtMost, 100},
      {"d. group server idle CPU over " + format_count(sizes.idle_window.count() / 1000.0) + " s",
       Unit::kCpuMillis, "d.idle_cpu_ms", "", "", Target::kValueAtMost, 0},
      {"d. registry idle CPU over " + format_count(sizes.idle_window.count() / 1000.0) + " s",
       Unit::kCpuMillis, "d.registry_idle_cpu_ms", "", "", Target::kValueAtMost, 0},
      // The tick-based rows above move in 10 ms steps; these say what the
      // heartbeats and timers of an idle server really cost.
      {"d. ... group server idle CPU, scheduler count", Unit::kMicros, "d.idle_cpu_exact_us", "",
       "", Target::kNone, 0},
      {"d. ... registry idle CPU, scheduler count", Unit::kMicros, "d.registry_idle_cpu_exact_us",
       "", "", Target::kNone, 0},
      {"f. live delivery (SUCCESS to push), " + few + ", p50", Unit::kMicros, "f.few.p50_us",
       "a.groupchat.p50_us", "(send round trip p50)", Target::kNone, 0},
      {"f. live delivery, " + few + ", p99", Unit::kMicros, "f.few.p99_us", "", "", Target::kNone,
       0},
      {"f. live delivery, " + many + ", p50 of every receipt", Unit::kMicros, "f.many.p50_us",
       "f.few.p50_us", "(p50 with " + few + ")", Target::kNone, 0},
      {"f. live delivery, " + many + ", p99 of every receipt", Unit::kMicros, "f.many.p99_us", "",
       "", Target::kNone, 0},
      {"f. live delivery, " + many + ", last receipt per send, p50", Unit::kMicros,
       "f.many.last.p50_us", "", "", Target::kNone, 0},
      {"f. live delivery, " + many + ", last receipt per send, p99", Unit::kMicros,
       "f.many.last.p99_us", "", "", Target::kNone, 0},
  };
}

}  // namespace bench

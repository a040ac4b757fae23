// The baselines of the pipelined and reads scenarios from redis-server with an
// append-only file: XADD throughput, XREVRANGE latency at the same store
// sizes, and its memory holding the large stream.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "measure.hpp"
#include "scenarios.hpp"

namespace bench {

using namespace std::chrono_literals;

void redis_baseline(BenchRun& run) {
  const std::vector<std::string> keys = {"redis.xadd.per_s",       "redis.get.small.p50_us",
                                         "redis.get.large.p50_us", "redis.get.small.p99_us",
                                         "redis.get.large.p99_us", "redis.fill.large.per_s",
                                         "redis.rss_mib"};
  if (run.redis_server.empty()) {
    for (const auto& key : keys) run.figures.missing(key, "skipped (redis-server not installed)");
    progress("  skipped (redis-server not installed)");
    return;
  }
  const Sizes& z = run.sizes;
  const auto dir = run.data.path() / "redis";
  std::filesystem::create_directories(dir);
  const uint16_t port = free_loopback_port();
  ChildProcess redis;
  redis.start({run.redis_server, "--port", std::to_string(port), "--bind", "127.0.0.1",
               "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--dir",
               dir.string(), "--logfile", "", "--daemonize", "no"},
              ChildProcess::Capture::kStdoutAndStderr);
  redis.wait_for_line("Ready to accept connections", 15s);

  const std::string text = message_text(z.message_bytes);
  auto xadd = [&](const std::string& key) {
    std::vector<std::string> commands;
    for (size_t i = 0; i < z.clients; ++i)
      commands.push_back(
          resp_command({"XADD", key, "*", "user_uuid", client_user(i), "message", text}));
    return commands;
  };
  PipelineResult rate;
  for (size_t round = 0; round < kRounds && !g_stop_requested && rate.error.empty(); ++round)
    merge(rate, resp_pipelined(port, xadd("bench:rate"), z.window, per_round(z.pipelined)));
  record_rate(run, "redis.xadd", rate);
  {
    RespConnection conn(port);
    conn.call(resp_command({"DEL", "bench:rate"}));
  }

  // Streams of the sizes groupchat reached, so that the read figures compare like for like.
  const auto fill_deadline = Clock::now() + z.fill_time;
  auto fill = [&](const std::string& key, size_t target, const std::string& figure) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(fill_deadline - Clock::now());
    PipelineResult r = resp_pipelined(port, xadd(key), z.window, {target, std::max(left, 1ms)});
    if (!r.error.empty() || r.failed > 0)
      throw std::runtime_error("filling the redis stream: " +
                               (r.error.empty() ? fmt::format("{} errors", r.failed) : r.error));
    run.figures.set(figure, r.per_second());
    return r.completed;
  };
  auto size_of = [&](const char* key, size_t fallback) {
    return static_cast<size_t>(run.figures.value(key).value_or(static_cast<double>(fallback)));
  };
  const size_t small =
      fill("bench:small", size_of("reads.small.size", z.small_store), "redis.fill.small.per_s");
  const size_t large =
      fill("bench:large", size_of("reads.large.size", z.large_store), "redis.fill.large.per_s");
  run.figures.set("redis.small.size", static_cast<double>(small));
  run.figures.set("redis.large.size", static_cast<double>(large));
  const std::string small_cmd =
      resp_command({"XREVRANGE", "bench:small", "+", "-", "COUNT", "100"});
  const std::string large_cmd =
      resp_command({"XREVRANGE", "bench:large", "+", "-", "COUNT", "100"});
  const size_t warmup = std::max<size_t>(1, z.warmup / kRounds);
  auto results = alternate_round_trips(
      {[&](Bounds b) { return resp_round_trips(port, small_cmd, warmup, b); },
       [&](Bounds b) { return resp_round_trips(port, large_cmd, warmup, b); }},
      z.reads);
  record_latency(run, "redis.get.small", results[0]);
  record_latency(run, "redis.get.large", results[1]);
  const int64_t rss = resident_bytes(redis.pid());
  if (rss >= 0)
    run.figures.set("redis.rss_mib", rss / kMiB,
                    fmt::format("streams of {} and {} entries, in memory", format_count(small),
                                format_count(large)));
  redis.stop();
}

}  // namespace bench

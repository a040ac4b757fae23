// The latency of reading the newest 100 messages from a small and from a large
// store: whether a read costs the same however much history a group holds.
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "measure.hpp"
#include "protocol/group_protocol.hpp"
#include "scenarios.hpp"

namespace bench {

namespace {

std::string get_request(const std::string& user, uint64_t since_seq, int limit) {
  gc::MessageQuery query;
  query.since_seq = static_cast<int64_t>(since_seq);
  query.limit = limit;
  return gc::make_get_request(user, query);
}

// Fills an empty store by pipelined sends up to `target` messages or the
// deadline; returns the number stored (the highest seq seen).
uint64_t fill_group(BenchRun& run, const std::string& endpoint, size_t target,
                    Clock::time_point deadline, const std::string& figure) {
  if (target == 0) return 0;
  const Sizes& z = run.sizes;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  Bounds bounds{target, std::max(left, std::chrono::milliseconds(1))};
  progress(fmt::format("  filling to {} messages (at most {:.0f} s)", format_count(target),
                       bounds.max_time.count() / 1000.0));
  PipelineResult r = zmq_pipelined(run.ctx, endpoint, send_requests(z), z.window, bounds, true);
  if (!r.error.empty() || r.failed > 0)
    throw std::runtime_error(
        "filling the store: " +
        (r.error.empty() ? fmt::format("{} FAILED replies", r.failed) : r.error));
  run.figures.set(figure, r.per_second());
  return r.max_seq;
}

}  // namespace

std::string check_newest_page(const std::string& reply, uint64_t stored) {
  try {
    auto j = nlohmann::json::parse(reply);
    const auto& messages = j.at("messages");
    const size_t expected = std::min<uint64_t>(stored, 100);
    if (messages.size() != expected)
      return fmt::format("reply held {} messages, expected {}", messages.size(), expected);
    if (!messages.empty() && messages.back().at("seq").get<uint64_t>() != stored)
      return fmt::format("newest seq in reply {}, expected {}",
                         messages.back().at("seq").get<uint64_t>(), stored);
  } catch (const std::exception& e) {
    return std::string("reply is not a getMessage page: ") + e.what();
  }
  return {};
}

// Two group servers, read in turn; the large one is kept for memory_and_idle.
void read_newest(BenchRun& run) {
  const Sizes& z = run.sizes;
  const auto fill_deadline = Clock::now() + z.fill_time;
  std::string small_endpoint, large_endpoint;
  auto small_group = run.start_group("bench-read-small", small_endpoint);
  auto large_group = run.start_group("bench-read-large", large_endpoint);
  for (size_t i = 0; i < z.clients; ++i) {
    join(run, small_endpoint, client_user(i));
    join(run, large_endpoint, client_user(i));
  }
  const uint64_t small =
      fill_group(run, small_endpoint, z.small_store, fill_deadline, "reads.fill.small.per_s");
  const uint64_t large =
      fill_group(run, large_endpoint, z.large_store, fill_deadline, "reads.fill.large.per_s");
  auto size_note = [](uint64_t stored, size_t target) {
    return stored < target ? fmt::format("size reached {} of {} (fill time bound)",
                                         format_count(stored), format_count(target))
                           : std::string();
  };
  run.figures.set("reads.small.size", static_cast<double>(small), size_note(small, z.small_store));
  run.figures.set("reads.large.size", static_cast<double>(large), size_note(large, z.large_store));

  auto newest = [&](uint64_t stored) {
    return get_request(client_user(0), stored - std::min<uint64_t>(stored, 100), 100);
  };
  const std::string small_request = newest(small), large_request = newest(large);
  const size_t warmup = std::max<size_t>(1, z.warmup / kRounds);
  auto results = alternate_round_trips(
      {[&](Bounds b) { return zmq_round_trips(run.ctx, small_endpoint, small_request, warmup, b); },
       [&](Bounds b) {
         return zmq_round_trips(run.ctx, large_endpoint, large_request, warmup, b);
       }},
      z.reads);
  record_latency(run, "reads.get.small", results[0]);
  record_latency(run, "reads.get.large", results[1]);
  if (std::string bad = check_newest_page(results[0].last_reply, small); !bad.empty())
    throw std::runtime_error("getMessage newest 100: " + bad);
  if (std::string bad = check_newest_page(results[1].last_reply, large); !bad.empty())
    throw std::runtime_error("getMessage newest 100: " + bad);
  small_group->stop();
  run.read_group = std::move(large_group);
}

}  // namespace bench

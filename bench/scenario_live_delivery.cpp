// The time from a sender's SUCCESS to each follower's receipt of the push,
// with one follower and with many: what live delivery and its fan-out cost.
#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <stdexcept>

#include "measure.hpp"
#include "scenarios.hpp"

namespace bench {

using namespace std::chrono_literals;

namespace {

// Each follower is a socket and a connection on both sides: make sure the
// descriptor limit is not what a large fan-out measures.
void raise_descriptor_limit() {
  struct rlimit lim {};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &lim);
  }
}

std::string follower_user(size_t i) {
  return fmt::format("bench-follower-{}", i);
}

}  // namespace

void live_delivery(BenchRun& run) {
  const Sizes& z = run.sizes;
  raise_descriptor_limit();
  std::string endpoint;
  // Every follower connects from 127.0.0.1: let one address hold them all.
  const std::string per_address = std::to_string(z.many_followers + 64);
  auto group = run.start_group(
      "bench-live", endpoint,
      {"--max-connections-per-address", per_address, "--max-follows-per-address", per_address});
  join(run, endpoint, client_user(0));
  const std::string request = send_request(client_user(0), message_text(z.message_bytes));
  const size_t warmup = std::max<size_t>(5, z.warmup / kRounds);
  size_t joined = 0;
  const std::vector<std::pair<size_t, std::string>> runs = {
      {z.few_followers, "live_delivery.few"}, {z.many_followers, "live_delivery.many"}};
  const std::vector<std::string> suffixes = {".p50_us", ".p99_us", ".last.p50_us", ".last.p99_us"};
  for (const auto& [count, key] : runs) {
    std::vector<std::string> users;
    for (size_t i = 0; i < count; ++i) users.push_back(follower_user(i));
    progress(fmt::format("  {} follower(s): joining", count));
    for (; joined < count; ++joined) join(run, endpoint, follower_user(joined));
    PushLatencyResult r =
        zmq_push_latency(run.ctx, endpoint, request, users, warmup, z.live, 1000ms);
    if (r.unsupported) {
      // An older group_server: say so in the table instead of failing the run.
      for (const auto& [c, k] : runs)
        for (const auto& suffix : suffixes)
          run.figures.missing(k + suffix, "not available (group_server does not serve follow)");
      progress("  not available: " + r.error);
      group->stop();
      return;
    }
    if (!r.error.empty() || r.latencies_us.empty()) {
      const std::string why = r.error.empty() ? "no push arrived" : r.error;
      for (const auto& suffix : suffixes) run.figures.missing(key + suffix, why);
      throw std::runtime_error(key + ": " + why);
    }
    const LatencyStats all = summarize(r.latencies_us);
    const LatencyStats last = summarize(r.last_us);
    const std::string note =
        fmt::format("{} sends x {} followers{}; {} pushes missed, {} read before the reply",
                    r.sends, count, r.cut_by_time ? " (time bound)" : "", r.missed, r.early);
    run.figures.set(key + ".p50_us", all.p50_us, note);
    run.figures.set(key + ".p99_us", all.p99_us, note);
    run.figures.set(key + ".missed", static_cast<double>(r.missed), note);
    run.figures.set(key + ".followers", static_cast<double>(count));
    if (!r.last_us.empty()) {
      run.figures.set(key + ".last.p50_us", last.p50_us, note);
      run.figures.set(key + ".last.p99_us", last.p99_us, note);
    } else {
      run.figures.missing(key + ".last.p50_us", "no send reached every follower");
      run.figures.missing(key + ".last.p99_us", "no send reached every follower");
    }
    progress(
        fmt::format("  {} follower(s): {} sends, p50 {:.1f} us, p99 {:.1f} us, last p50 "
                    "{:.1f} us, {} missed",
                    count, r.sends, all.p50_us, all.p99_us, last.p50_us, r.missed));
  }
  group->stop();
}

}  // namespace bench

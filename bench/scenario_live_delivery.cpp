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

const std::vector<std::string> kSuffixes = {".p50_us", ".p99_us", ".last.p50_us", ".last.p99_us",
                                            ".per_s"};

// The follower counts measured and the key of each one's figures.
std::vector<std::pair<size_t, std::string>> live_runs(const Sizes& z, const std::string& mode) {
  return {{z.few_followers, "live_delivery.few" + mode},
          {z.many_followers, "live_delivery.many" + mode}};
}

// The follower counts of one group, `mode` "" (open) or "_curve": the
// figures go under live_delivery.few<mode> and live_delivery.many<mode>.
// False when the group does not serve follow (an older group_server).
bool measure_group(BenchRun& run, const std::string& endpoint, const ClientKeys& keys,
                   const std::string& mode) {
  const Sizes& z = run.sizes;
  join(run, endpoint, client_user(0), keys, 0);
  const std::string request = send_request(client_user(0), message_text(z.message_bytes));
  const size_t warmup = std::max<size_t>(5, z.warmup / kRounds);
  size_t joined = 0;
  for (const auto& [count, key] : live_runs(z, mode)) {
    std::vector<std::string> users;
    for (size_t i = 0; i < count; ++i) users.push_back(follower_user(i));
    progress(fmt::format("  {} follower(s){}: joining", count, keys.curve() ? ", curve" : ""));
    for (; joined < count; ++joined) join(run, endpoint, follower_user(joined), keys, joined + 1);
    PushLatencyResult r =
        zmq_push_latency(run.ctx, endpoint, request, users, warmup, z.live, 1000ms, keys);
    if (r.unsupported) {
      progress("  not available: " + r.error);
      return false;
    }
    if (!r.error.empty() || r.latencies_us.empty()) {
      const std::string why = r.error.empty() ? "no push arrived" : r.error;
      for (const auto& suffix : kSuffixes) run.figures.missing(key + suffix, why);
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
    const double per_s = r.seconds > 0 ? r.latencies_us.size() / r.seconds : 0;
    run.figures.set(
        key + ".per_s", per_s,
        fmt::format("{} pushes received in {:.2f} s", r.latencies_us.size(), r.seconds));
    if (!r.last_us.empty()) {
      run.figures.set(key + ".last.p50_us", last.p50_us, note);
      run.figures.set(key + ".last.p99_us", last.p99_us, note);
    } else {
      run.figures.missing(key + ".last.p50_us", "no send reached every follower");
      run.figures.missing(key + ".last.p99_us", "no send reached every follower");
    }
    progress(
        fmt::format("  {} follower(s){}: {} sends, p50 {:.1f} us, p99 {:.1f} us, last p50 "
                    "{:.1f} us, {:.0f} pushes/s, {} missed",
                    count, keys.curve() ? ", curve" : "", r.sends, all.p50_us, all.p99_us,
                    last.p50_us, per_s, r.missed));
  }
  return true;
}

void record_all_unavailable(BenchRun& run, const Sizes& z, const std::string& mode,
                            const std::string& why) {
  for (const auto& [count, key] : live_runs(z, mode))
    for (const auto& suffix : kSuffixes)
      run.figures.missing(key + suffix, "not available (" + why + ")");
}

}  // namespace

void live_delivery(BenchRun& run) {
  const Sizes& z = run.sizes;
  raise_descriptor_limit();
  // Every follower connects from 127.0.0.1: let one address hold them all.
  const std::string per_address = std::to_string(z.many_followers + 64);
  const std::vector<std::string> limits = {"--max-connections-per-address", per_address,
                                           "--max-follows-per-address", per_address};
  {
    std::string endpoint;
    auto group = run.start_group("bench-live", endpoint, limits);
    const bool served = measure_group(run, endpoint, ClientKeys{}, "");
    group->stop();
    if (!served) {
      // An older group_server: say so in the table instead of failing the run.
      const std::string why = "group_server does not serve follow";
      record_all_unavailable(run, z, "", why);
      record_all_unavailable(run, z, "_curve", why);
      return;
    }
  }
  // The sender is client 0, follower i client i + 1.
  CurveGroup curve = start_curve_group(run, "bench-live-curve", z.many_followers + 1, limits);
  if (!curve) {
    record_all_unavailable(run, z, "_curve", curve.unavailable);
    return;
  }
  if (!measure_group(run, curve.endpoint, curve.keys, "_curve"))
    throw std::runtime_error("the curve group does not serve follow, the open one does");
  curve.process->stop();
}

}  // namespace bench

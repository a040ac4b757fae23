// Fan-out: what a group server's live pushes cost at 1 to 10,000 followers.
// One fresh group per follower count; the followers live in a few follower
// processes (follower_process.hpp) that speak ZMTP by hand, so that they
// take little of the CPU the group server is measured on.
#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "follower_fleet.hpp"
#include "measure.hpp"
#include "protocol/group_protocol.hpp"
#include "scenarios.hpp"

namespace bench {

using namespace std::chrono_literals;

namespace {

// How long one single send waits for its pushes, and the burst for all of its own.
constexpr auto kPushDeadline = 2s;
constexpr auto kBurstDeadline = 30s;
// Follower counts from this one on send at most kLargeSends single messages.
constexpr size_t kLargeFollowers = 5000;
constexpr size_t kLargeSends = 100;
constexpr size_t kWarmup = 5;  // single sends before the measured ones
const std::string kSender = "bench-fanout-sender";

const std::vector<std::string> kSuffixes = {
    ".last.p50_us",  ".last.p99_us",  ".p50_us", ".p99_us",          ".missed",
    ".idle_rss_mib", ".burst_all_ms", ".cpu_ms", ".cpu_us_per_push", ".follower_cpu_ms"};

std::string key_for(size_t n) {
  return fmt::format("fanout.f{}", n);
}

size_t processes_for(size_t followers) {
  return std::clamp<size_t>(followers / 25, 1, 4);
}

int64_t to_ns(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

uint64_t seq_of_reply(std::string_view reply) {
  size_t at = reply.find("\"seq\":");
  if (at == std::string_view::npos) return 0;
  uint64_t v = 0;
  for (at += 6; at < reply.size() && reply[at] >= '0' && reply[at] <= '9'; ++at)
    v = v * 10 + static_cast<uint64_t>(reply[at] - '0');
  return v;
}

// The follower processes are this very program.
std::string self_program() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::runtime_error("cannot find groupchat_bench itself: " + ec.message());
  return self.string();
}

// Why `followers` cannot be measured on this machine, or empty.
std::string descriptor_shortage(size_t followers) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return {};
  const size_t need = followers + 128;  // the group's connections, its store, libzmq's own
  if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < need)
    return fmt::format(
        "descriptor limit too low: the hard RLIMIT_NOFILE is {}, {} followers need about {} "
        "in the group server",
        lim.rlim_max, followers, need);
  return {};
}

void raise_descriptor_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &lim);
  }
}

// Waits for one reply on `socket` (its last frame), at most kReplyTimeout.
std::string await_reply(zmq::socket_t& socket, const std::string& what) {
  zmq::pollitem_t items[] = {{socket.handle(), 0, ZMQ_POLLIN, 0}};
  zmq::poll(items, 1, kReplyTimeout);
  zmq::message_t frame;
  if (!(items[0].revents & ZMQ_POLLIN) || !socket.recv(frame, zmq::recv_flags::dontwait))
    throw std::runtime_error(
        fmt::format("no reply to {} within {} ms", what, kReplyTimeout.count()));
  while (frame.more()) (void)socket.recv(frame, zmq::recv_flags::none);
  std::string reply = frame.to_string();
  if (reply.find(kSuccessMark) == std::string::npos)
    throw std::runtime_error(what + " refused: " + reply.substr(0, 200));
  return reply;
}

struct SingleSends {
  std::vector<double> last_us;  // per measured send that reached every follower
  size_t sends = 0;             // measured sends
  size_t incomplete = 0;        // ... whose push had not reached every follower in time
  size_t early = 0;             // ... whose last push was read before the reply
  uint64_t first_seq = 0;       // the first seq sent (warm-up included)
  uint64_t last_seq = 0;
  bool cut_by_time = false;
};

// One REQ sender, one message at a time; each waits for its pushes.
SingleSends single_sends(BenchRun& run, const std::string& endpoint, FollowerFleet& fleet,
                         size_t warmup, Bounds bounds) {
  SingleSends r;
  zmq::socket_t req(run.ctx, zmq::socket_type::req);
  req.set(zmq::sockopt::linger, 0);
  req.connect(endpoint);
  const std::string request = send_request(kSender, message_text(run.sizes.message_bytes));
  const auto deadline = Clock::now() + bounds.max_time;
  for (size_t k = 0; k < warmup + bounds.max_count; ++k) {
    if (k >= warmup && (Clock::now() >= deadline || g_stop_requested)) {
      r.cut_by_time = true;
      break;
    }
    req.send(zmq::buffer(request), zmq::send_flags::none);
    const std::string reply = await_reply(req, "sendMessage");
    const auto t0 = Clock::now();
    const uint64_t seq = seq_of_reply(reply);
    if (r.first_seq == 0) r.first_seq = seq;
    r.last_seq = seq;
    fleet.sent(seq, k >= warmup ? std::optional(to_ns(t0)) : std::nullopt);
    const FollowerFleet::Arrival a = fleet.wait_for(seq, t0 + kPushDeadline);
    if (k < warmup) continue;
    ++r.sends;
    if (!a.complete) {
      ++r.incomplete;
      continue;
    }
    const double us = static_cast<double>(a.last_ns - to_ns(t0)) / 1000.0;
    if (us < 0) ++r.early;
    r.last_us.push_back(us);
  }
  return r;
}

struct Burst {
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  uint64_t fence_seq = 0;        // one more message after the burst
  std::optional<double> all_ms;  // first send to the last push's receipt, when all arrived
};

// `count` messages pipelined on one DEALER; waits for every push of them.
// One more message follows once they are all answered: a follower that has
// its push (or a later one) will never get a burst push it has not got, so
// a burst with pushes skipped is over then, not at the deadline.
Burst burst(BenchRun& run, const std::string& endpoint, FollowerFleet& fleet, size_t count) {
  zmq::socket_t dealer(run.ctx, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::linger, 0);
  dealer.connect(endpoint);
  auto send = [&](const std::string& body) {
    dealer.send(zmq::const_buffer(), zmq::send_flags::sndmore);
    dealer.send(zmq::buffer(body), zmq::send_flags::none);
  };
  // A round trip first, so that the burst does not wait for the connection.
  send(gc::make_whoami_request(kSender));
  (void)await_reply(dealer, "whoami");
  const std::string request = send_request(kSender, message_text(run.sizes.message_bytes));
  const auto start = Clock::now();
  for (size_t i = 0; i < count; ++i) send(request);
  Burst b;
  for (size_t i = 0; i < count; ++i)
    b.last_seq = std::max(b.last_seq, seq_of_reply(await_reply(dealer, "sendMessage (burst)")));
  b.first_seq = b.last_seq + 1 - count;
  send(request);
  b.fence_seq = seq_of_reply(await_reply(dealer, "sendMessage (after the burst)"));
  const FollowerFleet::Arrival a =
      fleet.wait_for_range(b.first_seq, b.last_seq, b.fence_seq, start + kBurstDeadline);
  if (a.complete) b.all_ms = static_cast<double>(a.last_ns - to_ns(start)) / 1e6;
  return b;
}

void record_sends(BenchRun& run, const std::string& key, const SingleSends& s, size_t followers) {
  const std::string note = fmt::format(
      "{} sends{} x {} followers; {} not at every follower within {} ms; {} with the last push "
      "read before the reply (negative, kept as is)",
      s.sends, s.cut_by_time ? " (time bound)" : "", followers, s.incomplete,
      std::chrono::milliseconds(kPushDeadline).count(), s.early);
  if (s.last_us.empty()) {
    run.figures.missing(key + ".last.p50_us", "no send reached every follower; " + note);
    run.figures.missing(key + ".last.p99_us", "no send reached every follower; " + note);
    return;
  }
  const LatencyStats last = summarize(s.last_us);
  run.figures.set(key + ".last.p50_us", last.p50_us, note);
  run.figures.set(key + ".last.p99_us", last.p99_us, note);
  run.figures.set(key + ".sends", static_cast<double>(s.sends));
}

void record_tally(BenchRun& run, const std::string& key, const FollowerFleet::Tally& t,
                  size_t pushes) {
  if (t.receipts.count() > 0) {
    const std::string note = fmt::format(
        "{} receipts of the measured single sends; pushes read before the reply count "
        "as 0",
        t.receipts.count());
    run.figures.set(key + ".p50_us", t.receipts.percentile(0.50), note);
    run.figures.set(key + ".p99_us", t.receipts.percentile(0.99), note);
  } else {
    run.figures.missing(key + ".p50_us", "no push arrived");
    run.figures.missing(key + ".p99_us", "no push arrived");
  }
  run.figures.set(
      key + ".missed", static_cast<double>(t.missed),
      fmt::format("of {} pushes (single sends, the burst and the message after it)", pushes));
}

// What one follower count measured after its followers were ready.
struct Measured {
  SingleSends singles;
  Burst burst;
  FollowerFleet::Tally tally;
  int64_t cpu_ms = 0;  // the group server's, over the sends and the burst
  double seconds = 0;  // ... which took this long
};

// Starts the followers and reads the group's RSS once they all follow.
void start_followers(BenchRun& run, FollowerFleet& fleet, const ChildProcess& group,
                     size_t followers, const std::string& key) {
  const auto joining = Clock::now();
  fleet.wait_ready(joining + 20s + followers * 4ms);
  const double join_s = std::chrono::duration<double>(Clock::now() - joining).count();
  run.figures.set(key + ".join_s", join_s, "every follower connected, joined and following");
  const int64_t rss = resident_bytes(group.pid());
  if (rss >= 0) run.figures.set(key + ".idle_rss_mib", static_cast<double>(rss) / kMiB);
  progress(
      fmt::format("  {} followers ({} follower process{}) joined and following in {:.1f} s; "
                  "group server RSS {:.1f} MiB",
                  followers, processes_for(followers), processes_for(followers) == 1 ? "" : "es",
                  join_s, rss / kMiB));
}

Measured send_all(BenchRun& run, const std::string& endpoint, FollowerFleet& fleet,
                  const ChildProcess& group, size_t followers) {
  Measured m;
  const int64_t cpu_before = cpu_time_ms(group.pid());
  const auto start = Clock::now();
  Bounds bounds = run.sizes.fanout_sends;
  if (followers >= kLargeFollowers) bounds.max_count = std::min(bounds.max_count, kLargeSends);
  m.singles = single_sends(run, endpoint, fleet, kWarmup, bounds);
  m.burst = burst(run, endpoint, fleet, run.sizes.fanout_burst);
  m.cpu_ms = cpu_time_ms(group.pid()) - cpu_before;
  m.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  m.tally = fleet.tally(m.singles.first_seq, m.burst.fence_seq);
  return m;
}

void record(BenchRun& run, const std::string& key, const Measured& m, size_t followers) {
  const size_t pushes = (m.burst.fence_seq - m.singles.first_seq + 1) * followers;
  record_sends(run, key, m.singles, followers);
  record_tally(run, key, m.tally, pushes);
  if (m.burst.all_ms)
    run.figures.set(key + ".burst_all_ms", *m.burst.all_ms,
                    fmt::format("{} messages pipelined", run.sizes.fanout_burst));
  else
    run.figures.missing(key + ".burst_all_ms",
                        fmt::format("not every push of the burst arrived within {} s",
                                    std::chrono::seconds(kBurstDeadline).count()));
  const std::string cpu_note = fmt::format(
      "over {:.2f} s of sends; the follower processes used {} ms from every follow confirmed",
      m.seconds, m.tally.cpu_ms);
  run.figures.set(key + ".cpu_ms", static_cast<double>(m.cpu_ms), cpu_note);
  run.figures.set(key + ".follower_cpu_ms", static_cast<double>(m.tally.cpu_ms),
                  "every follower process's CPU from every follow confirmed to the end, in all");
  if (pushes > m.tally.missed)
    run.figures.set(key + ".cpu_us_per_push",
                    1000.0 * static_cast<double>(m.cpu_ms) / (pushes - m.tally.missed), cpu_note);
  progress(fmt::format(
      "  {} followers: {} sends, last receipt p50 {:.0f} us p99 {:.0f} us; every receipt p50 "
      "{:.0f} us; burst of {} to all in {}; {} missed; server CPU {} ms, followers' {} ms",
      followers, m.singles.sends, run.figures.value(key + ".last.p50_us").value_or(-1),
      run.figures.value(key + ".last.p99_us").value_or(-1), m.tally.receipts.percentile(0.5),
      run.sizes.fanout_burst,
      m.burst.all_ms ? fmt::format("{:.1f} ms", *m.burst.all_ms) : "(incomplete)", m.tally.missed,
      m.cpu_ms, m.tally.cpu_ms));
}

void measure(BenchRun& run, size_t followers, const std::string& key) {
  const std::string cap = std::to_string(followers + 64);
  std::string endpoint;
  auto group = run.start_group(fmt::format("bench-fanout-{}", followers), endpoint,
                               {"--max-connections", cap, "--max-connections-per-address", cap,
                                "--max-follows-per-address", cap});
  join(run, endpoint, kSender);
  FollowerFleet fleet({self_program(), "127.0.0.1",
                       static_cast<uint16_t>(std::stoul(endpoint.substr(endpoint.rfind(':') + 1))),
                       followers, processes_for(followers), "bench-fanout-follower"});
  start_followers(run, fleet, *group, followers, key);
  const Measured m = send_all(run, endpoint, fleet, *group, followers);
  fleet.stop();
  group->stop();
  record(run, key, m, followers);
}

// Marks every figure of `key` not measured as missing, and says why on stderr.
void record_missing(BenchRun& run, const std::string& key, const std::string& why) {
  progress(fmt::format("  {}: {}", key, why));
  for (const auto& suffix : kSuffixes)
    if (!run.figures.value(key + suffix)) run.figures.missing(key + suffix, why);
}

}  // namespace

void fanout(BenchRun& run) {
  raise_descriptor_limit();
  std::string failed;
  for (const size_t followers : run.sizes.fanout_followers) {
    const std::string key = key_for(followers);
    if (g_stop_requested) {
      record_missing(run, key, "interrupted");
      continue;
    }
    if (const std::string why = descriptor_shortage(followers); !why.empty()) {
      record_missing(run, key, why);
      continue;
    }
    try {
      measure(run, followers, key);
    } catch (const std::exception& e) {
      record_missing(run, key, e.what());
      if (failed.empty()) failed = fmt::format("{} followers: {}", followers, e.what());
    }
  }
  if (!failed.empty()) throw std::runtime_error(failed);
}

}  // namespace bench

#include "scenarios.hpp"

#include <fmt/format.h>
#include <sys/resource.h>

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "net/request_client.hpp"

namespace bench {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

Sizes smoke_sizes() {
  Sizes s;
  s.warmup = 20;
  s.sequential = {300, 2s};
  s.pipelined = {3000, 2s};
  s.small_store = 1000;
  s.large_store = 5000;
  s.fill_time = 5s;
  s.reads = {100, 1s};
  s.idle_window = 1s;
  s.few_followers = 1;
  s.many_followers = 20;
  s.live = {50, 2s};
  return s;
}

Sizes full_sizes() {
  Sizes s;
  s.warmup = 200;
  s.sequential = {20000, 15s};
  s.pipelined = {300000, 15s};
  s.small_store = 10'000;
  s.large_store = 1'000'000;
  s.fill_time = 120s;
  s.reads = {3000, 10s};
  s.idle_window = 10s;
  s.few_followers = 1;
  s.many_followers = 500;
  s.live = {1000, 10s};
  return s;
}

namespace {

constexpr double kMiB = 1024.0 * 1024.0;

// What a groupchat sendMessage reply looks like, byte for byte in size: the
// baselines answer with it so that both sides move the same frames.
const std::string kCannedSendReply =
    R"({"response":"SUCCESS","seq":1234567,"timestamp":"2026-11-21T18:09:41.123456"})";

void progress(const std::string& text) {
  fmt::print(stderr, "bench: {}\n", text);
}

std::string message_text(size_t bytes) {
  std::string text = "groupchat benchmark message ";
  while (text.size() < bytes) text += static_cast<char>('a' + text.size() % 26);
  text.resize(bytes);
  return text;
}

std::string send_request(const std::string& user, const std::string& text) {
  return nlohmann::json{{"action", "sendMessage"}, {"user_uuid", user}, {"message", text}}.dump();
}

std::string get_request(const std::string& user, uint64_t since_seq, int limit) {
  return nlohmann::json{
      {"action", "getMessage"}, {"user_uuid", user}, {"since_seq", since_seq}, {"limit", limit}}
      .dump();
}

void join(BenchRun& run, const std::string& endpoint, const std::string& user) {
  gc::RequestClient client(run.ctx, endpoint, {3000, 2, "group_server"});
  auto reply = client.request(nlohmann::json{{"action", "joinGroup"}, {"user_uuid", user}}.dump());
  if (!reply) throw std::runtime_error("joinGroup: " + reply.error());
  if (reply->find(kSuccessMark) == std::string::npos)
    throw std::runtime_error("joinGroup refused: " + *reply);
}

std::string client_user(size_t i) {
  return fmt::format("bench-client-{}", i);
}

// Records p50/p99 under `key` (key.p50_us, key.p99_us); throws if the run failed.
void record_latency(BenchRun& run, const std::string& key, const RoundTripResult& r) {
  if (!r.error.empty() || r.failed > 0 || r.latencies_us.empty()) {
    std::string why = !r.error.empty() ? "error: " + r.error
                      : r.failed > 0   ? fmt::format("{} FAILED replies, e.g. {}", r.failed,
                                                     r.last_reply.substr(0, 200))
                                       : "no round trip completed";
    run.figures.missing(key + ".p50_us", why);
    run.figures.missing(key + ".p99_us", why);
    throw std::runtime_error(key + ": " + why);
  }
  LatencyStats s = summarize(r.latencies_us);
  std::string note = r.cut_by_time ? fmt::format("{} round trips (time bound)", s.count) : "";
  run.figures.set(key + ".p50_us", s.p50_us, note);
  run.figures.set(key + ".p99_us", s.p99_us, note);
  run.figures.set(key + ".count", static_cast<double>(s.count));
  progress(fmt::format("  {}: {} round trips, p50 {:.1f} us, p99 {:.1f} us", key, s.count, s.p50_us,
                       s.p99_us));
}

// Records msgs/s under key.per_s; throws if the run failed.
void record_rate(BenchRun& run, const std::string& key, const PipelineResult& r) {
  if (!r.error.empty() || r.failed > 0 || r.completed == 0) {
    std::string why = !r.error.empty() ? "error: " + r.error
                      : r.failed > 0   ? fmt::format("{} FAILED replies", r.failed)
                                       : "nothing completed";
    run.figures.missing(key + ".per_s", why);
    throw std::runtime_error(key + ": " + why);
  }
  run.figures.set(key + ".per_s", r.per_second(),
                  r.cut_by_time ? fmt::format("{} in the time bound", r.completed) : "");
  run.figures.set(key + ".completed", static_cast<double>(r.completed));
  progress(fmt::format("  {}: {} replies in {:.2f} s, {:.0f} msg/s", key, r.completed, r.seconds,
                       r.per_second()));
}

// CPU time (user + system, all threads) a server spends while measured, per
// request: where the time of a request goes when the machine is the limit.
class CpuMeter {
 public:
  explicit CpuMeter(pid_t pid) : pid_(pid) {}
  struct Scope {
    CpuMeter& meter;
    int64_t start;
    ~Scope() {
      int64_t now = cpu_time_ms(meter.pid_);
      if (start >= 0 && now >= 0) meter.total_ms_ += now - start;
    }
  };
  Scope measure() { return Scope{*this, cpu_time_ms(pid_)}; }
  void record(BenchRun& run, const std::string& key, size_t requests) const {
    if (requests > 0)
      run.figures.set(key, 1000.0 * static_cast<double>(total_ms_) / requests,
                      fmt::format("{} ms CPU for {} requests", total_ms_, requests));
  }

 private:
  pid_t pid_;
  int64_t total_ms_ = 0;
};

// The two sides of a comparison run in turn, `kRounds` times each with a
// share of the bounds, so that a change in the machine's background load
// during the run weighs on both sides alike.
constexpr size_t kRounds = 5;

Bounds per_round(Bounds b) {
  return {std::max<size_t>(1, b.max_count / kRounds), b.max_time / kRounds};
}

void merge(RoundTripResult& into, RoundTripResult part) {
  into.latencies_us.insert(into.latencies_us.end(), part.latencies_us.begin(),
                           part.latencies_us.end());
  into.failed += part.failed;
  into.cut_by_time = into.cut_by_time || part.cut_by_time;
  if (!part.last_reply.empty()) into.last_reply = std::move(part.last_reply);
  if (!part.error.empty()) into.error = std::move(part.error);
}

void merge(PipelineResult& into, const PipelineResult& part) {
  into.completed += part.completed;
  into.failed += part.failed;
  into.seconds += part.seconds;
  into.max_seq = std::max(into.max_seq, part.max_seq);
  into.cut_by_time = into.cut_by_time || part.cut_by_time;
  if (!part.error.empty()) into.error = part.error;
}

// Round trips against each side in turn; results in the order of `sides`.
std::vector<RoundTripResult> alternate_round_trips(
    const std::vector<std::function<RoundTripResult(Bounds)>>& sides, Bounds bounds) {
  std::vector<RoundTripResult> results(sides.size());
  for (size_t round = 0; round < kRounds && !g_stop_requested; ++round) {
    for (size_t i = 0; i < sides.size(); ++i) {
      merge(results[i], sides[i](per_round(bounds)));
      if (!results[i].error.empty()) return results;
    }
  }
  return results;
}

// a. One REQ client, one sendMessage at a time, against a bare REQ/REP echo.
void sequential_send(BenchRun& run) {
  const Sizes& z = run.sizes;
  const std::string request = send_request(client_user(0), message_text(z.message_bytes));
  EchoServer echo(EchoServer::Kind::kRep, kCannedSendReply);
  std::string endpoint;
  auto group = run.start_group("bench-sequential", endpoint);
  join(run, endpoint, client_user(0));
  const size_t warmup = std::max<size_t>(1, z.warmup / kRounds);
  CpuMeter cpu(group->pid());
  auto results = alternate_round_trips(
      {[&](Bounds b) { return zmq_round_trips(run.ctx, echo.endpoint(), request, warmup, b); },
       [&](Bounds b) {
         auto scope = cpu.measure();
         return zmq_round_trips(run.ctx, endpoint, request, warmup, b);
       }},
      z.sequential);
  record_latency(run, "a.bare", results[0]);
  record_latency(run, "a.groupchat", results[1]);
  cpu.record(run, "a.groupchat.cpu_us", results[1].latencies_us.size() + kRounds * warmup);
  group->stop();
}

std::vector<std::string> send_requests(const Sizes& z) {
  std::vector<std::string> requests;
  for (size_t i = 0; i < z.clients; ++i)
    requests.push_back(send_request(client_user(i), message_text(z.message_bytes)));
  return requests;
}

// b. Pipelined DEALER clients, against a bare ROUTER that answers at once.
void pipelined_send(BenchRun& run) {
  const Sizes& z = run.sizes;
  const auto requests = send_requests(z);
  EchoServer echo(EchoServer::Kind::kRouter, kCannedSendReply);
  std::string endpoint;
  auto group = run.start_group("bench-pipelined", endpoint);
  for (size_t i = 0; i < z.clients; ++i) join(run, endpoint, client_user(i));
  PipelineResult bare, groupchat;
  CpuMeter cpu(group->pid());
  for (size_t round = 0; round < kRounds && !g_stop_requested; ++round) {
    merge(bare, zmq_pipelined(run.ctx, echo.endpoint(), requests, z.window, per_round(z.pipelined),
                              false));
    {
      auto scope = cpu.measure();
      merge(groupchat,
            zmq_pipelined(run.ctx, endpoint, requests, z.window, per_round(z.pipelined), true));
    }
    if (!bare.error.empty() || !groupchat.error.empty()) break;
  }
  record_rate(run, "b.bare", bare);
  record_rate(run, "b.groupchat", groupchat);
  cpu.record(run, "b.groupchat.cpu_us", groupchat.completed);
  group->stop();
}

// Checks that a getMessage reply holds the newest `expected` messages up to `last_seq`.
std::string check_page(const std::string& reply, uint64_t last_seq, size_t expected) {
  try {
    auto j = nlohmann::json::parse(reply);
    const auto& messages = j.at("messages");
    if (messages.size() != expected)
      return fmt::format("reply held {} messages, expected {}", messages.size(), expected);
    if (!messages.empty() && messages.back().at("seq").get<uint64_t>() != last_seq)
      return fmt::format("newest seq in reply {}, expected {}",
                         messages.back().at("seq").get<uint64_t>(), last_seq);
  } catch (const std::exception& e) {
    return std::string("reply is not a getMessage page: ") + e.what();
  }
  return {};
}

// Fills a store by pipelined sends up to `target` messages or the deadline;
// returns the number stored (the highest seq seen).
uint64_t fill_group(BenchRun& run, const std::string& endpoint, uint64_t stored, size_t target,
                    Clock::time_point deadline, const std::string& figure) {
  if (stored >= target) return stored;
  const Sizes& z = run.sizes;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  Bounds bounds{target - stored, std::max(left, std::chrono::milliseconds(1))};
  progress(fmt::format("  filling to {} messages (at most {:.0f} s)", format_count(target),
                       bounds.max_time.count() / 1000.0));
  PipelineResult r = zmq_pipelined(run.ctx, endpoint, send_requests(z), z.window, bounds, true);
  if (!r.error.empty() || r.failed > 0)
    throw std::runtime_error(
        "filling the store: " +
        (r.error.empty() ? fmt::format("{} FAILED replies", r.failed) : r.error));
  run.figures.set(figure, r.per_second());
  return std::max<uint64_t>(stored, r.max_seq);
}

// c. getMessage of the newest 100, from a small and from a large store: two
// group servers, read in turn.
void get_newest(BenchRun& run) {
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
      fill_group(run, small_endpoint, 0, z.small_store, fill_deadline, "c.fill.small.per_s");
  const uint64_t large =
      fill_group(run, large_endpoint, 0, z.large_store, fill_deadline, "c.fill.large.per_s");
  auto size_note = [](uint64_t stored, size_t target) {
    return stored < target ? fmt::format("size reached {} of {} (fill time bound)",
                                         format_count(stored), format_count(target))
                           : std::string();
  };
  run.figures.set("c.small.size", static_cast<double>(small), size_note(small, z.small_store));
  run.figures.set("c.large.size", static_cast<double>(large), size_note(large, z.large_store));

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
  record_latency(run, "c.get.small", results[0]);
  record_latency(run, "c.get.large", results[1]);
  if (std::string bad = check_page(results[0].last_reply, small, std::min<uint64_t>(small, 100));
      !bad.empty())
    throw std::runtime_error("getMessage newest 100: " + bad);
  if (std::string bad = check_page(results[1].last_reply, large, std::min<uint64_t>(large, 100));
      !bad.empty())
    throw std::runtime_error("getMessage newest 100: " + bad);
  small_group->stop();
  run.read_group = std::move(large_group);
}

// Waits out a measuring window, in slices so that Ctrl-C is honoured.
void wait_window(std::chrono::milliseconds window) {
  const auto end = Clock::now() + window;
  while (Clock::now() < end && !g_stop_requested)
    std::this_thread::sleep_for(std::min<Clock::duration>(100ms, end - Clock::now()));
}

// d. Memory of the group server holding the large store; CPU while idle.
void memory_and_idle(BenchRun& run) {
  if (!run.read_group) {
    for (const char* key : {"d.rss_mib", "d.idle_cpu_ms", "d.registry_idle_cpu_ms"})
      run.figures.missing(key, "needs scenario c");
    return;
  }
  const pid_t pid = run.read_group->pid();
  const int64_t rss = resident_bytes(pid);
  if (rss < 0) throw std::runtime_error("cannot read VmRSS of the group server");
  const auto stored = run.figures.value("c.large.size").value_or(0);
  run.figures.set("d.rss_mib", rss / kMiB,
                  fmt::format("with {} messages stored", format_count(stored)));
  progress(fmt::format("  group server RSS {:.1f} MiB with {} messages", rss / kMiB,
                       format_count(stored)));

  const int64_t cpu0 = cpu_time_ms(pid);
  const int64_t reg0 = run.registry_cpu_ms();
  const int64_t exact0 = cpu_time_exact_us(pid);
  const int64_t reg_exact0 = run.registry_cpu_exact_us();
  progress(fmt::format("  watching idle CPU for {:.0f} s", run.sizes.idle_window.count() / 1000.0));
  wait_window(run.sizes.idle_window);
  const int64_t cpu1 = cpu_time_ms(pid);
  const int64_t reg1 = run.registry_cpu_ms();
  const int64_t exact1 = cpu_time_exact_us(pid);
  const int64_t reg_exact1 = run.registry_cpu_exact_us();
  const std::string window = fmt::format("over {:.0f} s", run.sizes.idle_window.count() / 1000.0);
  if (cpu0 < 0 || cpu1 < 0) throw std::runtime_error("cannot read the group server's CPU time");
  run.figures.set("d.idle_cpu_ms", static_cast<double>(cpu1 - cpu0), window);
  if (reg0 >= 0 && reg1 >= 0)
    run.figures.set("d.registry_idle_cpu_ms", static_cast<double>(reg1 - reg0), window);
  if (exact0 >= 0 && exact1 >= 0)
    run.figures.set("d.idle_cpu_exact_us", static_cast<double>(exact1 - exact0), window);
  if (reg_exact0 >= 0 && reg_exact1 >= 0)
    run.figures.set("d.registry_idle_cpu_exact_us", static_cast<double>(reg_exact1 - reg_exact0),
                    window);
  progress(fmt::format("  idle CPU (scheduler count): group server {} us, registry {} us",
                       exact1 - exact0, reg_exact1 - reg_exact0));
  run.read_group->stop();
  run.read_group.reset();
}

// e. The same workloads against redis-server with an append-only file.
void redis_baseline(BenchRun& run) {
  const std::vector<std::string> keys = {
      "e.xadd.per_s",       "e.get.small.p50_us", "e.get.large.p50_us", "e.get.small.p99_us",
      "e.get.large.p99_us", "e.fill.large.per_s", "e.rss_mib"};
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
  record_rate(run, "e.xadd", rate);
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
      fill("bench:small", size_of("c.small.size", z.small_store), "e.fill.small.per_s");
  const size_t large =
      fill("bench:large", size_of("c.large.size", z.large_store), "e.fill.large.per_s");
  run.figures.set("e.small.size", static_cast<double>(small));
  run.figures.set("e.large.size", static_cast<double>(large));
  const std::string small_cmd =
      resp_command({"XREVRANGE", "bench:small", "+", "-", "COUNT", "100"});
  const std::string large_cmd =
      resp_command({"XREVRANGE", "bench:large", "+", "-", "COUNT", "100"});
  const size_t warmup = std::max<size_t>(1, z.warmup / kRounds);
  auto results = alternate_round_trips(
      {[&](Bounds b) { return resp_round_trips(port, small_cmd, warmup, b); },
       [&](Bounds b) { return resp_round_trips(port, large_cmd, warmup, b); }},
      z.reads);
  record_latency(run, "e.get.small", results[0]);
  record_latency(run, "e.get.large", results[1]);
  const int64_t rss = resident_bytes(redis.pid());
  if (rss >= 0)
    run.figures.set("e.rss_mib", rss / kMiB,
                    fmt::format("streams of {} and {} entries, in memory", format_count(small),
                                format_count(large)));
  redis.stop();
}

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

// f. Live delivery: a sender's SUCCESS to the push's receipt by 1 follower
// and by many (every follower a member, following on its own DEALER).
void live_delivery(BenchRun& run) {
  const Sizes& z = run.sizes;
  raise_descriptor_limit();
  std::string endpoint;
  auto group = run.start_group("bench-live", endpoint);
  join(run, endpoint, client_user(0));
  const std::string request = send_request(client_user(0), message_text(z.message_bytes));
  const size_t warmup = std::max<size_t>(5, z.warmup / kRounds);
  size_t joined = 0;
  const std::vector<std::pair<size_t, std::string>> runs = {{z.few_followers, "f.few"},
                                                            {z.many_followers, "f.many"}};
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

}  // namespace

BenchRun::BenchRun(Sizes s, std::filesystem::path bins, std::string redis)
    : sizes(std::move(s)),
      bin_dir(std::move(bins)),
      redis_server(std::move(redis)),
      ctx(1),
      data("groupchat-bench") {}

BenchRun::~BenchRun() {
  if (read_group) read_group->stop();
  if (registry_) registry_->stop();
}

uint16_t BenchRun::registry_port() {
  if (!registry_) {
    registry_port_ = free_loopback_port();
    registry_ = std::make_unique<ChildProcess>();
    registry_->start({(bin_dir / "message_server").string(), "--bind",
                      fmt::format("127.0.0.1:{}", registry_port_)});
    registry_->wait_for_line("serving on", 15s);
  }
  return registry_port_;
}

int64_t BenchRun::registry_cpu_ms() {
  return registry_ && registry_->running() ? cpu_time_ms(registry_->pid()) : -1;
}

int64_t BenchRun::registry_cpu_exact_us() {
  return registry_ && registry_->running() ? cpu_time_exact_us(registry_->pid()) : -1;
}

std::unique_ptr<ChildProcess> BenchRun::start_group(const std::string& name,
                                                    std::string& endpoint) {
  const uint16_t registry = registry_port();
  const uint16_t port = free_loopback_port();
  const auto dir = data.path() / name;
  std::filesystem::create_directories(dir);
  auto group = std::make_unique<ChildProcess>();
  progress(fmt::format("  starting group_server {} on 127.0.0.1:{}", name, port));
  std::vector<std::string> argv = {(bin_dir / "group_server").string(),
                                   name,
                                   fmt::format("127.0.0.1:{}", port),
                                   "--server",
                                   fmt::format("127.0.0.1:{}", registry),
                                   "--data-dir",
                                   dir.string(),
                                   "--quiet"};
  argv.insert(argv.end(), group_args.begin(), group_args.end());
  group->start(argv);
  group->wait_for_line("serving on", 20s);
  endpoint = fmt::format("tcp://127.0.0.1:{}", port);
  return group;
}

const std::vector<Scenario>& scenarios() {
  static const std::vector<Scenario> list = {
      {"a", "sequential sendMessage round trip", sequential_send},
      {"b", "pipelined durable sendMessage", pipelined_send},
      {"c", "getMessage newest 100, small and large store", get_newest},
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

#include "bench_run.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace bench {

using namespace std::chrono_literals;

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
  s.history_sizes = {1'000, 3'000, 10'000};
  s.history_fill_time = 5s;
  s.history_reads = {50, 1s};
  s.inflight_points = {{1, 1}, {1, 8}, {4, 16}};
  s.inflight = {500, 1s};
  s.reference_sequential = {50, 2s};
  s.reference_pipelined = {300, 2s};
  s.fanout_followers = {1, 10};
  s.fanout_sends = {30, 2s};
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
  s.history_sizes = {10'000, 100'000, 1'000'000, 10'000'000};
  s.history_fill_time = 150s;
  s.history_reads = {2000, 5s};
  s.inflight_points = {{1, 1}, {1, 8}, {4, 16}, {4, 64}, {8, 64}};
  s.inflight = {500'000, 5s};
  s.reference_sequential = {2000, 10s};
  s.reference_pipelined = {20'000, 10s};
  s.fanout_followers = {1, 10, 100, 1000, 10'000};
  s.fanout_sends = {200, 20s};
  return s;
}

void progress(const std::string& text) {
  fmt::print(stderr, "bench: {}\n", text);
}

BenchRun::BenchRun(Sizes s, std::filesystem::path bins, std::string redis)
    : sizes(std::move(s)),
      bin_dir(std::move(bins)),
      redis_server(std::move(redis)),
      ctx(1),
      data("groupchat-bench") {}

BenchRun::~BenchRun() {
  if (read_group) read_group->stop();
  if (registry_) registry_->stop();
  if (curve_registry_) curve_registry_->stop();
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

namespace {

// Whether `program --help` lists `flag`.
bool offers_flag(const std::filesystem::path& program, const std::string& flag) {
  const Completed help = run_to_end({program.string(), "--help"}, 10s);
  if (!help.ok())
    throw std::runtime_error(fmt::format("{} --help ended with {}", program.string(), help.status));
  for (const auto& line : help.lines)
    if (line.find(flag) != std::string::npos) return true;
  return false;
}

// Runs a server's `--public-key` (which prints its key and exits) and returns the key.
std::string read_public_key(std::vector<std::string> argv) {
  argv.push_back("--public-key");
  const std::string command = argv[0];
  const Completed done = run_to_end(std::move(argv), 15s);
  std::string key;
  for (const auto& line : done.lines)
    if (gc::is_z85_key(line)) key = line;
  if (!done.ok() || key.empty()) {
    std::string output;
    for (const auto& line : done.lines) output += "\n  | " + line;
    throw std::runtime_error(fmt::format("{} --public-key ended with {} and printed no key:{}",
                                         command, done.status, output));
  }
  return key;
}

}  // namespace

std::vector<std::string> BenchRun::registry_args(gc::SecurityMode mode) {
  auto open_args = [this] {
    return std::vector<std::string>{"--server", fmt::format("127.0.0.1:{}", registry_port())};
  };
  if (mode == gc::SecurityMode::open) return open_args();
  if (!curve_registry_offered_) {
    curve_registry_offered_ = offers_flag(bin_dir / "message_server", "--security") &&
                              offers_flag(bin_dir / "group_server", "--server-key");
    if (!*curve_registry_offered_)
      progress(
          "  message_server --security or group_server --server-key is missing: curve groups "
          "register with the open registry");
  }
  if (!*curve_registry_offered_) return open_args();
  if (!curve_registry_) {
    curve_registry_port_ = free_loopback_port();
    const auto dir = data.path() / "registry-curve";
    std::filesystem::create_directories(dir);
    const std::string bind = fmt::format("127.0.0.1:{}", curve_registry_port_);
    const std::string program = (bin_dir / "message_server").string();
    curve_registry_key_ = read_public_key({program, "--bind", bind, "--data-dir", dir.string()});
    progress(fmt::format("  starting message_server --security curve on {}", bind));
    curve_registry_ = std::make_unique<ChildProcess>();
    curve_registry_->start(
        {program, "--bind", bind, "--security", "curve", "--data-dir", dir.string()});
    curve_registry_->wait_for_line("serving on", 15s);
  }
  return {"--server", fmt::format("127.0.0.1:{}", curve_registry_port_), "--server-key",
          curve_registry_key_};
}

bool BenchRun::group_serves_curve() {
  if (!group_curve_offered_)
    group_curve_offered_ = offers_flag(bin_dir / "group_server", "--security");
  return *group_curve_offered_;
}

std::unique_ptr<ChildProcess> BenchRun::launch_group(const std::string& name, uint16_t port,
                                                     std::vector<std::string> argv,
                                                     const std::vector<std::string>& extra) {
  argv.push_back("--quiet");
  argv.insert(argv.end(), group_args.begin(), group_args.end());
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto group = std::make_unique<ChildProcess>();
  progress(fmt::format("  starting group_server {} on 127.0.0.1:{}", name, port));
  group->start(argv);
  group->wait_for_line("serving on", 20s);
  return group;
}

std::unique_ptr<ChildProcess> BenchRun::start_group(const std::string& name, std::string& endpoint,
                                                    const std::vector<std::string>& extra) {
  std::vector<std::string> argv = registry_args(gc::SecurityMode::open);
  const uint16_t port = free_loopback_port();
  const auto dir = data.path() / name;
  std::filesystem::create_directories(dir);
  argv.insert(argv.begin(), {(bin_dir / "group_server").string(), name,
                             fmt::format("127.0.0.1:{}", port), "--data-dir", dir.string()});
  auto group = launch_group(name, port, std::move(argv), extra);
  endpoint = fmt::format("tcp://127.0.0.1:{}", port);
  return group;
}

std::unique_ptr<ChildProcess> BenchRun::start_curve_group(const std::string& name,
                                                          std::string& endpoint,
                                                          std::string& public_key,
                                                          const std::vector<std::string>& extra) {
  std::vector<std::string> argv = registry_args(gc::SecurityMode::curve);
  const uint16_t port = free_loopback_port();
  const auto dir = data.path() / name;
  std::filesystem::create_directories(dir);
  const std::vector<std::string> head = {(bin_dir / "group_server").string(), name,
                                         fmt::format("127.0.0.1:{}", port), "--data-dir",
                                         dir.string()};
  public_key = read_public_key(head);
  argv.insert(argv.begin(), head.begin(), head.end());
  argv.insert(argv.end(), {"--security", "curve"});
  auto group = launch_group(name, port, std::move(argv), extra);
  endpoint = fmt::format("tcp://127.0.0.1:{}", port);
  return group;
}

}  // namespace bench

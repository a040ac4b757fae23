#include "bench_run.hpp"

#include <fmt/format.h>

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

std::unique_ptr<ChildProcess> BenchRun::start_group(const std::string& name, std::string& endpoint,
                                                    const std::vector<std::string>& extra) {
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
  argv.insert(argv.end(), extra.begin(), extra.end());
  group->start(argv);
  group->wait_for_line("serving on", 20s);
  endpoint = fmt::format("tcp://127.0.0.1:{}", port);
  return group;
}

}  // namespace bench

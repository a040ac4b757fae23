// The resident memory of a group server holding the large store, and the CPU
// it and the registry use while nothing is asked of them.
#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <thread>

#include "measure.hpp"
#include "scenarios.hpp"

namespace bench {

using namespace std::chrono_literals;

namespace {

// Waits out a measuring window, in slices so that Ctrl-C is honoured.
void wait_window(std::chrono::milliseconds window) {
  const auto end = Clock::now() + window;
  while (Clock::now() < end && !g_stop_requested)
    std::this_thread::sleep_for(std::min<Clock::duration>(100ms, end - Clock::now()));
}

}  // namespace

void memory_and_idle(BenchRun& run) {
  if (!run.read_group) {
    for (const char* key : {"idle.rss_mib", "idle.idle_cpu_ms", "idle.registry_idle_cpu_ms"})
      run.figures.missing(key, "needs scenario reads");
    return;
  }
  const pid_t pid = run.read_group->pid();
  const int64_t rss = resident_bytes(pid);
  if (rss < 0) throw std::runtime_error("cannot read VmRSS of the group server");
  const auto stored = run.figures.value("reads.large.size").value_or(0);
  run.figures.set("idle.rss_mib", rss / kMiB,
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
  run.figures.set("idle.idle_cpu_ms", static_cast<double>(cpu1 - cpu0), window);
  if (reg0 >= 0 && reg1 >= 0)
    run.figures.set("idle.registry_idle_cpu_ms", static_cast<double>(reg1 - reg0), window);
  if (exact0 >= 0 && exact1 >= 0)
    run.figures.set("idle.idle_cpu_exact_us", static_cast<double>(exact1 - exact0), window);
  if (reg_exact0 >= 0 && reg_exact1 >= 0)
    run.figures.set("idle.registry_idle_cpu_exact_us", static_cast<double>(reg_exact1 - reg_exact0),
                    window);
  progress(fmt::format("  idle CPU (scheduler count): group server {} us, registry {} us",
                       exact1 - exact0, reg_exact1 - reg_exact0));
  run.read_group->stop();
  run.read_group.reset();
}

}  // namespace bench

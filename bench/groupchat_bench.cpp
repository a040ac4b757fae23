// groupchat_bench: measures groupchat against the limits of the machine, in
// one run. It starts its own message_server and group_servers (and
// redis-server when installed) on 127.0.0.1, runs each scenario against
// groupchat and against its baseline, and prints one table of ratios.
//
//   groupchat_bench [--smoke | --full] [--json FILE] [--bin-dir DIR] [--only sequential,reads,...]
//                   [--reference-dir DIR [--reference-python PATH]]
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "headline.hpp"
#include "follower_process.hpp"
#include "scenarios.hpp"

namespace fs = std::filesystem;

namespace {

void request_stop(int) {
  bench::g_stop_requested = true;
}

// <build>/bench/groupchat_bench -> <build>/apps
fs::path default_bin_dir() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return fs::path("apps");
  return self.parent_path().parent_path() / "apps";
}

std::string find_on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (!path) return {};
  std::stringstream dirs(path);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    fs::path candidate = fs::path(dir) / program;
    if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return {};
}

// "sequential, pipelined, ...": the values --only accepts.
std::string scenario_names() {
  std::string names;
  for (const auto& s : bench::scenarios()) names += (names.empty() ? "" : ", ") + s.id;
  return names;
}

// One line per scenario for --help, so that a name says what it measures.
std::string scenario_list() {
  std::string list = "Scenarios, in the order they run:\n";
  for (const auto& s : bench::scenarios()) list += fmt::format("  {:<15}{}\n", s.id, s.title);
  return list +
         "idle measures the group server that reads filled, so --only idle needs reads too.\n";
}

}  // namespace

int main(int argc, char** argv) {
  // The fan-out scenario's follower processes are this program (not in --help).
  if (argc > 1 && argv[1] == bench::kFollowerProcessFlag)
    return bench::follower_process_main(argc - 2, argv + 2);
  CLI::App app{"groupchat_bench: groupchat beside bare ZeroMQ and Redis, as ratios"};
  bool smoke = false;
  bool full = false;
  std::string json_path;
  std::string bin_dir = default_bin_dir().string();
  std::string only;
  app.add_flag("--smoke", smoke, "every scenario with tiny counts (seconds in all); for CI");
  app.add_flag("--full", full, "the real sizes (the default); about 10-15 minutes");
  app.add_option("--json", json_path, "also write the figures as JSON to FILE");
  app.add_option("--bin-dir", bin_dir, "where message_server and group_server are")
      ->capture_default_str();
  app.add_option("--only", only,
                 "run only these scenarios, comma-separated (default: all): " + scenario_names());
  std::string reference_dir;
  app.add_option("--reference-dir", reference_dir,
                 "where the reference's group.py is: the reference scenario runs it with python3 "
                 "(its registry, a message_server, on port 5555)");
  std::string reference_python = "/usr/bin/python3";
  app.add_option("--reference-python", reference_python,
                 "the python3 that runs the reference's group.py (it needs pyzmq)")
      ->capture_default_str();
  double history_fill_seconds = 0;
  app.add_option("--history-fill-seconds", history_fill_seconds,
                 "the time bound of the history scenario's whole fill, in seconds (default: 150 "
                 "in --full, 5 in --smoke); sizes not reached in time are missing")
      ->check(CLI::PositiveNumber);
  std::vector<std::string> group_args;
  app.add_option("--group-arg", group_args,
                 "an extra argument for every group_server started, for experiments (repeat "
                 "it: --group-arg=--store --group-arg=memory)");
  app.footer(scenario_list());
  CLI11_PARSE(app, argc, argv);
  if (smoke && full) {
    std::cerr << "groupchat_bench: --smoke and --full exclude each other; pick one\n";
    return 2;
  }

  std::set<std::string> selected;
  {
    std::stringstream list(only);
    for (std::string id; std::getline(list, id, ',');)
      if (!id.empty()) selected.insert(id);
  }
  for (const auto& id : selected) {
    bool known = false;
    for (const auto& s : bench::scenarios()) known = known || s.id == id;
    if (!known) {
      std::cerr << "groupchat_bench: unknown scenario '" << id << "' in --only; scenarios are "
                << scenario_names() << "\n";
      return 2;
    }
  }

  struct sigaction action {};
  action.sa_handler = request_stop;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);

  const std::string mode = smoke ? "smoke" : "full";
  const std::string date = bench::utc_date_now();
  bench::Sizes sizes = smoke ? bench::smoke_sizes() : bench::full_sizes();
  if (history_fill_seconds > 0)
    sizes.history_fill_time =
        std::chrono::milliseconds(static_cast<int64_t>(history_fill_seconds * 1000));
  int failures = 0;
  std::string table;
  std::string json;
  try {
    bench::BenchRun run(sizes, bin_dir, find_on_path("redis-server"));
    run.group_args = group_args;
    run.reference_dir = reference_dir;
    run.reference_python = reference_python;
    fmt::print(stderr, "bench: {} run; binaries from {}; data in {}\n", mode, bin_dir,
               run.data.path().string());
    for (const auto& scenario : bench::scenarios()) {
      if (!selected.empty() && !selected.count(scenario.id)) continue;
      if (bench::g_stop_requested) break;
      fmt::print(stderr, "bench: {}: {}\n", scenario.id, scenario.title);
      try {
        scenario.run(run);
      } catch (const std::exception& e) {
        ++failures;
        run.figures.missing(scenario.id + ".failed", e.what());
        fmt::print(stderr, "bench: scenario {} failed: {}\n", scenario.id, e.what());
      }
    }
    const auto rows = bench::table_rows(run.figures, sizes);
    const auto results = bench::evaluate(rows, run.figures);
    table = bench::format_table(results);
    json = bench::format_json(results, run.figures, mode);
    if (!json_path.empty()) json = bench::with_headline(json, run.figures, date);
  } catch (const std::exception& e) {
    fmt::print(stderr, "groupchat_bench: {}\n", e.what());
    return 1;
  }

  std::cout << "\ngroupchat_bench (" << mode << ", " << sysconf(_SC_NPROCESSORS_ONLN)
            << " cores); ratio = groupchat / baseline\n\n"
            << table << std::flush;
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << json;
    if (!out) {
      std::cerr << "groupchat_bench: cannot write " << json_path << "\n";
      return 1;
    }
  }
  if (bench::g_stop_requested) {
    std::cerr << "groupchat_bench: interrupted; figures are partial\n";
    return 130;
  }
  if (failures > 0) {
    std::cerr << "groupchat_bench: " << failures << " scenario(s) failed; see the messages above\n";
    return 1;
  }
  return 0;
}

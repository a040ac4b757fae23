#pragma once
// The servers a benchmark run starts for itself: child processes whose
// diagnostics are read through a pipe (so we can wait for their readiness
// line with a deadline), stopped with SIGTERM and, past a deadline, SIGKILL.
// Children also get SIGKILL if the benchmark itself dies (PR_SET_PDEATHSIG),
// so a crashed run leaves no server behind.
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace bench {

class ChildProcess {
 public:
  // Which of the child's output streams go into the pipe we read; the others
  // go to /dev/null.
  enum class Capture { kStderr, kStdoutAndStderr };

  ChildProcess() = default;
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Starts argv[0] (a path) with the given arguments. Throws std::runtime_error
  // if the program does not exist or cannot be started.
  void start(std::vector<std::string> argv, Capture capture = Capture::kStderr);

  // Waits until a captured line contains `needle`. Throws std::runtime_error
  // naming the program and its last lines if the child exits or the deadline
  // passes first.
  void wait_for_line(const std::string& needle, std::chrono::milliseconds timeout);

  // Waits until the child closes its output (it has ended), at most
  // `timeout`, then reaps it (SIGTERM, SIGKILL as stop() does if it has not).
  // Returns the exit status text.
  std::string wait_for_exit(std::chrono::milliseconds timeout);

  // SIGTERM, then SIGKILL if it has not exited within `grace`. Idempotent.
  // Returns the exit status text ("exit 0", "killed by signal 9", ...).
  std::string stop(std::chrono::milliseconds grace = std::chrono::milliseconds(3000));

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }
  // The last lines the child printed (at most 50), for error messages.
  std::string last_lines() const;
  // Every captured line still kept (the last 200).
  std::vector<std::string> lines() const;

 private:
  void drain(int fd);

  std::string name_;
  pid_t pid_ = -1;
  std::thread drain_thread_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> lines_;
  bool eof_ = false;
  std::string exit_text_;
};

// What a short-lived program printed (stdout and stderr) and how it ended.
struct Completed {
  std::string status;  // "exit 0", "killed by signal 9", ...
  std::vector<std::string> lines;
  bool ok() const { return status == "exit 0"; }
};
// Runs argv to its end, killing it past `timeout`.
Completed run_to_end(std::vector<std::string> argv, std::chrono::milliseconds timeout);

// A TCP port on 127.0.0.1 that nothing listens on right now (bind to port 0 and
// ask the kernel which one it gave).
uint16_t free_loopback_port();

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Resident set size (VmRSS) in bytes, from /proc/PID/status; -1 if unreadable.
int64_t resident_bytes(pid_t pid);
// User + system CPU time consumed so far, in milliseconds, from /proc/PID/stat; -1 if unreadable.
int64_t cpu_time_ms(pid_t pid);
// The same to the microsecond, from the scheduler's own count
// (/proc/PID/task/*/schedstat): the tick-based figure above only moves in
// steps of 10 ms, so a few short wake-ups show as 0 or 10 ms by chance.
// Counts the threads alive now; -1 if unreadable.
int64_t cpu_time_exact_us(pid_t pid);

}  // namespace bench

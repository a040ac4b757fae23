#include "follower_fleet.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include "follower_process.hpp"

namespace bench {

namespace {

constexpr std::chrono::milliseconds kAnswerWait{5000};
constexpr std::chrono::milliseconds kExitWait{3000};

int poll_timeout_ms(FollowerFleet::Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - FollowerFleet::Clock::now());
  return static_cast<int>(std::clamp<int64_t>(left.count(), 0, 1000));
}

}  // namespace

FollowerFleet::FollowerFleet(const FleetConfig& config) : followers_(config.followers) {
  const size_t k = std::max<size_t>(1, std::min(config.processes, config.followers));
  processes_.resize(k);
  size_t first = 0;
  for (size_t i = 0; i < k; ++i) {
    processes_[i].followers = config.followers / k + (i < config.followers % k ? 1 : 0);
    spawn(processes_[i], config, first);
    first += processes_[i].followers;
  }
}

FollowerFleet::~FollowerFleet() {
  stop();
}

void FollowerFleet::spawn(Process& p, const FleetConfig& config, size_t first) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + strerror(errno));
  if (pipe2(out, O_CLOEXEC) != 0) {
    close(in[0]);
    close(in[1]);
    throw std::runtime_error(std::string("pipe: ") + strerror(errno));
  }
  std::vector<std::string> argv = {config.program,        std::string(kFollowerProcessFlag),
                                   config.host,           std::to_string(config.port),
                                   std::to_string(first), std::to_string(p.followers),
                                   config.user_prefix};
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + strerror(errno));
  if (pid == 0) {
    // Only async-signal-safe calls until exec: the parent has threads.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(in[0], STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    execv(args[0], args.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  p.pid = pid;
  p.in_fd = in[1];
  p.out_fd = out[0];
  (void)fcntl(p.out_fd, F_SETFL, fcntl(p.out_fd, F_GETFL) | O_NONBLOCK);
}

void FollowerFleet::tell(Process& p, const std::string& line) {
  const std::string text = line + "\n";
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = write(p.in_fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw std::runtime_error(
          fmt::format("a follower process ended early{}", p.error.empty() ? "" : ": " + p.error));
    done += static_cast<size_t>(n);
  }
}

bool FollowerFleet::pump(Clock::time_point deadline) {
  std::vector<pollfd> fds;
  for (auto& p : processes_) fds.push_back({p.out_fd, POLLIN, 0});
  const int n = poll(fds.data(), fds.size(), poll_timeout_ms(deadline));
  if (n <= 0) return false;
  for (size_t i = 0; i < fds.size(); ++i) {
    if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    Process& p = processes_[i];
    char buf[65536];
    const ssize_t got = read(p.out_fd, buf, sizeof buf);
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
      // A line the process printed last may still be in the buffer.
      if (!p.buffer.empty()) on_line(p, p.buffer);
      throw std::runtime_error(
          fmt::format("a follower process ended early{}", p.error.empty() ? "" : ": " + p.error));
    }
    if (got < 0) continue;
    p.buffer.append(buf, static_cast<size_t>(got));
    size_t start = 0;
    for (size_t nl; (nl = p.buffer.find('\n', start)) != std::string::npos; start = nl + 1)
      on_line(p, p.buffer.substr(start, nl - start));
    p.buffer.erase(0, start);
    if (!p.error.empty()) throw std::runtime_error("a follower process failed: " + p.error);
  }
  return true;
}

void FollowerFleet::on_line(Process& p, const std::string& line) {
  std::istringstream in(line);
  std::string verb;
  in >> verb;
  if (verb == "ready") {
    size_t followers = 0;
    in >> followers >> p.ready_cpu_ms;
    p.ready = true;
  } else if (verb == "done" || verb == "have") {
    uint64_t seq = 0;
    Settled s;
    in >> seq >> s.received >> s.last_ns;
    p.settled[seq] = s;
  } else if (verb == "tally") {
    p.tally = line.substr(std::min(line.size(), verb.size() + 1));
  } else if (verb == "error") {
    p.error = line.substr(std::min(line.size(), verb.size() + 1));
  }
}

template <typename Done>
bool FollowerFleet::wait_until(Done done, Clock::time_point deadline) {
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    pump(deadline);
  }
  return true;
}

void FollowerFleet::wait_ready(Clock::time_point deadline) {
  const auto all_ready = [&] {
    return std::all_of(processes_.begin(), processes_.end(),
                       [](const Process& p) { return p.ready; });
  };
  if (!wait_until(all_ready, deadline)) {
    const auto ready = std::count_if(processes_.begin(), processes_.end(),
                                     [](const Process& p) { return p.ready; });
    throw std::runtime_error(
        fmt::format("the followers did not all join and follow in time ({} of {} follower "
                    "processes ready)",
                    ready, processes_.size()));
  }
}

void FollowerFleet::sent(uint64_t seq, std::optional<int64_t> t0_ns) {
  for (auto& p : processes_)
    tell(p, t0_ns ? fmt::format("t0 {} {}", seq, *t0_ns) : fmt::format("forget {} {}", seq, seq));
}

FollowerFleet::Arrival FollowerFleet::wait_for(uint64_t seq, Clock::time_point deadline) {
  (void)wait_until(
      [&] {
        return std::all_of(processes_.begin(), processes_.end(),
                           [&](const Process& p) { return p.settled.count(seq) > 0; });
      },
      deadline);
  // Those that have not settled it say what they have now.
  for (auto& p : processes_)
    if (!p.settled.count(seq)) tell(p, fmt::format("ask {}", seq));
  const bool answered = wait_until(
      [&] {
        return std::all_of(processes_.begin(), processes_.end(),
                           [&](const Process& p) { return p.settled.count(seq) > 0; });
      },
      Clock::now() + kAnswerWait);
  if (!answered) throw std::runtime_error("a follower process did not answer");
  Arrival a;
  for (auto& p : processes_) {
    const Settled& s = p.settled[seq];
    a.received += s.received;
    a.last_ns = std::max(a.last_ns, s.last_ns);
    p.settled.erase(seq);
  }
  a.complete = a.received == followers_;
  return a;
}

FollowerFleet::Arrival FollowerFleet::wait_for_range(uint64_t first, uint64_t last,
                                                     uint64_t through, Clock::time_point deadline) {
  for (auto& p : processes_) tell(p, fmt::format("forget {} {}", first, through));
  (void)wait_until(
      [&] {
        for (const auto& p : processes_)
          for (uint64_t seq = first; seq <= through; ++seq)
            if (!p.settled.count(seq)) return false;
        return true;
      },
      deadline);
  Arrival a;
  for (auto& p : processes_) {
    for (uint64_t seq = first; seq <= last; ++seq) {
      auto it = p.settled.find(seq);
      if (it == p.settled.end()) continue;
      a.received += it->second.received;
      a.last_ns = std::max(a.last_ns, it->second.last_ns);
    }
    for (uint64_t seq = first; seq <= through; ++seq) p.settled.erase(seq);
  }
  a.complete = a.received == followers_ * (last - first + 1);
  return a;
}

FollowerFleet::Tally FollowerFleet::tally(uint64_t first, uint64_t last) {
  for (auto& p : processes_) {
    p.tally.reset();
    tell(p, fmt::format("tally {} {}", first, last));
  }
  const bool answered = wait_until(
      [&] {
        return std::all_of(processes_.begin(), processes_.end(),
                           [](const Process& p) { return p.tally.has_value(); });
      },
      Clock::now() + kAnswerWait);
  if (!answered) throw std::runtime_error("a follower process did not answer its tally");
  Tally t;
  for (const auto& p : processes_) {
    std::istringstream in(*p.tally);
    size_t missed = 0;
    int64_t cpu_ms = 0;
    in >> missed >> cpu_ms;
    std::string rest;
    std::getline(in, rest);
    t.missed += missed;
    t.cpu_ms += cpu_ms - p.ready_cpu_ms;
    t.receipts.merge(LogHistogram::decode(rest));
  }
  return t;
}

void FollowerFleet::stop() {
  // End of input asks each process to end; its output closes when it has.
  for (auto& p : processes_) {
    if (p.in_fd >= 0) close(p.in_fd);
    p.in_fd = -1;
  }
  const auto deadline = Clock::now() + kExitWait;
  for (auto& p : processes_) {
    if (p.pid <= 0) continue;
    bool ended = false;
    while (!ended) {
      pollfd fd{p.out_fd, POLLIN, 0};
      const int ready = poll(&fd, 1, poll_timeout_ms(deadline));
      if (ready < 0 && errno != EINTR) break;
      if (ready <= 0) {
        if (Clock::now() >= deadline) break;
        continue;
      }
      char buf[4096];
      const ssize_t n = read(p.out_fd, buf, sizeof buf);
      ended = n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
    }
    if (!ended) kill(p.pid, SIGKILL);
    int status = 0;
    (void)waitpid(p.pid, &status, 0);
    close(p.out_fd);
    p.out_fd = -1;
    p.pid = -1;
  }
}

}  // namespace bench

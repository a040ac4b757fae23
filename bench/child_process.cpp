#include "child_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace bench {

namespace {

constexpr size_t kKeptLines = 200;

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

}  // namespace

ChildProcess::~ChildProcess() {
  stop(std::chrono::milliseconds(1000));
}

void ChildProcess::start(std::vector<std::string> argv, Capture capture) {
  if (argv.empty()) throw std::runtime_error("no program to start");
  name_ = std::filesystem::path(argv[0]).filename().string();
  if (access(argv[0].c_str(), X_OK) != 0)
    throw std::runtime_error(argv[0] +
                             " is not an executable file; build it first or pass --bin-dir");

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0) {
    close(fds[0]);
    close(fds[1]);
    throw std::runtime_error(std::string("/dev/null: ") + std::strerror(errno));
  }
  // Everything the child needs is prepared before fork: between fork and exec
  // only async-signal-safe calls are allowed (the parent has threads).
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t parent = getpid();

  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    close(devnull);
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(devnull, STDIN_FILENO);
    dup2(capture == Capture::kStdoutAndStderr ? fds[1] : devnull, STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    execv(args[0], args.data());
    static const char kMsg[] = "exec failed\n";
    (void)!write(STDERR_FILENO, kMsg, sizeof kMsg - 1);
    _exit(127);
  }
  close(fds[1]);
  close(devnull);
  pid_ = pid;
  {
    std::lock_guard lock(mutex_);
    lines_.clear();
    eof_ = false;
    exit_text_.clear();
  }
  // Keep reading for the child's whole life: a full pipe would block it.
  drain_thread_ = std::thread([this, fd = fds[0]] { drain(fd); });
}

void ChildProcess::drain(int fd) {
  std::string partial;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    partial.append(buf, static_cast<size_t>(n));
    size_t start = 0;
    std::vector<std::string> complete;
    for (size_t nl; (nl = partial.find('\n', start)) != std::string::npos; start = nl + 1)
      complete.push_back(partial.substr(start, nl - start));
    partial.erase(0, start);
    if (!complete.empty()) {
      std::lock_guard lock(mutex_);
      for (auto& line : complete) {
        lines_.push_back(std::move(line));
        if (lines_.size() > kKeptLines) lines_.pop_front();
      }
      changed_.notify_all();
    }
  }
  close(fd);
  std::lock_guard lock(mutex_);
  if (!partial.empty()) lines_.push_back(partial);
  eof_ = true;
  changed_.notify_all();
}

void ChildProcess::wait_for_line(const std::string& needle, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(mutex_);
  for (;;) {
    for (const auto& line : lines_)
      if (line.find(needle) != std::string::npos) return;
    if (eof_) break;
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) {
      for (const auto& line : lines_)
        if (line.find(needle) != std::string::npos) return;
      lock.unlock();
      throw std::runtime_error(name_ + " did not print \"" + needle + "\" within " +
                               std::to_string(timeout.count()) + " ms; its last lines:\n" +
                               last_lines());
    }
  }
  lock.unlock();
  std::string how = stop(std::chrono::milliseconds(500));
  throw std::runtime_error(name_ + " ended (" + how + ") before printing \"" + needle +
                           "\"; its last lines:\n" + last_lines());
}

std::string ChildProcess::wait_for_exit(std::chrono::milliseconds timeout) {
  {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [this] { return eof_; });
  }
  // Closed output means it has ended (or is ending): a short grace reaps it.
  return stop(std::chrono::milliseconds(1000));
}

std::string ChildProcess::stop(std::chrono::milliseconds grace) {
  if (pid_ > 0) {
    int status = 0;
    pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == 0) {
      kill(pid_, SIGTERM);
      const auto deadline = std::chrono::steady_clock::now() + grace;
      // Bounded wait for the exit; the child has no other way to tell us.
      while ((done = waitpid(pid_, &status, WNOHANG)) == 0 &&
             std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      if (done == 0) {
        kill(pid_, SIGKILL);
        done = waitpid(pid_, &status, 0);
      }
    }
    exit_text_ = done == pid_ ? describe_status(status) : "not waited for";
    pid_ = -1;
  }
  if (drain_thread_.joinable()) drain_thread_.join();
  return exit_text_;
}

std::string ChildProcess::last_lines() const {
  std::lock_guard lock(mutex_);
  std::ostringstream out;
  size_t skip = lines_.size() > 50 ? lines_.size() - 50 : 0;
  for (size_t i = skip; i < lines_.size(); ++i) out << "  | " << lines_[i] << "\n";
  return out.str();
}

std::vector<std::string> ChildProcess::lines() const {
  std::lock_guard lock(mutex_);
  return {lines_.begin(), lines_.end()};
}

Completed run_to_end(std::vector<std::string> argv, std::chrono::milliseconds timeout) {
  ChildProcess child;
  child.start(std::move(argv), ChildProcess::Capture::kStdoutAndStderr);
  Completed done;
  done.status = child.wait_for_exit(timeout);
  done.lines = child.lines();
  return done;
}

uint16_t free_loopback_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int err = errno;
    close(fd);
    throw std::runtime_error(std::string("cannot pick a free port: ") + std::strerror(err));
  }
  close(fd);
  return ntohs(addr.sin_port);
}

TempDir::TempDir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      (std::filesystem::path(base && *base ? base : "/tmp") / (prefix + "-XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error("cannot create a temporary directory " + pattern + ": " +
                             std::strerror(errno));
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

int64_t resident_bytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;  // in kB
  }
  return -1;
}

int64_t cpu_time_ms(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The command name (field 2) may hold spaces; fields are counted after its ')'.
  size_t close_paren = text.rfind(')');
  if (close_paren == std::string::npos) return -1;
  std::istringstream fields(text.substr(close_paren + 2));
  std::string field;
  int64_t utime = -1, stime = -1;
  // After ')': state is field 3; utime is field 14, stime field 15.
  for (int index = 3; fields >> field && index <= 15; ++index) {
    if (index == 14) utime = std::stoll(field);
    if (index == 15) stime = std::stoll(field);
  }
  if (utime < 0 || stime < 0) return -1;
  return (utime + stime) * 1000 / sysconf(_SC_CLK_TCK);
}

int64_t cpu_time_exact_us(pid_t pid) {
  std::error_code ec;
  std::filesystem::directory_iterator tasks("/proc/" + std::to_string(pid) + "/task", ec);
  if (ec) return -1;
  int64_t total_ns = 0;
  bool any = false;
  for (const auto& task : tasks) {
    std::ifstream in(task.path() / "schedstat");
    long long on_cpu_ns = 0;
    if (in >> on_cpu_ns) {
      total_ns += on_cpu_ns;
      any = true;
    }
  }
  return any ? total_ns / 1000 : -1;
}

}  // namespace bench

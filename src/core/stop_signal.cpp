#include "core/stop_signal.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <csignal>

namespace gc {

namespace {
int g_pipe[2] = {-1, -1};
int g_reload_pipe[2] = {-1, -1};

void wake_loop_on_reload(int) {
  if (g_reload_pipe[1] >= 0) (void)!::write(g_reload_pipe[1], "h", 1);
}

void wake_loop_on_signal(int sig) {
  // Only async-signal-safe calls here; a full pipe already wakes the loop.
  // The byte says which signal: 'i' SIGINT (Ctrl-C), 't' SIGTERM.
  if (g_pipe[1] >= 0) (void)!::write(g_pipe[1], sig == SIGINT ? "i" : "t", 1);
}
}  // namespace

int watch_stop_signals() {
  if (g_pipe[0] >= 0) return g_pipe[0];
  if (::pipe2(g_pipe, O_NONBLOCK | O_CLOEXEC) != 0) return -1;
  struct sigaction sa {};
  sa.sa_handler = wake_loop_on_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  return g_pipe[0];
}

int watch_reload_signal() {
  if (g_reload_pipe[0] >= 0) return g_reload_pipe[0];
  if (::pipe2(g_reload_pipe, O_NONBLOCK | O_CLOEXEC) != 0) return -1;
  struct sigaction sa {};
  sa.sa_handler = wake_loop_on_reload;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGHUP, &sa, nullptr);
  return g_reload_pipe[0];
}

bool only_interrupts_pending(int fd) {
  bool any = false, only_interrupts = true;
  char buf[64];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) {
    any = true;
    for (ssize_t i = 0; i < n; ++i) only_interrupts = only_interrupts && buf[i] == 'i';
  }
  return any && only_interrupts;
}

void drain_signal_pipe(int fd) {
  char buf[64];
  while (::read(fd, buf, sizeof buf) > 0) {
  }
}

}  // namespace gc

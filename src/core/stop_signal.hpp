#pragma once
// Makes SIGINT and SIGTERM wake a poll loop (the self-pipe trick):
// returns a file descriptor that becomes readable on either signal, or -1 if
// the pipe cannot be made. Idempotent. Also ignores SIGPIPE, so a closed
// stdout shows up as a failed write instead of killing the process.
namespace gc {
int watch_stop_signals();
// For a loop that treats Ctrl-C as "cancel" in some states: reads what the
// stop pipe holds and says whether it was only SIGINTs (no SIGTERM). The
// pipe is left empty, so it wakes the loop again only on the next signal.
bool only_interrupts_pending(int stop_fd);
// The same for SIGHUP (re-read configuration files): a descriptor that
// becomes readable after each SIGHUP; the loop reads it empty. -1 on failure.
int watch_reload_signal();
// Reads a signal pipe empty, so that it wakes the loop again only on the next signal.
void drain_signal_pipe(int fd);
}  // namespace gc

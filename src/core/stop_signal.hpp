#pragma once
// Makes SIGINT and SIGTERM wake a poll loop (the self-pipe trick):
// returns a file descriptor that becomes readable on either signal, or -1 if
// the pipe cannot be made. Idempotent. Also ignores SIGPIPE, so a closed
// stdout shows up as a failed write instead of killing the process.
namespace gc {
int watch_stop_signals();
// The same for SIGHUP (re-read configuration files): a descriptor that
// becomes readable after each SIGHUP; the loop reads it empty. -1 on failure.
int watch_reload_signal();
}  // namespace gc

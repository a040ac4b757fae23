"""A terminal for the shell's tests: tmux on a private socket, driven with
send-keys and read with capture-pane. Every wait has a deadline."""
import os
import subprocess
import time

from conftest import free_port


class Terminal:
    """One tmux server on a private socket, one window per session (120x30
    unless told otherwise)."""

    def __init__(self, name="gc-tty"):
        self.socket = f"{name}-{os.getpid()}-{free_port()}"

    def tmux(self, *args, check=True):
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True,
                              check=check, timeout=10)

    def start(self, session, command, width=120, height=30):
        # The server stays when its last session ends (exit-empty off), so a
        # session started just after another ended never meets a server on its
        # way out ("server exited unexpectedly"); kill_server ends it.
        self.tmux("new-session", "-d", "-s", session, "-x", str(width), "-y", str(height), command,
                  ";", "set-option", "-s", "exit-empty", "off")

    def keys(self, session, *keys):
        self.tmux("send-keys", "-t", session, *keys)

    def type(self, session, text):
        self.tmux("send-keys", "-t", session, "-l", text)  # literally, no key names

    def screen(self, session):
        r = self.tmux("capture-pane", "-p", "-t", session, check=False)
        return r.stdout.rstrip("\n").split("\n") if r.returncode == 0 else None

    def wait_screen(self, session, predicate, timeout=10.0, what="condition"):
        deadline = time.monotonic() + timeout
        while True:
            lines = self.screen(session)
            if lines is not None and predicate(lines):
                return lines
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; screen:\n" +
                                     "\n".join(lines or ["<no session>"]))
            time.sleep(0.05)  # polling the screen, bounded by the deadline

    def wait_gone(self, session, timeout=10.0):
        """Waits until the session's program has exited (tmux then closes it)."""
        deadline = time.monotonic() + timeout
        while self.alive(session):
            if time.monotonic() > deadline:
                raise AssertionError(f"{session} still running; screen:\n" +
                                     "\n".join(self.screen(session) or []))
            time.sleep(0.05)  # polling, bounded by the deadline

    def alive(self, session):
        return self.tmux("has-session", "-t", session, check=False).returncode == 0

    def kill_server(self):
        self.tmux("kill-server", check=False)

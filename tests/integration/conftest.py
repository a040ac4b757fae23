"""Shared fixtures for the integration tests.

Every test starts the real binaries on 127.0.0.1 with ports picked free, and
synchronises on what the programs print (a readiness line, a reply), never on
sleeps. Every wait has a deadline, so a broken program fails a test instead of
hanging it.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import zmq

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "peers"))

BIN_DIR = os.environ.get(
    "GROUPCHAT_BIN_DIR",
    os.path.join(os.path.dirname(__file__), "..", "..", "build", "apps"),
)

DEFAULT_TIMEOUT = 10.0


def binary(name):
    path = os.path.join(BIN_DIR, name)
    if not os.path.exists(path):
        raise RuntimeError(f"{path} not built; build first or set GROUPCHAT_BIN_DIR")
    return path


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(n):
    """n distinct TCP ports on 127.0.0.1 that nothing listens on right now (held together while chosen)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def start_on_every_address(start, ready, ready_stream="stderr", tries=5):
    """Starts a server bound to every address on a free port: start(port)
    returns its Proc, and a line matching `ready` on `ready_stream` says it
    serves. Binding every address also collides with a socket of another test
    that holds the port on some other loopback address (free_port looks at
    127.0.0.1 only), so a bind refused as in use is tried on another port.
    Returns (proc, port)."""
    for _ in range(tries):
        port = free_port()
        p = start(port)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if p.find(ready, ready_stream, timeout=0.2):
                return p, port
            if p.find(r"cannot bind .*Address already in use", "stderr"):
                break
        else:
            p.wait_for(ready, stream=ready_stream, timeout=0)  # fails, with what it printed
    raise AssertionError(f"no port could be bound on every address in {tries} tries")


class Proc:
    """A child process whose stdout and stderr lines are collected as they come."""

    def __init__(self, args, env=None, stdin=subprocess.DEVNULL, cwd=None):
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        self.args = args
        self.popen = subprocess.Popen(
            args,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
            cwd=cwd,
        )
        self.lines = {"stdout": [], "stderr": []}
        self.cond = threading.Condition()
        self.threads = [
            threading.Thread(target=self._pump, args=(self.popen.stdout, "stdout"), daemon=True),
            threading.Thread(target=self._pump, args=(self.popen.stderr, "stderr"), daemon=True),
        ]
        for t in self.threads:
            t.start()

    def _pump(self, stream, name):
        for raw in iter(stream.readline, b""):
            with self.cond:
                self.lines[name].append(raw.decode("utf-8", "replace").rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def find(self, pattern, stream="stdout", timeout=0.0, start=0):
        """Waits up to `timeout` s for a line of `stream` (from index `start`) that
        matches `pattern`; returns it, or None if none came in time."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for line in self.lines[stream][start:]:
                    if rx.search(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(min(left, 0.5))

    def wait_for(self, pattern, stream="stdout", timeout=DEFAULT_TIMEOUT, start=0):
        """Waits until a line of `stream` (from index `start`) matches `pattern`; returns it."""
        line = self.find(pattern, stream, timeout, start)
        if line is None:
            with self.cond:
                raise AssertionError(
                    f"timed out waiting for /{pattern}/ on {stream} of {self.args}\n"
                    f"stdout: {self.lines['stdout'][-20:]}\nstderr: {self.lines['stderr'][-20:]}"
                )
        return line

    def count(self, pattern, stream="stdout"):
        rx = re.compile(pattern)
        with self.cond:
            return sum(1 for line in self.lines[stream] if rx.search(line))

    def out(self, stream="stdout"):
        with self.cond:
            return list(self.lines[stream])

    def signal(self, sig):
        if self.popen.poll() is None:
            self.popen.send_signal(sig)

    def wait(self, timeout=DEFAULT_TIMEOUT):
        rc = self.popen.wait(timeout=timeout)
        for t in self.threads:
            t.join(timeout=timeout)
        return rc

    def stop(self):
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)

    def kill(self):
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(timeout=5)


def json_lines(proc):
    """The stdout lines of proc (a --json command), parsed."""
    return [json.loads(line) for line in proc.out()]


def wait_json_lines(proc, n, timeout=15.0):
    """Waits until proc has printed at least n stdout lines; returns them parsed."""
    deadline = time.monotonic() + timeout
    with proc.cond:
        while len(proc.lines["stdout"]) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"{len(proc.lines['stdout'])} of {n} lines from {proc.args}\n"
                    f"stdout: {proc.lines['stdout'][-10:]}\nstderr: {proc.lines['stderr'][-10:]}")
            proc.cond.wait(min(left, 0.5))
    return json_lines(proc)


def request(endpoint, body, timeout=3.0, ctx=None):
    """One REQ round trip. body: dict (sent as JSON), str or bytes. Returns the reply bytes.
    Raises TimeoutError when no reply comes in time."""
    return round_trip(connect(zmq.REQ, endpoint, ctx), endpoint, body, timeout)


def round_trip(s, endpoint, body, timeout):
    """Sends body (dict: as JSON, str or bytes) on the connected REQ socket s,
    waits for the reply and closes s. TimeoutError when none comes in time."""
    try:
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        s.send(body)
        if not s.poll(int(timeout * 1000)):
            raise TimeoutError(f"no reply from {endpoint} in {timeout}s")
        return s.recv()
    finally:
        s.close()


def connect(kind, address, ctx=None, **options):
    """A socket of `kind` (zmq.DEALER, zmq.REQ, ...) connected to address, with
    LINGER 0; options (e.g. RCVHWM=10) are set before connecting, since a
    connection's queue takes the limits in force then."""
    s = (ctx or zmq.Context.instance()).socket(kind)
    s.setsockopt(zmq.LINGER, 0)
    for name, value in options.items():
        s.setsockopt(getattr(zmq, name), value)
    s.connect(address if address.startswith("tcp://") else "tcp://" + address)
    return s


class Keys:
    """A fresh CURVE key pair, as Z85 text (.public, .secret)."""

    def __init__(self):
        pub, sec = zmq.curve_keypair()
        self.public, self.secret = pub.decode(), sec.decode()


def curve_connect(kind, address, server_key, keys=None, ctx=None):
    """A socket of `kind` connected over CURVE as `keys` (a fresh pair by
    default) to the server holding `server_key`, with LINGER 0."""
    keys = keys or Keys()
    s = (ctx or zmq.Context.instance()).socket(kind)
    s.setsockopt(zmq.LINGER, 0)
    s.curve_secretkey = keys.secret.encode()
    s.curve_publickey = keys.public.encode()
    s.curve_serverkey = server_key.encode()
    s.connect(address if address.startswith("tcp://") else "tcp://" + address)
    return s


def curve_request(address, server_key, body, keys=None, timeout=3.0):
    """One REQ round trip over CURVE (see curve_connect), as request(): the
    reply bytes, or TimeoutError (a failed handshake looks the same)."""
    return round_trip(curve_connect(zmq.REQ, address, server_key, keys), address, body, timeout)


def request_json(endpoint, body, timeout=3.0):
    return json.loads(request(endpoint, body, timeout))


# group_server's info line on stderr when unrenewed follows end.
def follows_expired_pattern(expiry_ms):
    return rf"(\d+) follow\(s\) ended: not renewed within {expiry_ms} ms"


def ended_follows(line):
    """How many follows a follows_expired_pattern line says ended."""
    return int(re.search(r"(\d+) follow\(s\) ended", line).group(1))


def address_of(group):
    """A group's "ip:port", given as such or as the Proc that Cluster.group returned."""
    return group if isinstance(group, str) else group.address


def join(group, user, expect="SUCCESS", **fields):
    """joinGroup for `user`; `fields` go into the request too (e.g. name="Bob").
    Asserts the reply's response is `expect` (None: any) and returns the reply."""
    r = request_json(address_of(group), {"action": "joinGroup", "user_uuid": user, **fields})
    if expect is not None:
        assert r["response"] == expect, r
    return r


def send(group, user, text, expect="SUCCESS", **fields):
    """sendMessage of `text` by `user`; `fields` go into the request too (e.g.
    client_msg_id). Asserts the reply's response is `expect` (None: any) and
    returns the reply, whose "seq" is the stored message's."""
    r = request_json(address_of(group),
                     {"action": "sendMessage", "user_uuid": user, "message": text, **fields})
    if expect is not None:
        assert r["response"] == expect, r
    return r


# A public id: what members see in a message's "user_uuid" in place of its
# sender's (docs/PROTOCOL.md, "Public ids").
PUBLIC_ID = re.compile(r"[0-9a-f]{32}")


def public_id(group, user):
    """The public id of `user` in `group`, as whoami answers it."""
    r = request_json(address_of(group), {"action": "whoami", "user_uuid": user})
    assert r["response"] == "SUCCESS" and PUBLIC_ID.fullmatch(r.get("public_id", "")), r
    return r["public_id"]


class Cluster:
    """Starts and tracks servers for one test; everything is stopped at teardown."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.procs = []

    def start(self, name, args, env=None, **kw):
        p = Proc([binary(name)] + list(args), env=env, **kw)
        self.procs.append(p)
        return p

    def registry(self, port=None, extra=()):
        port = port or free_port()
        p = self.start("message_server", ["--bind", f"127.0.0.1:{port}", *extra])
        p.wait_for(r"serving on", stream="stderr")
        p.port = port
        p.address = f"127.0.0.1:{port}"
        return p

    def group(self, name, registry_address, port=None, extra=(), wait=True, data_dir=None):
        port = port or free_port()
        data_dir = data_dir or str(self.tmp_path / "data")
        p = self.start(
            "group_server",
            [name, f"127.0.0.1:{port}", "--server", registry_address, "--data-dir", data_dir, *extra],
        )
        p.port = port
        p.address = f"127.0.0.1:{port}"
        if wait:
            p.wait_for(r"serving on", stream="stderr")
        return p

    def client(self, args, env=None, input=None, timeout=30):
        """Runs user_client to completion; returns CompletedProcess with text output."""
        full_env = dict(os.environ)
        full_env.setdefault("XDG_CONFIG_HOME", str(self.tmp_path / "config"))
        if env:
            full_env.update(env)
        try:
            return subprocess.run(
                [binary("user_client")] + list(args),
                input=input,
                capture_output=True,
                text=True,
                env=full_env,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as e:
            # What it had said by then is the clue to why it did not end.
            raise AssertionError(f"user_client {list(args)} did not end within {timeout} s; "
                                 f"stdout: {e.stdout!r}; stderr: {e.stderr!r}") from None

    def stop_all(self):
        for p in reversed(self.procs):
            p.stop()


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    yield c
    c.stop_all()


@pytest.fixture
def make_chat(cluster):
    """Starts a registry and the group "alpha" registered with it; returns the
    cluster with .reg and .grp set. group_extra: more group_server options, for
    a test that needs the group configured otherwise (e.g. a short follow expiry)."""

    def make(group_extra=()):
        cluster.reg = cluster.registry()
        cluster.grp = cluster.group("alpha", cluster.reg.address, extra=group_extra)
        return cluster

    return make


@pytest.fixture
def chat(make_chat):
    """A registry and the group "alpha" with default options."""
    return make_chat()

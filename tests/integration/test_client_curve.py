"""user_client in curve mode with the real group_server --security curve: the
whole journey with nothing but the registry's key, the remembered registry
key, a changed or impostor registry key refused, a wrong or missing group key
told clearly, a key the group refuses, and whoami.

The registry is the real message_server --security curve when the build has
it (groups register with --server-key). Otherwise a stand-in speaks
list_groups over CURVE (pyzmq) and the group servers register with a real
open message_server, which the clients never see."""
import json
import os
import re
import shlex
import shutil
import subprocess
import threading

import pytest
import zmq
import zmq.utils.z85

from conftest import binary, free_port
from terminal import Terminal

Z85_KEY = re.compile(r"^[0-9A-Za-z.\-:+=^!/*?&<>()\[\]{}@%$#]{40}$")


class CurveRegistry:
    """A registry reached over CURVE: answers list_groups with `groups` and
    get_group_list with the same names, refuses anything else; every client
    key may connect (ZAP 200). Runs in a thread of the test until stopped."""

    def __init__(self, groups):
        self.groups = groups
        self.public, self.secret = zmq.curve_keypair()
        self.key = self.public.decode()
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.actions = []
        self.ctx = zmq.Context()
        self.zap = self.ctx.socket(zmq.REP)
        self.zap.bind("inproc://zeromq.zap.01")
        self.router = self.ctx.socket(zmq.ROUTER)
        self.router.curve_server = True
        self.router.curve_secretkey = self.secret
        self.router.zap_domain = b"groupchat"
        self.router.bind(f"tcp://{self.address}")
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        poller = zmq.Poller()
        poller.register(self.zap, zmq.POLLIN)
        poller.register(self.router, zmq.POLLIN)
        while not self.stopping.is_set():
            ready = dict(poller.poll(100))  # bounded: the stop flag is seen within 0.1 s
            if self.zap in ready:
                f = self.zap.recv_multipart()
                self.zap.send_multipart([b"1.0", f[1], b"200", b"OK", zmq.utils.z85.encode(f[6]), b""])
            if self.router in ready:
                frames = self.router.recv_multipart()
                body = json.loads(frames[-1])
                self.actions.append(body.get("action"))
                if body.get("action") == "list_groups":
                    reply = {"response": "SUCCESS", "groups": self.groups}
                elif body.get("action") == "get_group_list":
                    reply = [f"{g['name']} - {g['address']}" for g in self.groups]
                else:
                    reply = {"response": "FAILED", "error": "unknown action"}
                self.router.send_multipart(frames[:-1] + [json.dumps(reply).encode()])

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=5)
        self.zap.close(0)
        self.router.close(0)
        self.ctx.term()


def group_key(cluster, name, address):
    """The group's public key, as its operator prints it (same data directory)."""
    r = cluster_run(["group_server", name, address, "--security", "curve", "--data-dir",
                     str(cluster.tmp_path / "data"), "--public-key"])
    assert r.returncode == 0 and Z85_KEY.match(r.stdout.strip()), r
    return r.stdout.strip()


def cluster_run(args):
    return subprocess.run([binary(args[0])] + args[1:], capture_output=True, text=True, timeout=30)


def real_curve_registry():
    """True when message_server has a curve mode (--security)."""
    r = subprocess.run([binary("message_server"), "--help"], capture_output=True, text=True,
                       timeout=10)
    return "--security" in r.stdout


class RealCurveRegistry:
    """message_server --security curve, with its public key."""

    def __init__(self, cluster):
        data_dir = cluster.tmp_path / "registry-data"
        self.proc = cluster.registry(extra=["--security", "curve", "--data-dir", str(data_dir)])
        self.address = self.proc.address
        r = subprocess.run([binary("message_server"), "--data-dir", str(data_dir), "--bind",
                            self.address, "--public-key"], capture_output=True, text=True,
                           timeout=10)
        assert r.returncode == 0 and Z85_KEY.match(r.stdout.strip()), r
        self.key = r.stdout.strip()

    def stop(self):
        pass  # the cluster stops the process


def start_groups(cluster, groups, curve_extra=()):
    """Starts each (name, security) group and a curve registry listing them;
    returns (registry, {name: group}). A curve group's .key is its public key."""
    started = {}
    if real_curve_registry():
        reg = RealCurveRegistry(cluster)
        for name, security in groups:
            extra = ["--server-key", reg.key]
            if security == "curve":
                extra = ["--security", "curve", *extra, *curve_extra]
            started[name] = cluster.group(name, reg.address, extra=extra)
        for name, security in groups:
            if security == "curve":  # listed once it proved its key to the registry
                reg.proc.wait_for(rf"'{name}' at .* proved its key", stream="stderr")
    else:
        open_reg = cluster.registry()
        for name, security in groups:
            extra = ["--security", "curve", *curve_extra] if security == "curve" else []
            started[name] = cluster.group(name, open_reg.address, extra=extra)
        reg = None
    for name, security in groups:
        g = started[name]
        g.key = group_key(cluster, name, g.address) if security == "curve" else None
    if reg is None:
        reg = CurveRegistry([
            {"name": name, "address": started[name].address, "security": security,
             "public_key": started[name].key} for name, security in groups])
    cluster.stoppers.append(reg.stop)
    return reg, started


@pytest.fixture
def curve(cluster):
    """The curve group "secret" and the open group "plain", a curve registry
    listing both, and a client config home; GROUPCHAT_SERVER_KEY unset."""
    cluster.stoppers = []
    cluster.curve_reg, groups = start_groups(cluster, [("secret", "curve"), ("plain", "open")])
    cluster.grp, cluster.plain = groups["secret"], groups["plain"]
    cluster.grp_key = cluster.grp.key
    cluster.config = cluster.tmp_path / "config"
    os.environ.pop("GROUPCHAT_SERVER_KEY", None)
    yield cluster
    for stop in cluster.stoppers:
        stop()


def user(cluster, args, key=None, config=None, **kw):
    """user_client against the curve registry; key: GROUPCHAT_SERVER_KEY."""
    env = {"XDG_CONFIG_HOME": str(config or cluster.config)}
    if key:
        env["GROUPCHAT_SERVER_KEY"] = key
    return cluster.client(["--server", cluster.curve_reg.address, "--timeout-ms", "700", *args],
                          env=env, **kw)


def test_the_whole_journey_needs_only_the_registry_key(curve):
    g, p, rk = curve.grp.address, curve.plain.address, curve.curve_reg.key

    r = user(curve, ["groups"], key=rk)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [f"secret - {g} (curve)", f"plain - {p}"]
    # The user's key pair was made, owner-only; the registry's key remembered.
    key_file = curve.config / "groupchat" / "key"
    assert (key_file.stat().st_mode & 0o777) == 0o600
    known = (curve.config / "groupchat" / "known_registries").read_text()
    assert f"{curve.curve_reg.address} {rk}\n" in known
    assert "note: remembered the registry" in r.stderr

    # From now on no key is given: the remembered one is used.
    for args in (["join", g], ["send", g, "hello", "over", "curve"], ["join", p],
                 ["send", p, "hello", "open"]):
        r = user(curve, args)
        assert (r.returncode, r.stdout) == (0, "SUCCESS\n"), (args, r.stderr)
    r = user(curve, ["get", "--json", g])
    assert r.returncode == 0, r.stderr
    messages = [json.loads(x) for x in r.stdout.splitlines()]
    assert [m["message"] for m in messages] == ["hello over curve"]
    r = user(curve, ["get", p])
    assert r.returncode == 0 and " : hello open (" in r.stdout, r

    # whoami: the key, and the public id in the group (the key acts as the member).
    r = user(curve, ["whoami"])
    assert r.returncode == 0 and Z85_KEY.match(r.stdout.strip()), r
    my_key = r.stdout.strip()
    r = user(curve, ["whoami", "--json", g])
    assert r.returncode == 0, r.stderr
    me = json.loads(r.stdout)
    assert me["public_key"] == my_key and me["member"] is True, me
    assert messages[0]["user_uuid"] == me["public_id"]

    # follow: the stored message, then a live one.
    env = {"XDG_CONFIG_HOME": str(curve.config)}
    f = curve.start("user_client", ["--server", curve.curve_reg.address, "follow", "--json",
                                    "--since-seq", "0", g], env=env)
    f.wait_for(r"hello over curve")
    r = user(curve, ["send", g, "live", "one"])
    assert r.returncode == 0, r.stderr
    f.wait_for(r'"message":"live one"')
    f.stop()

    r = user(curve, ["leave", g])
    assert (r.returncode, r.stdout) == (0, "SUCCESS\n"), r.stderr
    r = user(curve, ["get", g])
    assert r.returncode == 1 and f"{g} refused" in r.stderr, r
    # The list came from list_groups, never get_group_list.
    if isinstance(curve.curve_reg, CurveRegistry):
        assert "get_group_list" not in curve.curve_reg.actions
    else:
        assert curve.curve_reg.proc.count(r"GROUP LIST REQUEST") == 0


def test_an_open_user_never_gets_a_key_pair_and_never_sends_list_groups(chat):
    r = chat.client(["--server", chat.reg.address, "groups"])
    assert r.returncode == 0 and "alpha - " in r.stdout, r
    r = chat.client(["--server", chat.reg.address, "join", chat.grp.address])
    assert r.returncode == 0, r.stderr
    config = chat.tmp_path / "config" / "groupchat"
    assert not (config / "key").exists() and not (config / "known_registries").exists()
    assert "LIST_GROUPS" not in " ".join(chat.reg.out()).upper()
    # whoami makes it.
    r = chat.client(["--server", chat.reg.address, "whoami"])
    assert r.returncode == 0 and Z85_KEY.match(r.stdout.strip()), r
    assert (config / "key").exists()


def test_a_changed_registry_key_is_refused_and_an_impostor_named(curve):
    rk = curve.curve_reg.key
    assert user(curve, ["groups"], key=rk).returncode == 0
    other = zmq.curve_keypair()[0].decode()
    known = curve.config / "groupchat" / "known_registries"

    # Another key given for a remembered registry: refused before sending.
    r = user(curve, ["--server-key", other, "groups"])
    assert r.returncode == 2 and r.stdout == "", r
    for part in (rk, other, str(known), f"remove the line '{curve.curve_reg.address} {rk}'"):
        assert part in r.stderr, r.stderr

    # The registry at the address presents another key than the one remembered.
    known.write_text(known.read_text().replace(rk, other))
    r = user(curve, ["groups"])
    assert r.returncode == 4, r
    assert (f"the registry at {curve.curve_reg.address} did not prove it holds the key {other} "
            "(the CURVE handshake failed): it is not the registry you know, or its key changed"
            in r.stderr), r.stderr
    assert str(known) in r.stderr


def test_group_keys_wrong_missing_and_given(curve):
    g = curve.grp.address
    # No registry key: groups are reached open unless --group-key; nothing is
    # asked of the registry (there is none at this address).
    open_reg = ["--server", f"127.0.0.1:{free_port()}"]
    wrong = zmq.curve_keypair()[0].decode()
    r = curve.client([*open_reg, "--group-key", wrong, "join", g])
    assert r.returncode == 4, r
    assert f"the group at {g} did not prove it holds the key {wrong}" in r.stderr, r.stderr
    assert "check --group-key" in r.stderr

    r = curve.client([*open_reg, "join", g])
    assert r.returncode == 4, r
    assert (f"the group at {g} did not accept an unencrypted connection: it may be a curve "
            "group; reach it through a curve registry (--server-key) or give --group-key"
            in r.stderr), r.stderr

    # follow ends too, once the group has been silent for its reply timeout.
    r = curve.client([*open_reg, "--group-key", wrong, "--timeout-ms", "1000", "follow", g],
                     timeout=20)
    assert r.returncode == 4, r
    assert f"the group at {g} did not prove it holds the key {wrong}" in r.stderr, r.stderr
    r = curve.client([*open_reg, "--timeout-ms", "1000", "follow", g], timeout=20)
    assert r.returncode == 4 and "did not accept an unencrypted connection" in r.stderr, r

    r = curve.client([*open_reg, "--group-key", curve.grp_key, "join", g])
    assert (r.returncode, r.stdout) == (0, "SUCCESS\n"), r.stderr

    # A key for an open group: it does not speak CURVE (libzmq tells it as a
    # mechanism mismatch, or, when the server closes first, as a failed proof).
    r = curve.client([*open_reg, "--group-key", wrong, "get", curve.plain.address])
    assert r.returncode == 4, r
    assert ("does not speak CURVE" in r.stderr
            or f"did not prove it holds the key {wrong}" in r.stderr), r.stderr

    # A key without a group to apply it to is a usage error.
    r = curve.client([*open_reg, "--group-key", wrong, "groups"])
    assert r.returncode == 2 and "--group-key needs a group address" in r.stderr, r


def test_a_key_not_in_the_members_file_is_refused_naming_it(cluster):
    members = cluster.tmp_path / "members"
    members.write_text(zmq.curve_keypair()[0].decode() + "\n")  # someone else
    cluster.stoppers = []
    reg, groups = start_groups(cluster, [("closed", "curve")],
                               curve_extra=["--members-file", str(members)])
    grp = groups["closed"]
    try:
        r = cluster.client(["--server", reg.address, "--server-key", reg.key, "whoami"])
        assert r.returncode == 0, r
        my_key = r.stdout.strip()
        r = cluster.client(["--server", reg.address, "--server-key", reg.key, "join", grp.address])
    finally:
        for stop in cluster.stoppers:
            stop()
    # Refused in the handshake by the group's ZAP handler.
    assert r.returncode == 4, r
    assert f"the group at {grp.address} refused your key {my_key}" in r.stderr, r.stderr
    assert "ask its operator to add it" in r.stderr


def test_nothing_listening_is_told_apart_from_silence(cluster):
    dead = f"127.0.0.1:{free_port()}"
    r = cluster.client(["--server", dead, "--timeout-ms", "300", "--tries", "2", "groups"])
    assert r.returncode == 3, r
    assert f"cannot connect to {dead}: nothing accepted a connection there (tried for 600 ms)" \
        in r.stderr, r.stderr


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")
def test_the_shell_on_a_terminal_over_curve(curve):
    g = curve.grp.address
    term = Terminal()
    try:
        env = {"XDG_CONFIG_HOME": str(curve.config), "XDG_STATE_HOME": str(curve.tmp_path / "st"),
               "TERM": "xterm", "GROUPCHAT_SERVER_KEY": curve.curve_reg.key}
        command = " ".join(["env", *[f"{k}={shlex.quote(v)}" for k, v in env.items()],
                            shlex.quote(binary("user_client")), "--server",
                            curve.curve_reg.address])
        term.start("c1", command)
        prompt = lambda ls: [x for x in ls if x.strip()][-1:] == [">"]
        term.wait_screen("c1", prompt, what="the prompt")
        term.type("c1", "get_group_list")
        term.keys("c1", "Enter")
        term.wait_screen("c1", lambda ls: f"secret - {g} (curve)" in ls, what="the list")
        term.type("c1", f"join_group {g}")
        term.keys("c1", "Enter")
        term.wait_screen("c1", lambda ls: "SUCCESS" in ls, what="SUCCESS")

        # Another member, with a key of its own, sends until the shell shows it live.
        other = curve.tmp_path / "other"
        assert user(curve, ["--name", "other", "join", g], key=curve.curve_reg.key,
                    config=other).returncode == 0
        for n in range(30):  # bounded: each try waits at most 0.5 s for the line
            assert user(curve, ["send", g, f"ping{n}"], config=other).returncode == 0
            try:
                term.wait_screen("c1", lambda ls: any(f"] other : ping" in x for x in ls),
                                 timeout=0.5, what="a live line")
                break
            except AssertionError:
                continue
        else:
            raise AssertionError("no live line over curve")
        term.type("c1", f"get_messages {g}")
        term.keys("c1", "Enter")
        term.wait_screen("c1", lambda ls: any(x.startswith("other : ping0 (") for x in ls),
                         what="get_messages")
        term.type("c1", "exit")
        term.keys("c1", "Enter")
        term.wait_gone("c1")

        # A shell without the registry's key follows the remembered group
        # open: the group refuses that, and the shell says so and goes on.
        dead = f"127.0.0.1:{free_port()}"
        plain_env = {k: v for k, v in env.items() if k != "GROUPCHAT_SERVER_KEY"}
        term.start("c2", " ".join(["env", *[f"{k}={shlex.quote(v)}" for k, v in plain_env.items()],
                                   shlex.quote(binary("user_client")), "--server", dead,
                                   "--timeout-ms", "1000"]))
        warning = (f"warning: stopped following {g}: the group at {g} did not accept an "
                   "unencrypted connection")
        term.wait_screen("c2", lambda ls: any(x.startswith(warning) for x in ls),
                         what="the warning", timeout=15)
        term.type("c2", "exit")
        term.keys("c2", "Enter")
        term.wait_gone("c2")

        # With the key (remembered now) the group is left from a shell.
        term.start("c3", command)
        term.wait_screen("c3", prompt, what="the prompt")
        term.type("c3", f"leave_group {g}")
        term.keys("c3", "Enter")
        term.wait_screen("c3", lambda ls: "SUCCESS" in ls, what="the leave")
        term.type("c3", "exit")
        term.keys("c3", "Enter")
        term.wait_gone("c3")
    finally:
        term.kill_server()


def test_groups_by_name_over_curve(curve):
    """A name is looked up with list_groups, which also gives the curve
    group's key: the registry's key is all the user gives, as by address."""
    g, rk = curve.grp.address, curve.curve_reg.key
    r = user(curve, ["join", "secret"], key=rk)
    assert (r.returncode, r.stdout) == (0, "SUCCESS\n"), r.stderr
    r = user(curve, ["shell"], input="/join secret\nby name over curve\n/last 1\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("SUCCESS\n") and " : by name over curve (" in r.stdout, r
    assert f"now go to secret ({g})" in r.stderr, r.stderr
    r = user(curve, ["join", "secrte"])
    assert r.returncode == 2 and "did you mean 'secret'?" in r.stderr, r

"""Four hosts on one LAN, made of network namespaces: a registry on one, a
group server on each of two others (bound to its own address, registered
from it), a reference group beside one of them, and the user clients on the
fourth. Users list, join, send, get and follow across hosts; then one group
host's link goes down (a partition) and comes back: its groups leave the
list and return to it, a send made during the partition arrives once the
link is back, and every message is there exactly once.

The hosts hang off a bridge that lives in a fifth namespace (the switch), on
the private subnet 10.231.0.0/24 that exists only inside these namespaces:
nothing is added to the namespace the test runs in. Everything made is
removed after the test, also when it fails. Needs root (CI runs as root);
skipped, saying why, where network namespaces cannot be made.

Synchronisation is on printed lines and replies, each wait with a deadline."""
import json
import os
import re
import shutil
import signal
import subprocess
import time
import warnings

import pytest

from conftest import Proc, binary, wait_json_lines

PEERS = os.path.join(os.path.dirname(__file__), "..", "peers")
SUBNET = "10.231.0"
REGISTRY_HOST, GROUP_A_HOST, GROUP_B_HOST, CLIENT_HOST = "reg", "ga", "gb", "cli"
ADDRESSES = {REGISTRY_HOST: f"{SUBNET}.1", GROUP_A_HOST: f"{SUBNET}.2",
             GROUP_B_HOST: f"{SUBNET}.3", CLIENT_HOST: f"{SUBNET}.4"}
# Every host knows the others by name: `ip netns exec` mounts /etc/netns/NS/hosts
# over /etc/hosts for what it runs, so the names exist only inside the namespaces.
NAMES = {host: f"{host}.lan.test" for host in ADDRESSES}
REGISTRY = f"{ADDRESSES[REGISTRY_HOST]}:5555"
GROUP_A = f"{ADDRESSES[GROUP_A_HOST]}:5560"
GROUP_B = f"{ADDRESSES[GROUP_B_HOST]}:5560"
REF_B = f"{ADDRESSES[GROUP_B_HOST]}:5570"  # a reference group on group B's host
# A dead group of either kind leaves the list within 5 s (docs/PROTOCOL.md, "Liveness").
VANISH_S = 5.0
# After healing: a heartbeating group registers again at its next heartbeat; a
# rewatched reference group is listed once the registry's watch reconnects
# (every 2 s at most) and its handshake succeeds.
RETURN_S = 15.0
CLIENT_FLAGS = ["--timeout-ms", "700", "--tries", "2"]


def ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10, check=check)


def namespaces_unavailable():
    """Why network namespaces cannot be made here, or None when they can."""
    if os.geteuid() != 0:
        return "needs root to make network namespaces"
    probe = f"gcmh-probe-{os.getpid()}"
    try:
        made = ip("netns", "add", probe, check=False)
    except FileNotFoundError:
        return "the ip command (iproute2) is not installed"
    if made.returncode != 0:
        return f"'ip netns add' fails here: {made.stderr.strip()}"
    ip("netns", "del", probe, check=False)
    return None


def remove_leftovers():
    """Removes the namespaces of an earlier run of this file that was killed before its
    clean-up (their names carry the pid of a process that is gone)."""
    for line in ip("netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        m = re.fullmatch(r"gcmh(\d+)-\w+", name)
        if m and not os.path.exists(f"/proc/{m.group(1)}"):
            for pid in ip("netns", "pids", name, check=False).stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            ip("netns", "del", name, check=False)
    if os.path.isdir(ETC_NETNS):
        for name in os.listdir(ETC_NETNS):
            m = re.fullmatch(r"gcmh(\d+)-\w+", name)
            if m and not os.path.exists(f"/proc/{m.group(1)}"):
                shutil.rmtree(os.path.join(ETC_NETNS, name), ignore_errors=True)


ETC_NETNS = "/etc/netns"


class Lan:
    """The namespaces, the switch and what runs on the hosts."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.prefix = f"gcmh{os.getpid()}"
        self.made = []  # namespaces made, removed in reverse order
        self.etc = []  # their /etc/netns/NS directories, removed with them
        self.made_etc_netns = not os.path.exists(ETC_NETNS)
        self.procs = []

    def ns(self, host):
        return f"{self.prefix}-{host}"

    def build(self):
        switch = self.ns("sw")
        for host in ["sw", *ADDRESSES]:
            ip("netns", "add", self.ns(host))
            self.made.append(self.ns(host))
            etc = os.path.join(ETC_NETNS, self.ns(host))
            os.makedirs(etc, exist_ok=True)
            self.etc.append(etc)
            with open(os.path.join(etc, "hosts"), "w") as f:
                f.write("127.0.0.1 localhost\n")
                f.writelines(f"{ADDRESSES[h]} {NAMES[h]}\n" for h in ADDRESSES)
            ip("-n", self.ns(host), "link", "set", "lo", "up")
        ip("-n", switch, "link", "add", "br0", "type", "bridge")
        ip("-n", switch, "link", "set", "br0", "up")
        for host, address in ADDRESSES.items():
            # The host's end is made in its namespace; nothing passes through ours.
            ip("-n", switch, "link", "add", self.port(host), "type", "veth", "peer", "name", "eth0",
               "netns", self.ns(host))
            ip("-n", switch, "link", "set", self.port(host), "master", "br0", "up")
            ip("-n", self.ns(host), "addr", "add", f"{address}/24", "dev", "eth0")
            ip("-n", self.ns(host), "link", "set", "eth0", "up")

    @staticmethod
    def port(host):
        return f"p-{host}"

    def set_link(self, host, up):
        """Takes the switch's port to `host` down (a partition) or up again."""
        ip("-n", self.ns("sw"), "link", "set", self.port(host), "up" if up else "down")

    def start(self, host, argv):
        p = Proc(["ip", "netns", "exec", self.ns(host), *argv],
                 env={"XDG_CONFIG_HOME": str(self.tmp_path / "config")})
        self.procs.append(p)
        return p

    def client(self, *args, timeout=30):
        """Runs user_client on the client host to completion."""
        env = dict(os.environ, XDG_CONFIG_HOME=str(self.tmp_path / "config"))
        return subprocess.run(
            ["ip", "netns", "exec", self.ns(CLIENT_HOST), binary("user_client"), "--server",
             REGISTRY, *CLIENT_FLAGS, *args],
            capture_output=True, text=True, env=env, timeout=timeout)

    def teardown(self):
        for p in reversed(self.procs):
            p.kill()
        for ns in reversed(self.made):
            # Anything still running in a namespace of ours was started by this test.
            pids = ip("netns", "pids", ns, check=False).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            # Its veth ends go with it, and the bridge with the switch's.
            ip("netns", "del", ns, check=False)
        for etc in self.etc:
            shutil.rmtree(etc, ignore_errors=True)
        if self.made_etc_netns:
            try:
                os.rmdir(ETC_NETNS)
            except OSError:
                pass


@pytest.fixture(scope="module")
def lan(tmp_path_factory):
    why = namespaces_unavailable()
    if why:
        # Also as a warning: pytest -q prints warnings, not the reasons of skips.
        warnings.warn(f"multi-host test skipped: {why}")
        pytest.skip(f"multi-host test skipped: {why}")
    remove_leftovers()
    tmp_path = tmp_path_factory.mktemp("lan")
    net = Lan(tmp_path)
    try:
        net.build()
        net.registry = net.start(REGISTRY_HOST, [binary("message_server"), "--bind", "*:5555"])
        net.registry.wait_for(r"^Starting message server on port 5555\.\.\.$")
        net.group_a = net.start(GROUP_A_HOST, [
            binary("group_server"), "alpha", GROUP_A, "--server", REGISTRY,
            "--data-dir", str(tmp_path / "data-a")])
        net.group_b = net.start(GROUP_B_HOST, [
            binary("group_server"), "beta", GROUP_B, "--server", REGISTRY,
            "--data-dir", str(tmp_path / "data-b")])
        net.ref_b = net.start(GROUP_B_HOST, [
            "/usr/bin/python3", os.path.join(PEERS, "ref_group.py"), "gamma", REF_B,
            "--server", REGISTRY])
        for g in (net.group_a, net.group_b, net.ref_b):
            g.wait_for(r"serving on", stream="stderr")
        yield net
    finally:
        net.teardown()


def listed(lan):
    r = lan.client("groups")
    assert r.returncode == 0, (r.returncode, r.stderr)
    return r.stdout.splitlines()


def wait_listed(lan, entries, present=True, timeout=VANISH_S):
    """Lists from the client host until every entry is (or none is) listed; fails at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        now = listed(lan)
        if all((e in now) == present for e in entries):
            return now
        if time.monotonic() > deadline:
            raise AssertionError(f"{entries} {'not all listed' if present else 'still listed'} "
                                 f"after {timeout} s: {now}")
        time.sleep(0.1)  # paces the polling; the deadline above bounds it


def ok(r):
    assert r.returncode == 0, (r.args, r.returncode, r.stdout, r.stderr)
    return r


def messages(lan, user, group):
    return [m["message"] for m in (json.loads(line) for line in
                                   ok(lan.client("--user-id", user, "get", group, "--json"))
                                   .stdout.splitlines())]


def test_clients_on_one_host_list_join_send_get_and_follow_groups_on_two_others(lan):
    wait_listed(lan, [f"alpha - {GROUP_A}", f"beta - {GROUP_B}", f"gamma - {REF_B}"])
    lan.registry.wait_for(rf"^JOIN REQUEST FROM {GROUP_A}$")
    # Each group registered from its own host, at the address it is bound to.
    lan.registry.wait_for(rf"registered 'alpha' at {GROUP_A} from {ADDRESSES[GROUP_A_HOST]} ",
                          stream="stderr")
    ok(lan.client("--user-id", "reader", "join", GROUP_A))
    ok(lan.client("--user-id", "writer", "join", GROUP_A))
    follower = lan.start(CLIENT_HOST, [binary("user_client"), "--user-id", "reader", "follow",
                                       GROUP_A, "--json", "--since-seq", "0"])
    for text in ("one", "two", "three"):
        ok(lan.client("--user-id", "writer", "send", GROUP_A, text))
    assert messages(lan, "reader", GROUP_A) == ["one", "two", "three"]
    lan.group_a.wait_for(r"^MESSAGE SEND FROM ")
    # The follower on the client host prints each message once, in order.
    got = wait_json_lines(follower, 3)
    assert [m["message"] for m in got] == ["one", "two", "three"], follower.out("stderr")
    assert [m["seq"] for m in got] == [1, 2, 3]
    # The reference group on group B's host serves the client host too.
    ok(lan.client("--user-id", "writer", "join", REF_B))
    ok(lan.client("--user-id", "writer", "send", REF_B, "to the reference"))
    lan.ref_b.wait_for(r"^MESSAGE SEND FROM writer$")


def test_a_partitioned_group_host_leaves_the_list_and_returns_with_nothing_lost(lan):
    beta, gamma, alpha = f"beta - {GROUP_B}", f"gamma - {REF_B}", f"alpha - {GROUP_A}"
    wait_listed(lan, [alpha, beta, gamma])
    ok(lan.client("--user-id", "p-writer", "join", GROUP_B))
    ok(lan.client("--user-id", "p-reader", "join", GROUP_B))
    follower = lan.start(CLIENT_HOST, [binary("user_client"), "--user-id", "p-reader", "follow",
                                       GROUP_B, "--json", "--since-seq", "0"])
    ok(lan.client("--user-id", "p-writer", "send", GROUP_B, "before"))
    follower.wait_for(r'"message":"before"')
    # Only a reference group the registry had reached is watched again after a loss.
    lan.registry.wait_for(rf"watching 'gamma' at {REF_B}: connected", stream="stderr")

    lan.set_link(GROUP_B_HOST, up=False)
    try:
        # Both groups of the cut host leave the list; the other stays.
        now = wait_listed(lan, [beta, gamma], present=False, timeout=VANISH_S + 2)
        assert alpha in now
        lan.registry.wait_for(rf"dropped 'gamma' at {REF_B}: its endpoint is not reachable; "
                              r"watching it", stream="stderr")
        # A send while the host is cut off keeps trying (a whole try is needed after healing).
        during = subprocess.Popen(
            ["ip", "netns", "exec", lan.ns(CLIENT_HOST), binary("user_client"), "--server",
             REGISTRY, "--user-id", "p-writer", "--timeout-ms", "1000", "--tries", "20", "send",
             GROUP_B, "during"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            # Still no reply after one try's timeout: the link is really down.
            with pytest.raises(subprocess.TimeoutExpired):
                during.wait(timeout=1.5)
        finally:
            lan.set_link(GROUP_B_HOST, up=True)
        out, err = during.communicate(timeout=25)
        assert during.returncode == 0, (during.returncode, out, err)
    finally:
        lan.set_link(GROUP_B_HOST, up=True)

    # Both are listed again: beta registers again, gamma (which never heartbeats) is
    # rewatched and listed once it answers.
    wait_listed(lan, [alpha, beta, gamma], timeout=RETURN_S)
    lan.registry.wait_for(rf"'gamma' at {REF_B} answers again: listed again", stream="stderr")
    ok(lan.client("--user-id", "p-writer", "send", GROUP_B, "after"))
    # Nothing lost, nothing twice: in the store, and on the follower's screen.
    assert messages(lan, "p-reader", GROUP_B) == ["before", "during", "after"]
    follower.wait_for(r'"message":"after"', timeout=15)
    got = [json.loads(line) for line in follower.out()]
    assert [m["message"] for m in got] == ["before", "during", "after"], follower.out("stderr")
    assert [m["seq"] for m in got] == [1, 2, 3]
    # The reference group serves again, with what it had.
    ok(lan.client("--user-id", "p-writer", "join", REF_B))
    ok(lan.client("--user-id", "p-writer", "send", REF_B, "after the partition"))


def test_groups_bound_by_host_name_or_to_every_address_list_an_address_other_hosts_reach(lan):
    """A group given its host's name binds the address the name resolves to and lists that
    number; a group bound to every address lists the one given by --advertise (a name too)."""
    a, b = ADDRESSES[GROUP_A_HOST], ADDRESSES[GROUP_B_HOST]
    delta = lan.start(GROUP_A_HOST, [
        binary("group_server"), "delta", "0.0.0.0:5561", "--advertise", f"{NAMES[GROUP_A_HOST]}:5561",
        "--server", f"{NAMES[REGISTRY_HOST]}:5555", "--data-dir", str(lan.tmp_path / "data-d")])
    epsilon = lan.start(GROUP_B_HOST, [
        binary("group_server"), "epsilon", f"{NAMES[GROUP_B_HOST]}:5562",
        "--server", f"{NAMES[REGISTRY_HOST]}:5555", "--data-dir", str(lan.tmp_path / "data-e")])
    for g in (delta, epsilon):
        g.wait_for(r"^SUCCESS$")
    wait_listed(lan, [f"delta - {a}:5561", f"epsilon - {b}:5562"])
    for group in (f"{a}:5561", f"{NAMES[GROUP_B_HOST]}:5562"):
        ok(lan.client("--user-id", "n-writer", "join", group))
        ok(lan.client("--user-id", "n-writer", "send", group, f"hello {group}"))
        assert messages(lan, "n-writer", group) == [f"hello {group}"]
    for g in (delta, epsilon):
        g.signal(signal.SIGTERM)
        assert g.wait() == 0
        assert g.out()[-1] == "Shutting down group..."

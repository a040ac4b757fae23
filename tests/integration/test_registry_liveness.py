"""Liveness in the registry: get_group_list shows only live groups. Reference groups
(which never heartbeat) are watched through their own endpoint; heartbeating groups
expire without heartbeats. A dead group of either kind vanishes within 5 s."""
import os
import signal
import threading
import time

from conftest import Proc, free_port, request, request_json

PEERS = os.path.join(os.path.dirname(__file__), "..", "peers")
VANISH_S = 5.0


def group_list(reg):
    return request_json(reg.address, {"action": "get_group_list", "user_uuid": "liveness"})


def wait_listed(reg, entry, present=True, timeout=VANISH_S):
    """Polls get_group_list until `entry` is (or is no longer) listed; fails at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        listed = group_list(reg)
        if (entry in listed) == present:
            return listed
        if time.monotonic() > deadline:
            raise AssertionError(f"{entry!r} {'never appeared' if present else 'still listed'} "
                                 f"after {timeout}s: {listed}")
        time.sleep(0.05)


def start_ref_group(cluster, name, reg, port=None):
    port = port or free_port()
    p = Proc(["/usr/bin/python3", os.path.join(PEERS, "ref_group.py"), name, f"127.0.0.1:{port}", "--server", reg.address])
    cluster.procs.append(p)
    p.wait_for(r"serving on", stream="stderr")
    p.address = f"127.0.0.1:{port}"
    return p


class Heartbeater:
    """Our group's side of the registry protocol: register with heartbeat, then heartbeat
    every heartbeat_ms; re-register when told to. Runs in a thread until stopped."""

    def __init__(self, reg_address, name, ip_port):
        self.reg_address, self.name, self.ip_port = reg_address, name, ip_port
        self.stop_flag = threading.Event()
        self.replies = []
        self.thread = None

    def call(self, action, **extra):
        return request_json(self.reg_address, {"action": action, "group_name": self.name,
                                               "ip_port": self.ip_port, **extra})

    def register(self):
        reply = self.call("register", heartbeat=True)
        assert reply["response"] == "SUCCESS", reply
        self.interval = reply["heartbeat_ms"] / 1000.0
        return reply

    def start(self):
        self.register()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self):
        while not self.stop_flag.wait(self.interval):
            try:
                reply = self.call("heartbeat")
            except TimeoutError:
                continue
            self.replies.append(reply)
            if reply.get("reregister"):
                self.register()

    def stop(self):
        self.stop_flag.set()
        if self.thread:
            self.thread.join(timeout=5)


def test_reference_group_is_listed_and_vanishes_after_sigkill(cluster):
    reg = cluster.registry()
    grp = start_ref_group(cluster, "refchat", reg)
    entry = f"refchat - {grp.address}"
    wait_listed(reg, entry)
    # The watch is connected, so the group has no deadline: only losing it can drop the entry.
    reg.wait_for(rf"watching 'refchat' at {grp.address}: connected", stream="stderr")
    grp.kill()
    wait_listed(reg, entry, present=False)


def test_watching_does_not_disturb_a_reference_group(cluster):
    reg = cluster.registry()
    grp = start_ref_group(cluster, "quiet", reg)
    wait_listed(reg, f"quiet - {grp.address}")
    assert request_json(grp.address, {"action": "joinGroup", "user_uuid": "u1"}) == {"response": "SUCCESS"}
    assert request_json(grp.address, {"action": "sendMessage", "user_uuid": "u1", "message": "hi"}) == \
        {"response": "SUCCESS"}
    got = request_json(grp.address, {"action": "getMessage", "user_uuid": "u1", "timestamp": None})
    assert [m["message"] for m in got["messages"]] == ["hi"]
    grp.wait_for(r"^MESSAGE REQUEST FROM u1$")
    assert grp.out() == ["JOIN REQUEST FROM u1", "MESSAGE SEND FROM u1", "MESSAGE REQUEST FROM u1"]
    assert grp.count(r"no reply", stream="stderr") == 0


def test_reference_group_that_hangs_vanishes_by_zmtp_heartbeat_and_returns_when_it_resumes(cluster):
    reg = cluster.registry()
    grp = start_ref_group(cluster, "frozen", reg)
    other = start_ref_group(cluster, "steady", reg)
    entry = f"frozen - {grp.address}"
    wait_listed(reg, entry)
    wait_listed(reg, f"steady - {other.address}")
    reg.wait_for(rf"watching 'frozen' at {grp.address}: connected", stream="stderr")
    grp.signal(signal.SIGSTOP)  # TCP stays up; only the missing PONGs give it away
    try:
        wait_listed(reg, entry, present=False)
        reg.wait_for(rf"dropped 'frozen' at {grp.address}: its endpoint is not reachable; "
                     r"watching it for 3600000 ms", stream="stderr")
    finally:
        grp.signal(signal.SIGCONT)
    # Still watched: listed again, in its place, once it answers; it never registered again.
    assert wait_listed(reg, entry, timeout=VANISH_S) == [entry, f"steady - {other.address}"]
    reg.wait_for(rf"'frozen' at {grp.address} answers again: listed again", stream="stderr")
    assert reg.count(rf"^JOIN REQUEST FROM {grp.address}$") == 1
    assert request_json(grp.address, {"action": "joinGroup", "user_uuid": "u1"}) == {"response": "SUCCESS"}


def test_registered_address_that_never_answers_counts_as_dead(cluster):
    reg = cluster.registry()
    addr = f"127.0.0.1:{free_port()}"  # nothing listens here
    assert b"SUCCESS" == request(
        reg.address, {"action": "register", "group_name": "ghost", "ip_port": addr})
    assert f"ghost - {addr}" in group_list(reg)
    wait_listed(reg, f"ghost - {addr}", present=False, timeout=VANISH_S + 1.5)


def test_heartbeating_group_vanishes_after_it_stops(cluster):
    reg = cluster.registry()
    hb = Heartbeater(reg.address, "beating", f"127.0.0.1:{free_port()}").start()
    entry = f"beating - {hb.ip_port}"
    wait_listed(reg, entry)
    # Alive across more than one expiry period while heartbeats flow.
    deadline = time.monotonic() + 4.5
    while time.monotonic() < deadline:
        assert entry in group_list(reg)
        time.sleep(0.25)
    assert hb.replies and all(r == {"response": "SUCCESS"} for r in hb.replies)
    hb.stop()
    wait_listed(reg, entry, present=False)


def test_unregister_removes_at_once(cluster):
    reg = cluster.registry()
    hb = Heartbeater(reg.address, "leaving", f"127.0.0.1:{free_port()}").start()
    entry = f"leaving - {hb.ip_port}"
    wait_listed(reg, entry)
    hb.stop()
    assert hb.call("unregister") == {"response": "SUCCESS"}
    assert entry not in group_list(reg)


def test_two_groups_cannot_hold_one_address(cluster):
    reg = cluster.registry(extra=["--expiry-ms", "1500", "--heartbeat-ms", "500"])
    addr = f"127.0.0.1:{free_port()}"
    first = Heartbeater(reg.address, "first", addr)
    first.register()
    # A live entry keeps its name: a second name at its address is refused.
    reply = request_json(reg.address, {"action": "register", "group_name": "second", "ip_port": addr,
                                       "heartbeat": True})
    assert reply["response"] == "FAILED"
    assert f"address {addr} is already registered by live group 'first'" in reply["error"]
    assert group_list(reg) == [f"first - {addr}"]
    assert first.call("heartbeat") == {"response": "SUCCESS"}
    # Once the first is gone (no heartbeats), the address is free for another name.
    wait_listed(reg, f"first - {addr}", present=False)
    second = Heartbeater(reg.address, "second", addr)
    second.register()
    assert group_list(reg) == [f"second - {addr}"]
    # The old holder learns it is no longer registered.
    assert first.call("heartbeat")["reregister"] is True


def test_name_held_live_at_another_address_is_refused(cluster):
    reg = cluster.registry(extra=["--expiry-ms", "1500", "--heartbeat-ms", "500"])
    a, b = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    holder = Heartbeater(reg.address, "unique", a)
    holder.register()
    reply = request_json(reg.address, {"action": "register", "group_name": "unique", "ip_port": b,
                                       "heartbeat": True})
    assert reply["response"] == "FAILED"
    assert f"group name 'unique' is already served at {a}" in reply["error"]
    assert group_list(reg) == [f"unique - {a}"]
    # Once the holder is gone (no heartbeats), the name is free again.
    wait_listed(reg, f"unique - {a}", present=False)
    taker = Heartbeater(reg.address, "unique", b)
    taker.register()
    assert group_list(reg) == [f"unique - {b}"]


def test_heartbeat_after_registry_restart_asks_to_reregister_and_group_returns(cluster):
    reg = cluster.registry()
    hb = Heartbeater(reg.address, "phoenix", f"127.0.0.1:{free_port()}").start()
    entry = f"phoenix - {hb.ip_port}"
    wait_listed(reg, entry)
    reg.stop()
    assert reg.wait(timeout=5) == 0
    reg2 = cluster.registry(port=reg.port)
    # The restarted registry knows nothing; the heartbeater is told to register again and does.
    wait_listed(reg2, entry, timeout=VANISH_S)
    reg2.wait_for(rf"^JOIN REQUEST FROM {hb.ip_port}$")
    assert any(r.get("reregister") is True for r in hb.replies)
    hb.stop()


# The real group_server, end to end.

def test_killed_group_server_vanishes_within_5s(cluster):
    reg = cluster.registry()
    g = cluster.group("doomed", reg.address)
    entry = f"doomed - {g.address}"
    wait_listed(reg, entry, present=True)
    g.kill()  # SIGKILL: no chance to unregister
    wait_listed(reg, entry, present=False)


def test_group_server_stopped_cleanly_is_gone_at_once(cluster):
    reg = cluster.registry()
    g = cluster.group("polite", reg.address)
    entry = f"polite - {g.address}"
    wait_listed(reg, entry, present=True)
    g.signal(signal.SIGTERM)
    assert g.wait() == 0
    # Unregistered before exiting: the very first list after the exit omits it.
    assert entry not in group_list(reg)


def test_running_group_servers_reappear_after_a_registry_restart(cluster):
    reg = cluster.registry()
    port = reg.port
    a = cluster.group("alpha", reg.address)
    b = cluster.group("beta", reg.address)
    entries = [f"alpha - {a.address}", f"beta - {b.address}"]
    for e in entries:
        wait_listed(reg, e, present=True)
    reg.kill()
    reg2 = cluster.registry(port=port)
    for e in entries:
        wait_listed(reg2, e, present=True)

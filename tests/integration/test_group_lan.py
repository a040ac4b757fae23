"""group_server on a LAN: slow links to the registry, starting before it, the
address it binds and the one it lists, data kept by group name, and the lines
it prints. The real binaries on loopback; round trips made long by DelayProxy.
"""
import os
import re
import signal
import subprocess
import sys
import time

from conftest import Proc, binary, free_port, join, request_json, send, start_on_every_address
from delay_proxy import DelayProxy

PEERS = os.path.join(os.path.dirname(__file__), "..", "peers")


def listing(registry_address):
    return request_json(registry_address, {"action": "get_group_list", "user_uuid": "lister"})


def start_group(cluster, name, bind, registry, data_dir, extra=()):
    return cluster.start("group_server",
                         [name, bind, "--server", registry, "--data-dir", str(data_dir), *extra])


def messages(address, user):
    r = request_json(address, {"action": "getMessage", "user_uuid": user, "timestamp": None})
    assert r["response"] == "SUCCESS", r
    return [m["message"] for m in r["messages"]]


class At:
    """Something join/send can talk to: an address."""

    def __init__(self, address):
        self.address = address


def ref_registry(cluster, port):
    p = Proc([sys.executable, os.path.join(PEERS, "ref_message_server.py"), f"127.0.0.1:{port}"])
    cluster.procs.append(p)
    p.wait_for(r"serving on", stream="stderr")
    return p


def test_registers_over_a_slow_link_with_default_settings_and_stays_listed(cluster, tmp_path):
    """300 ms each way between group and registry: a fresh connection costs ~1.8 s of
    handshake before the register's 0.6 s round trip; the group is listed and its
    heartbeats keep it listed past the registry's expiry."""
    reg = cluster.registry()
    with DelayProxy(reg.address, 0.3) as proxy:
        port = free_port()
        g = start_group(cluster, "slow", f"127.0.0.1:{port}", proxy.address, tmp_path / "d")
        g.wait_for(r"^SUCCESS$", timeout=20)
        g.wait_for(r"serving on tcp://127\.0\.0\.1:\d+, listed", stream="stderr", timeout=5)
        entry = f"slow - 127.0.0.1:{port}"
        assert entry in listing(reg.address)
        # Heartbeats through the slow link: still listed well past the 3500 ms expiry.
        until = time.monotonic() + 5.0
        while time.monotonic() < until:
            assert entry in listing(reg.address)
            time.sleep(0.5)
        assert g.find(r"no reply from the registry", stream="stderr") is None, g.out("stderr")
        assert g.count(r"^SUCCESS$") == 1


def test_a_partition_from_the_registry_heals_into_a_listing_again(cluster, tmp_path):
    """Cut the slow link long enough for the registry to drop the group; once it heals the
    group's heartbeat is answered 'reregister' and it registers again."""
    reg = cluster.registry(extra=["--heartbeat-ms", "500", "--expiry-ms", "2500"])
    with DelayProxy(reg.address, 0.3) as proxy:
        port = free_port()
        g = start_group(cluster, "cut", f"127.0.0.1:{port}", proxy.address, tmp_path / "d")
        g.wait_for(r"^SUCCESS$", timeout=20)
        entry = f"cut - 127.0.0.1:{port}"
        assert entry in listing(reg.address)
        proxy.cut()
        deadline = time.monotonic() + 10
        while entry in listing(reg.address):
            assert time.monotonic() < deadline, "never dropped while cut off"
            time.sleep(0.2)
        joins = len(reg.out())
        proxy.heal()
        reg.wait_for(rf"^JOIN REQUEST FROM 127\.0\.0\.1:{port}$", start=joins, timeout=20)
        assert entry in listing(reg.address)
        g.wait_for(r"^SUCCESS$", start=g.out().index("SUCCESS") + 1)


def test_a_group_started_before_its_registry_serves_at_once_and_is_listed_later(cluster, tmp_path):
    reg_port = free_port()
    port = free_port()
    g = start_group(cluster, "early", f"127.0.0.1:{port}", f"127.0.0.1:{reg_port}", tmp_path / "d")
    g.wait_for(rf"accepting users on tcp://127\.0\.0\.1:{port}", stream="stderr")
    warning = g.wait_for(r"not registered yet", stream="stderr")
    assert f"127.0.0.1:{reg_port}" in warning and "message_server" in warning
    here = At(f"127.0.0.1:{port}")
    join(here, "alice")
    send(here, "alice", "before the registry")
    assert g.find(r"^SUCCESS$") is None
    reg = cluster.registry(port=reg_port)
    g.wait_for(r"^SUCCESS$", timeout=10)
    reg.wait_for(rf"^JOIN REQUEST FROM 127\.0\.0\.1:{port}$")
    assert f"early - 127.0.0.1:{port}" in listing(reg.address)
    assert messages(here.address, "alice") == ["before the registry"]


def start_wildcard_group(cluster, registry, data_dir, advertise_host):
    """A group bound to 0.0.0.0 on a free port, advertising advertise_host:port."""
    return start_on_every_address(
        lambda port: start_group(cluster, "wide", f"0.0.0.0:{port}", registry, data_dir,
                                 ["--advertise", f"{advertise_host}:{port}"]),
        r"^SUCCESS$", ready_stream="stdout")


def test_advertise_binds_one_address_and_lists_another(cluster, tmp_path):
    reg = cluster.registry()
    g, port = start_wildcard_group(cluster, reg.address, tmp_path / "d", "127.0.0.3")
    assert listing(reg.address) == [f"wide - 127.0.0.3:{port}"]
    # Bound to every address: reached at the advertised one, and at another.
    join(At(f"127.0.0.3:{port}"), "alice")
    send(At(f"127.0.0.2:{port}"), "alice", "via another address")
    assert messages(f"127.0.0.3:{port}", "alice") == ["via another address"]


def test_a_wildcard_is_never_advertised(cluster, tmp_path):
    port = free_port()
    cases = [
        ([f"0.0.0.0:{port}"], r"0\.0\.0\.0:\d+ binds every address .*--advertise HOST:PORT"),
        ([f"*:{port}"], r"\*:\d+ binds every address .*--advertise HOST:PORT"),
        ([f"127.0.0.1:{port}", "--advertise", f"0.0.0.0:{port}"],
         r"--advertise 0\.0\.0\.0:\d+: other hosts cannot connect to a wildcard address"),
    ]
    for args, pattern in cases:
        r = subprocess.run([binary("group_server"), "g", *args, "--server", "127.0.0.1:1",
                            "--data-dir", str(tmp_path / "d")],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 2, (args, r.stderr)
        assert any(re.search(pattern, line) for line in r.stderr.splitlines()), r.stderr
        assert r.stdout == ""


def test_a_host_name_is_resolved_before_binding(cluster, tmp_path):
    reg = cluster.registry()
    port = free_port()
    g = start_group(cluster, "named", f"localhost:{port}", reg.address, tmp_path / "d")
    g.wait_for(r"^SUCCESS$")
    assert listing(reg.address) == [f"named - 127.0.0.1:{port}"]
    join(At(f"127.0.0.1:{port}"), "alice")


def test_loopback_advertised_to_a_registry_elsewhere_warns_and_the_group_serves(cluster, tmp_path):
    """192.0.2.1 (TEST-NET-1) is never routed: the registry there never answers."""
    port = free_port()
    g = start_group(cluster, "lonely", f"127.0.0.1:{port}", "192.0.2.1:5555", tmp_path / "d")
    line = g.wait_for(r"advertising the loopback address", stream="stderr")
    assert f"127.0.0.1:{port}" in line and "192.0.2.1:5555" in line and "--advertise" in line
    join(At(f"127.0.0.1:{port}"), "alice")
    # Not to a registry on loopback.
    reg = cluster.registry()
    other = start_group(cluster, "near", f"127.0.0.1:{free_port()}", reg.address, tmp_path / "e")
    other.wait_for(r"^SUCCESS$")
    assert other.find(r"advertising the loopback address", stream="stderr") is None


def test_history_is_found_again_after_the_address_changes(cluster, tmp_path):
    reg = cluster.registry()
    data = tmp_path / "d"
    first = f"127.0.0.1:{free_port()}"
    g = start_group(cluster, "room", first, reg.address, data)
    g.wait_for(r"^SUCCESS$")
    join(At(first), "alice")
    send(At(first), "alice", "kept by name")
    g.signal(signal.SIGINT)
    assert g.wait(timeout=5) == 0
    second = f"127.0.0.1:{free_port()}"
    g2 = start_group(cluster, "room", second, reg.address, data)
    g2.wait_for(r"^SUCCESS$")
    assert messages(second, "alice") == ["kept by name"]
    assert (data / "group-room" / "group.db").exists()


def test_a_second_process_of_one_name_on_one_data_dir_is_refused(cluster, tmp_path):
    reg = cluster.registry()
    data = tmp_path / "d"
    g = start_group(cluster, "room", f"127.0.0.1:{free_port()}", reg.address, data)
    g.wait_for(r"^SUCCESS$")
    twin = start_group(cluster, "room", f"127.0.0.1:{free_port()}", reg.address, data)
    assert twin.wait(timeout=10) == 1
    twin.wait_for(r"another process holds the database", stream="stderr")
    # With its own data, the registry refuses the name: a clear error, exit 1.
    other = start_group(cluster, "room", f"127.0.0.1:{free_port()}", reg.address, tmp_path / "e")
    assert other.wait(timeout=10) == 1
    other.wait_for(r"refused to register group 'room'.*already served", stream="stderr")


def test_an_address_directory_of_earlier_versions_is_moved_with_its_key(cluster, tmp_path):
    reg = cluster.registry()
    data = tmp_path / "d"
    port = free_port()
    key = subprocess.run([binary("group_server"), "room", f"127.0.0.1:{port}", "--data-dir",
                          str(data), "--public-key"], capture_output=True, text=True, timeout=10)
    assert key.returncode == 0, key.stderr
    g = start_group(cluster, "room", f"127.0.0.1:{port}", reg.address, data)
    g.wait_for(r"^SUCCESS$")
    join(At(f"127.0.0.1:{port}"), "alice")
    send(At(f"127.0.0.1:{port}"), "alice", "from the old layout")
    g.signal(signal.SIGTERM)
    assert g.wait(timeout=5) == 0
    # As an earlier version left it: the data under IP_PORT.
    os.rename(data / "group-room", data / f"127.0.0.1_{port}")
    g2 = start_group(cluster, "room", f"127.0.0.1:{port}", reg.address, data)
    moved = g2.wait_for(r"moved the group's data from", stream="stderr")
    assert f"127.0.0.1_{port}" in moved and "group-room" in moved
    g2.wait_for(r"^SUCCESS$")
    assert messages(f"127.0.0.1:{port}", "alice") == ["from the old layout"]
    assert not (data / f"127.0.0.1_{port}").exists()
    again = subprocess.run([binary("group_server"), "room", f"127.0.0.1:{port}", "--data-dir",
                            str(data), "--public-key"], capture_output=True, text=True, timeout=10)
    assert again.returncode == 0 and again.stdout == key.stdout


def test_registers_again_after_a_reference_registry_restarts(cluster, tmp_path):
    port = free_port()
    ref = ref_registry(cluster, port)
    g = start_group(cluster, "room", f"127.0.0.1:{free_port()}", f"127.0.0.1:{port}",
                    tmp_path / "d")
    address = g.args[2]
    ref.wait_for(rf"^JOIN REQUEST FROM {address}$")
    g.wait_for(r"^SUCCESS$")
    ref.signal(signal.SIGTERM)
    assert ref.wait(timeout=5) == 0
    ref2 = ref_registry(cluster, port)
    ref2.wait_for(rf"^JOIN REQUEST FROM {address}$", timeout=10)
    assert request_json(f"127.0.0.1:{port}", {"action": "get_group_list", "user_uuid": "u"}) == [
        f"room - {address}"]
    g.wait_for(r"^SUCCESS$", start=g.out().index("SUCCESS") + 1)
    assert g.count(r"^SUCCESS$") == 2
    # Nothing but registers reached either registry.
    assert not any("no reply to" in line for line in ref.out("stderr") + ref2.out("stderr"))


def test_prints_the_reference_lines_success_and_shutting_down(cluster, tmp_path):
    reg = cluster.registry()
    port = free_port()
    g = start_group(cluster, "room", f"127.0.0.1:{port}", reg.address, tmp_path / "d")
    g.wait_for(r"^SUCCESS$")
    join(At(f"127.0.0.1:{port}"), "alice")
    g.wait_for(r"^JOIN REQUEST FROM alice$")
    g.signal(signal.SIGINT)
    assert g.wait(timeout=5) == 0
    assert g.out() == ["SUCCESS", "JOIN REQUEST FROM alice", "Shutting down group..."]
    reg.wait_for(rf"^LEAVE REQUEST FROM 127\.0\.0\.1:{port}$")

"""message_server --security curve on the wire: CURVE only, each request acting
as the key its connection was authenticated with, group names bound to keys
(on disk, across restarts, --groups-file, SIGHUP, --release), curve groups
listed only once a CURVE handshake proves their key, and group_server
registering over CURVE with --server-key."""
import json
import os
import re
import signal
import stat
import subprocess

import pytest
import zmq

from conftest import Keys, binary, free_port, request, request_json
from conftest import curve_request as request_over_curve


def public_key(data_dir, port):
    out = subprocess.run([binary("message_server"), "--data-dir", str(data_dir), "--bind",
                          f"127.0.0.1:{port}", "--public-key"],
                         capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def curve_registry(cluster, port=None, extra=(), data_dir=None):
    data_dir = data_dir or cluster.tmp_path / "registry-data"
    port = port or free_port()
    reg = cluster.registry(port=port, extra=["--security", "curve", "--data-dir", str(data_dir),
                                             *extra])
    reg.data_dir = data_dir
    reg.key = public_key(data_dir, port)
    return reg


def curve_request(reg, body, keys=None, timeout=3.0, server_key=None):
    """One REQ round trip over CURVE as `keys` (a fresh pair by default)."""
    reply = request_over_curve(reg.address, server_key or reg.key, body, keys, timeout)
    return reply if reply == b"SUCCESS" else json.loads(reply)


def register(reg, keys, name, address, curve=False, heartbeat=True, **extra):
    body = {"action": "register", "group_name": name, "ip_port": address, **extra}
    if heartbeat:
        body["heartbeat"] = True
    if curve:
        body["security"] = "curve"
    return curve_request(reg, body, keys)


def failed_with(reply, part):
    assert isinstance(reply, dict) and reply["response"] == "FAILED", reply
    assert part in reply["error"], reply


def listed(reg):
    return curve_request(reg, {"action": "list_groups"})["groups"]


def curve_peer(keys, port):
    """A CURVE server proving `keys` at 127.0.0.1:port, as a curve group's ROUTER is."""
    s = zmq.Context.instance().socket(zmq.ROUTER)
    s.linger = 0
    s.curve_server = True
    s.curve_secretkey = keys.secret.encode()
    s.bind(f"tcp://127.0.0.1:{port}")
    return s


def test_public_key_is_the_same_each_time_and_the_key_file_is_owner_only(tmp_path):
    port = free_port()
    first, second = public_key(tmp_path, port), public_key(tmp_path, port)
    assert len(first) == 40 and first == second
    key_file = tmp_path / f"registry_{port}" / "key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert first in key_file.read_text()


def test_a_null_mechanism_client_gets_no_reply_and_a_curve_one_does(cluster):
    reg = curve_registry(cluster)
    with pytest.raises(TimeoutError):
        request(reg.address, {"action": "list_groups"}, timeout=1.5)
    # A client expecting another server key completes no handshake either.
    with pytest.raises(TimeoutError):
        curve_request(reg, {"action": "list_groups"}, timeout=1.5, server_key=Keys().public)
    assert curve_request(reg, {"action": "list_groups"}) == {"response": "SUCCESS", "groups": []}
    assert curve_request(reg, {"action": "get_group_list", "user_uuid": "u"}) == []


def test_list_groups_gives_a_proven_curve_group_its_key_and_an_open_group_none(cluster):
    reg = curve_registry(cluster)
    g, o = Keys(), Keys()
    port = free_port()
    peer = curve_peer(g, port)
    try:
        assert register(reg, g, "secure", f"127.0.0.1:{port}", curve=True)["response"] == "SUCCESS"
        open_addr = f"127.0.0.1:{free_port()}"
        assert register(reg, o, "plain", open_addr)["response"] == "SUCCESS"
        reg.wait_for(r"'secure' at .* proved its key", stream="stderr")
        assert listed(reg) == [
            {"name": "secure", "address": f"127.0.0.1:{port}", "security": "curve",
             "public_key": g.public},
            {"name": "plain", "address": open_addr, "security": "open", "public_key": None},
        ]
        assert curve_request(reg, {"action": "get_group_list", "user_uuid": "u"}) == [
            f"secure - 127.0.0.1:{port}", f"plain - {open_addr}"]
    finally:
        peer.close()


@pytest.mark.parametrize("listener", ["nothing", "another key"])
def test_a_curve_group_whose_address_does_not_prove_its_key_is_never_listed(cluster, listener):
    # Heartbeat expiry far away: only the failed proof can drop the group.
    reg = curve_registry(cluster, extra=["--expiry-ms", "30000"])
    g = Keys()
    port = free_port()
    peer = curve_peer(Keys(), port) if listener == "another key" else None
    try:
        assert register(reg, g, "fake", f"127.0.0.1:{port}", curve=True)["response"] == "SUCCESS"
        assert listed(reg) == []
        assert curve_request(reg, {"action": "get_group_list", "user_uuid": "u"}) == []
        reg.wait_for(rf"dropped 'fake' at 127.0.0.1:{port}: no CURVE handshake", stream="stderr",
                     timeout=10)
        assert listed(reg) == []
        assert reg.find(r"proved its key", stream="stderr") is None
    finally:
        if peer:
            peer.close()


def test_a_bound_name_cannot_be_taken_by_another_key_also_after_a_restart(cluster):
    port = free_port()
    reg = curve_registry(cluster, port=port)
    a, b = Keys(), Keys()
    addr = f"127.0.0.1:{free_port()}"
    ident = {"group_name": "mine", "ip_port": addr}
    assert register(reg, a, "mine", addr)["response"] == "SUCCESS"
    failed_with(register(reg, b, "mine", addr), "bound to another key")
    failed_with(register(reg, b, "mine", f"127.0.0.1:{free_port()}"), "bound to another key")
    failed_with(curve_request(reg, {"action": "heartbeat", **ident}, b),
                "not sent with the key that registered the group")
    failed_with(curve_request(reg, {"action": "unregister", **ident}, b),
                "not sent with the key that registered the group")
    assert [g["name"] for g in listed(reg)] == ["mine"]
    assert curve_request(reg, {"action": "heartbeat", **ident}, a) == {"response": "SUCCESS"}
    assert curve_request(reg, {"action": "unregister", **ident}, a) == {"response": "SUCCESS"}
    bindings = (reg.data_dir / f"registry_{port}" / "group-keys").read_text()
    assert f"{a.public} mine" in bindings.splitlines()

    reg.stop()
    assert reg.wait() == 0
    reg = curve_registry(cluster, port=port, data_dir=reg.data_dir)
    failed_with(register(reg, b, "mine", addr), "bound to another key")
    assert register(reg, a, "mine", addr)["response"] == "SUCCESS"


def test_the_authenticated_key_counts_not_a_key_written_in_the_request(cluster):
    reg = curve_registry(cluster)
    a, b = Keys(), Keys()
    addr = f"127.0.0.1:{free_port()}"
    assert register(reg, a, "mine", addr)["response"] == "SUCCESS"
    forged = {"public_key": a.public, "key": a.public, "user_id": a.public, "User-Id": a.public}
    failed_with(register(reg, b, "mine", addr, **forged), "bound to another key")
    failed_with(curve_request(reg, {"action": "unregister", "group_name": "mine", "ip_port": addr,
                                    **forged}, b), "not sent with the key")
    assert [g["name"] for g in listed(reg)] == ["mine"]


def test_groups_file_admits_only_its_keys_and_names_and_is_re_read_on_sighup(cluster, tmp_path):
    a, b = Keys(), Keys()
    groups = tmp_path / "groups"
    groups.write_text(f"# who may register\n{a.public} alpha\n\n{a.public}   two words \n")
    reg = curve_registry(cluster, extra=["--groups-file", str(groups)])
    alpha = f"127.0.0.1:{free_port()}"
    assert register(reg, a, "alpha", alpha)["response"] == "SUCCESS"
    assert register(reg, a, "two words", f"127.0.0.1:{free_port()}")["response"] == "SUCCESS"
    failed_with(register(reg, a, "other", f"127.0.0.1:{free_port()}"),
                "groups file does not list that key with that name")
    failed_with(register(reg, b, "beta", f"127.0.0.1:{free_port()}"),
                "groups file does not list that key with that name")

    # b gets beta; a loses alpha, whose live entry goes.
    groups.write_text(f"{b.public} beta\n{a.public} two words\n")
    mark = len(reg.out("stderr"))
    reg.signal(signal.SIGHUP)
    reg.wait_for(r"dropped 'alpha' at .*: the groups file no longer lists", stream="stderr",
                 start=mark)
    reg.wait_for(r"group names bound to keys", stream="stderr", start=mark)
    assert register(reg, b, "beta", f"127.0.0.1:{free_port()}")["response"] == "SUCCESS"
    assert sorted(g["name"] for g in listed(reg)) == ["beta", "two words"]

    # A file that no longer parses keeps the state as it was.
    groups.write_text("not a key line\n")
    mark = len(reg.out("stderr"))
    reg.signal(signal.SIGHUP)
    reg.wait_for(r"SIGHUP: .*line 1: expected 'KEY NAME'.*keeping", stream="stderr", start=mark)
    assert sorted(g["name"] for g in listed(reg)) == ["beta", "two words"]


def test_a_bad_groups_file_stops_the_start(cluster, tmp_path):
    groups = tmp_path / "groups"
    groups.write_text("short-key alpha\n")
    p = cluster.start("message_server", ["--bind", f"127.0.0.1:{free_port()}", "--security",
                                         "curve", "--data-dir", str(tmp_path / "d"),
                                         "--groups-file", str(groups)])
    assert p.wait() == 1
    p.wait_for(r"groups, line 1: expected 'KEY NAME'", stream="stderr")
    p = cluster.start("message_server", ["--bind", f"127.0.0.1:{free_port()}", "--groups-file",
                                         str(groups)])
    assert p.wait() == 2
    p.wait_for(r"--groups-file lists keys: it needs --security curve", stream="stderr")


def release(data_dir, port, name):
    return subprocess.run([binary("message_server"), "--data-dir", str(data_dir), "--bind",
                           f"127.0.0.1:{port}", "--release", name],
                          capture_output=True, text=True, timeout=10)


def test_release_frees_a_name_on_disk_and_a_running_registry_sees_it_on_sighup(cluster):
    port = free_port()
    reg = curve_registry(cluster, port=port)
    a, b = Keys(), Keys()
    addr = f"127.0.0.1:{free_port()}"
    assert register(reg, a, "name", addr)["response"] == "SUCCESS"
    assert curve_request(reg, {"action": "unregister", "group_name": "name", "ip_port": addr},
                         a) == {"response": "SUCCESS"}
    out = release(reg.data_dir, port, "name")
    assert out.returncode == 0, out.stderr
    assert "released the name 'name'" in out.stdout and "SIGHUP" in out.stdout
    # Not yet read by the running registry.
    failed_with(register(reg, b, "name", addr), "bound to another key")
    mark = len(reg.out("stderr"))
    reg.signal(signal.SIGHUP)
    reg.wait_for(r"group names bound to keys", stream="stderr", start=mark)
    assert register(reg, b, "name", addr)["response"] == "SUCCESS"
    keys_file = (reg.data_dir / f"registry_{port}" / "group-keys").read_text().splitlines()
    assert f"{b.public} name" in keys_file and f"{a.public} name" not in keys_file

    out = release(reg.data_dir, port, "never bound")
    assert out.returncode == 0 and "nothing to release" in out.stdout


def test_an_open_registry_refuses_a_curve_group(cluster):
    reg = cluster.registry()
    reply = request_json(reg.address, {"action": "register", "group_name": "g", "ip_port":
                                       f"127.0.0.1:{free_port()}", "heartbeat": True,
                                       "security": "curve"})
    failed_with(reply, "a curve group must register with a registry in curve mode")
    assert request_json(reg.address, {"action": "list_groups"})["groups"] == []


def group_args(name, port, registry, data_dir, *extra):
    return [name, f"127.0.0.1:{port}", "--server", registry, "--data-dir", str(data_dir),
            "--store", "memory", *extra]


def test_an_open_group_with_server_key_registers_over_curve_and_is_listed_open(cluster, tmp_path):
    reg = curve_registry(cluster)
    grp = cluster.group("opengroup", reg.address, extra=["--store", "memory", "--server-key",
                                                          reg.key])
    reg.wait_for(rf"registered 'opengroup' at {grp.address} from 127.0.0.1 \(heartbeat, key ",
                 stream="stderr")
    assert listed(reg) == [{"name": "opengroup", "address": grp.address, "security": "open",
                            "public_key": None}]
    assert request_json(grp.address, {"action": "joinGroup", "user_uuid": "u"})["response"] \
        == "SUCCESS"
    grp.stop()
    assert grp.wait() == 0
    reg.wait_for(rf"unregistered 'opengroup' at {grp.address}", stream="stderr")
    assert listed(reg) == []
    # The same group from the environment variable.
    grp = cluster.start("group_server", group_args("opengroup", grp.port, reg.address,
                                                   tmp_path / "data"),
                        env={"GROUPCHAT_SERVER_KEY": reg.key})
    grp.wait_for(r"serving on", stream="stderr")


# A CURVE client at an open registry: which side sees the mismatch first varies.
OPEN_REGISTRY = (r"(CURVE handshake with the registry at .* failed: .* or it is in open mode|"
                 r"does not speak CURVE: it is in open mode)")


def test_group_start_up_says_why_the_registry_handshake_failed(cluster, tmp_path):
    reg = curve_registry(cluster)
    open_reg = cluster.registry()
    data = tmp_path / "data"
    cases = [
        # Which side sees the wrong key first varies: either text names the key as a cause.
        (reg.address, ["--server-key", Keys().public],
         r"CURVE handshake with the registry at .* failed: it does not hold the key given as its "
         r"public key"),
        (reg.address, [], r"(the handshake with the registry at .* failed: it is probably in "
                          r"curve mode|is in curve mode and refused our unencrypted connection)"
                          r"[:;] give the group (its|the registry.s) public key with --server-key"),
        (open_reg.address, ["--server-key", reg.key], OPEN_REGISTRY),
    ]
    for registry, extra, pattern in cases:
        p = cluster.start("group_server", group_args("g", free_port(), registry, data, *extra))
        assert p.wait(timeout=10) == 1, p.out("stderr")
        p.wait_for(pattern, stream="stderr")
        assert p.find(r"no reply from the registry", stream="stderr") is None
    assert listed(reg) == []


def test_group_server_key_flags_are_checked(cluster, tmp_path):
    data = tmp_path / "data"
    p = cluster.start("group_server", group_args("g", free_port(), "127.0.0.1:1", data,
                                                 "--security", "curve"))
    assert p.wait() == 2
    p.wait_for(r"--security curve needs the registry's public key: --server-key KEY or "
               r"GROUPCHAT_SERVER_KEY \(message_server --public-key prints it\)", stream="stderr")
    p = cluster.start("group_server", group_args("g", free_port(), "127.0.0.1:1", data,
                                                 "--server-key", "not-a-key"))
    assert p.wait() == 2
    p.wait_for(r"--server-key: .*is not a public key", stream="stderr")


def group_public_key(port, data_dir, name="secure"):
    out = subprocess.run([binary("group_server"), name, f"127.0.0.1:{port}", "--data-dir",
                          str(data_dir), "--public-key"], capture_output=True, text=True,
                         timeout=10)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_a_curve_group_server_is_proven_and_listed_with_its_key(cluster, tmp_path):
    reg = curve_registry(cluster)
    data = tmp_path / "data"
    port = free_port()
    key = group_public_key(port, data)
    # A members file that lists nobody: the registry's key still completes the proof.
    members = tmp_path / "members"
    members.write_text("# nobody yet\n")
    grp = cluster.group("secure", reg.address, port=port, data_dir=str(data),
                        extra=["--store", "memory", "--security", "curve", "--server-key", reg.key,
                               "--members-file", str(members)])
    reg.wait_for(rf"'secure' at {grp.address} proved its key {re.escape(key)}", stream="stderr")
    assert listed(reg) == [{"name": "secure", "address": grp.address, "security": "curve",
                            "public_key": key}]
    # Restarted, it registers again under its key and is proven again.
    grp.stop()
    assert grp.wait() == 0
    mark = len(reg.out("stderr"))
    grp = cluster.group("secure", reg.address, port=port, data_dir=str(data),
                        extra=["--store", "memory", "--security", "curve", "--server-key",
                               reg.key])
    reg.wait_for(rf"'secure' at {grp.address} proved its key {re.escape(key)}", stream="stderr", start=mark)
    # Another group's key cannot take the name, even at the same address once it is free.
    grp.stop()
    assert grp.wait() == 0
    other = cluster.group("secure", reg.address, port=port, data_dir=str(tmp_path / "other"),
                          extra=["--store", "memory", "--security", "curve", "--server-key",
                                 reg.key], wait=False)
    assert other.wait() == 1
    other.wait_for(r"refused to register group 'secure'.*bound to another key", stream="stderr")


def test_a_curve_group_cannot_register_with_an_open_registry(cluster, tmp_path):
    reg = cluster.registry()
    grp = cluster.group("secure", reg.address, data_dir=str(tmp_path / "data"),
                        extra=["--store", "memory", "--security", "curve", "--server-key",
                               Keys().public], wait=False)
    assert grp.wait() == 1
    grp.wait_for(OPEN_REGISTRY, stream="stderr")

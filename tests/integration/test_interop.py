"""Interoperation with the reference, both ways:
(a) a reference-like user (tests/peers/ref_user.py) drives our message_server and
    group_server and sees exactly what the reference user would print;
(b) our user_client talks to reference-like servers (tests/peers/ref_message_server.py,
    tests/peers/ref_group.py): bare SUCCESS registry, replies without error or seq."""
import os
import re
import subprocess

import pytest

from conftest import Proc, free_port

PEERS = os.path.join(os.path.dirname(__file__), "..", "peers")
PY = "/usr/bin/python3"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# What our group shows of a sender in place of its uuid (docs/PROTOCOL.md, "Public ids").
PUBLIC_ID = r"[0-9a-f]{32}"
TS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?"
NOT_MEMBER = "User is not a member of this group. Please join the group first."


def start_peer(cluster, script, args):
    p = Proc([PY, os.path.join(PEERS, script), *args])
    cluster.procs.append(p)
    p.wait_for(r"serving on", stream="stderr")
    return p


def ref_user(registry, script, timeout=30):
    return subprocess.run(
        [PY, os.path.join(PEERS, "ref_user.py"), "--server", registry, "--timeout", "5"],
        input=script, capture_output=True, text=True, timeout=timeout)


# (a) the reference user against our servers

def test_reference_user_against_our_servers(cluster):
    reg = cluster.registry()
    grp = cluster.group("alpha", reg.address)
    g = grp.address
    script = "\n".join([
        "get_group_list",
        f"join_group {g}",
        f"send_message {g}", "hello from the reference", "END",
        f"get_messages {g}",
        f"get_messages {g} 2000-01-01T00:00:00",
        f"get_messages {g} 2999-01-01T00:00:00",
        f"leave_group {g}",
        f"get_messages {g}",
        f"send_message {g}", "not a member now", "END",
        "what",
        "exit",
    ]) + "\n"
    r = ref_user(reg.address, script)
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert out[0] == f"alpha - {g}"
    assert out[1:3] == ["SUCCESS", "SUCCESS"]
    # The reference prints what the user_uuid field holds: from our group, a public id.
    assert re.fullmatch(rf"{PUBLIC_ID} : hello from the reference \({TS}\)", out[3]), out
    assert out[4] == out[3]  # at or after 2000-01-01
    assert out[5:] == ["SUCCESS", NOT_MEMBER, "FAILED", "Invalid command"]
    # the servers print the reference's lines, with the real uuid (the operator's)
    joined = grp.wait_for(r"^JOIN REQUEST FROM " + UUID + "$")
    user_uuid = joined.split()[-1]
    assert user_uuid not in r.stdout
    grp.wait_for(r"^MESSAGE SEND FROM " + UUID + "$")
    grp.wait_for(r"^MESSAGE REQUEST FROM " + UUID + "$")
    grp.wait_for(r"^LEAVE REQUEST FROM " + UUID + "$")
    reg.wait_for(r"^GROUP LIST REQUEST FROM " + UUID + "$")


def test_reference_user_and_our_client_share_a_group(cluster):
    reg = cluster.registry()
    grp = cluster.group("mixed", reg.address)
    g = grp.address
    assert cluster.client(["--name", "ours", "join", g]).returncode == 0
    assert cluster.client(["send", g, "from our client"]).returncode == 0
    r = ref_user(reg.address, f"join_group {g}\nget_messages {g}\n")
    out = r.stdout.splitlines()
    assert out[0] == "SUCCESS"
    # The reference prints the user_uuid field, a public id from our group; our extra
    # "name" field is ignored by it.
    assert re.fullmatch(rf"{PUBLIC_ID} : from our client \({TS}\)", out[1]), out


# (b) our client against the reference's servers

@pytest.fixture
def ref_cluster(cluster):
    reg_port = free_port()
    cluster.ref_reg = start_peer(cluster, "ref_message_server.py", [f"127.0.0.1:{reg_port}"])
    cluster.ref_reg.address = f"127.0.0.1:{reg_port}"
    port = free_port()
    cluster.ref_grp = start_peer(cluster, "ref_group.py",
                                 ["refgroup", f"127.0.0.1:{port}", "--server", cluster.ref_reg.address])
    cluster.ref_grp.address = f"127.0.0.1:{port}"
    return cluster


def test_our_client_against_reference_servers(ref_cluster):
    c = ref_cluster
    server = ["--server", c.ref_reg.address]
    g = c.ref_grp.address
    r = c.client([*server, "groups"])
    assert (r.returncode, r.stdout) == (0, f"refgroup - {g}\n"), r.stderr
    r = c.client([*server, "send", g, "too early"])
    assert r.returncode == 1 and g in r.stderr  # bare FAILED is still a refusal
    r = c.client([*server, "get", g])
    assert r.returncode == 1 and g in r.stderr
    assert c.client([*server, "join", g]).returncode == 0
    r = c.client([*server, "send", g, "hello reference"])
    assert (r.returncode, r.stdout) == (0, "SUCCESS\n"), r.stderr
    r = c.client([*server, "get", g])
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(rf"{UUID} : hello reference \({TS}\)\n", r.stdout), r.stdout
    # Every accepted time form is sent as %Y-%m-%dT%H:%M:%S, the one the reference parses.
    for since in ("2000-01-01 00:00:00", "2000-01-01T00:00:00"):
        r = c.client([*server, "get", g, "--since", since])
        assert r.returncode == 0 and "hello reference" in r.stdout, (since, r.stderr)
    r = c.client([*server, "get", g, "--since", "23:59:59", "--json"])
    assert r.returncode == 0, r.stderr
    assert c.client([*server, "leave", g]).returncode == 0


def test_our_shell_against_reference_servers(ref_cluster):
    c = ref_cluster
    g = c.ref_grp.address
    script = "\n".join([
        "get_group_list",
        f"join_group {g}",
        f"send_message {g}", "shell says hi", "END",
        f"get_messages {g}",
        f"get_messages {g} 2000-01-01 00:00:00",
        f"leave_group {g}",
        f"get_messages {g}",
    ]) + "\n"
    r = c.client(["--server", c.ref_reg.address], input=script)
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert out[0] == f"refgroup - {g}"
    assert out[1:3] == ["SUCCESS", "SUCCESS"]
    assert re.fullmatch(rf"{UUID} : shell says hi \({TS}\)", out[3]), out
    assert out[4] == out[3]
    assert out[5:] == ["SUCCESS", NOT_MEMBER]  # no error line: the reference gives none


def test_our_client_survives_the_reference_group_dying(ref_cluster):
    # leaveGroup from a non-member kills the reference's handler thread: that
    # request and every later one, from anyone, get no reply, though the process
    # lives on. Our client times out, says so and exits 3 each time; it never hangs.
    c = ref_cluster
    g = c.ref_grp.address
    r = c.client(["--timeout-ms", "300", "--tries", "2", "leave", g], timeout=15)
    assert r.returncode == 3 and g in r.stderr and "no reply" in r.stderr
    c.ref_grp.wait_for(r"handler thread died", stream="stderr")
    r = c.client(["--timeout-ms", "300", "--tries", "1", "join", g], timeout=15)
    assert r.returncode == 3 and "no reply" in r.stderr
    assert c.ref_grp.popen.poll() is None

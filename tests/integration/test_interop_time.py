"""Time zones and the reference's pages, against our servers and the faithful
reference peers (tests/peers/): the same instant selects the same messages
whatever zone the client and the server run in; a fraction of a second never
reaches a reference group; a reference user sees the newest messages; a
reference group's missing last/limit/since_seq are applied on the client."""
import json
import os
import re
import subprocess
import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import zmq

from conftest import Proc, binary, connect, free_port, join, request, request_json

PEERS = os.path.join(os.path.dirname(__file__), "..", "peers")
PY = "/usr/bin/python3"
ZONES = ("UTC", "Asia/Tokyo", "America/Los_Angeles")
NOT_MEMBER = "User is not a member of this group. Please join the group first."


def texts(stdout):
    """The TEXT of each `WHO : TEXT (TIMESTAMP)` line."""
    return [re.fullmatch(r".* : (.*) \(.*\)", line).group(1) for line in stdout.splitlines()]


def local_text(instant, zone):
    """The instant (epoch seconds) as a person in `zone` writes it, microseconds included."""
    return datetime.fromtimestamp(instant, ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S.%f")


def start_group(cluster, name, reg, zone):
    port = free_port()
    p = cluster.start("group_server",
                      [name, f"127.0.0.1:{port}", "--server", reg.address,
                       "--data-dir", str(cluster.tmp_path / "data")],
                      env={"TZ": zone})
    p.address = f"127.0.0.1:{port}"
    p.wait_for(r"serving on", stream="stderr")
    return p


def start_peer(cluster, script, args, zone=None):
    p = Proc([PY, os.path.join(PEERS, script), *args], env={"TZ": zone} if zone else None)
    cluster.procs.append(p)
    p.wait_for(r"serving on", stream="stderr")
    return p


def send_around_an_instant(cluster, g, server_args=()):
    """Sends "before", notes the instant, sends "after"; returns the instant.
    "before" was stored before send returned, "after" after the instant."""
    assert cluster.client([*server_args, "send", g, "before"]).returncode == 0
    instant = time.time()
    assert cluster.client([*server_args, "send", g, "after"]).returncode == 0
    return instant


def test_the_same_instant_selects_the_same_messages_in_every_zone(cluster):
    reg = cluster.registry()
    # The server in Los Angeles: its stored times are its local time.
    grp = start_group(cluster, "zones", reg, "America/Los_Angeles")
    g = grp.address
    assert cluster.client(["join", g]).returncode == 0
    instant = send_around_an_instant(cluster, g)
    for zone in ZONES:
        r = cluster.client(["get", g, "--since", local_text(instant, zone)], env={"TZ": zone})
        assert r.returncode == 0, (zone, r.stderr)
        assert texts(r.stdout) == ["after"], (zone, r.stdout)
    # An instant with Z or an offset means the same wherever it is typed.
    utc = datetime.fromtimestamp(instant, timezone.utc)
    tokyo = datetime.fromtimestamp(instant, ZoneInfo("Asia/Tokyo"))
    for text in (utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), tokyo.isoformat()):
        r = cluster.client(["get", g, "--since", text], env={"TZ": "America/New_York"})
        assert (r.returncode, texts(r.stdout)) == (0, ["after"]), (text, r.stderr)
    # A second before, both; a day later, none.
    for zone in ZONES:
        r = cluster.client(["get", g, "--since", local_text(instant - 60, zone)], env={"TZ": zone})
        assert texts(r.stdout) == ["before", "after"], (zone, r.stdout, r.stderr)
        r = cluster.client(["get", g, "--since", local_text(instant + 86400, zone)],
                           env={"TZ": zone})
        assert (r.returncode, r.stdout) == (0, ""), (zone, r.stderr)
        assert "(no messages)" in r.stderr
    # The wire: since_time carries the instant, timestamp the whole second.
    user = "tz-wire-user"
    join(g, user)
    since = utc.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    got = request_json(g, {"action": "getMessage", "user_uuid": user, "limit": 10,
                           "timestamp": "2999-01-01T00:00:00", "since_time": since})
    assert [m["message"] for m in got["messages"]] == ["after"], got
    bad = request_json(g, {"action": "getMessage", "user_uuid": user, "since_time": "12:00:00"})
    assert bad["response"] == "FAILED" and "since_time '12:00:00'" in bad["error"], bad


def test_our_client_and_a_reference_group_in_tokyo_agree_on_an_instant_with_a_fraction(cluster):
    reg = start_peer(cluster, "ref_message_server.py", [f"127.0.0.1:{free_port()}"])
    reg.address = reg.args[-1]
    port = free_port()
    grp = start_peer(cluster, "ref_group.py",
                     ["tokyo", f"127.0.0.1:{port}", "--server", reg.address], zone="Asia/Tokyo")
    g = f"127.0.0.1:{port}"
    server = ["--server", reg.address]
    tz = {"TZ": "Asia/Tokyo"}
    assert cluster.client([*server, "join", g], env=tz).returncode == 0
    instant = send_around_an_instant(cluster, g, server)
    # The fraction stays on the client: the reference is sent whole seconds.
    r = cluster.client([*server, "get", g, "--since", local_text(instant, "Asia/Tokyo")], env=tz)
    assert (r.returncode, texts(r.stdout)) == (0, ["after"]), r.stderr
    r = cluster.client([*server, "get", g, "--since", local_text(instant, "Asia/Tokyo")[11:]],
                       env=tz)  # HH:MM:SS.ffffff, today
    assert (r.returncode, texts(r.stdout)) == (0, ["after"]), r.stderr
    assert grp.find(r"handler thread died", stream="stderr") is None
    # Paging the reference ignores happens on the client.
    assert cluster.client([*server, "send", g, "third"]).returncode == 0
    r = cluster.client([*server, "get", g, "--last", "2"])
    assert texts(r.stdout) == ["after", "third"], r.stderr
    r = cluster.client([*server, "get", g, "--limit", "2"])
    assert texts(r.stdout) == ["before", "after"], r.stderr
    r = cluster.client([*server, "get", g, "--since-seq", "1"])
    assert texts(r.stdout) == ["after", "third"], r.stderr
    r = cluster.client([*server, "get", g, "--since-seq", "1", "--since", "2000-01-01"])
    assert texts(r.stdout) == ["before", "after", "third"], r.stderr
    assert "--since-seq was not applied" in r.stderr
    # The peer is faithful: the fraction our client no longer sends kills its handler.
    body = {"action": "getMessage", "user_uuid": "x", "timestamp": "2026-11-21T22:44:00.5"}
    request(g, {"action": "joinGroup", "user_uuid": "x"})
    s = connect(zmq.REQ, g)
    s.send_string(json.dumps(body))
    grp.wait_for(r"handler thread died", stream="stderr")
    s.close()
    r = cluster.client([*server, "--timeout-ms", "300", "--tries", "1", "get", g], timeout=15)
    assert r.returncode == 3 and "no reply" in r.stderr, r.stderr


def test_a_reference_user_sees_the_newest_messages_and_may_give_a_bare_date(cluster):
    reg = cluster.registry()
    grp = cluster.group("long", reg.address)
    g = grp.address
    join(g, "writer")
    # 1005 sends, pipelined on one DEALER, each reply awaited within a deadline.
    s = connect(zmq.DEALER, g)
    try:
        for i in range(1, 1006):
            s.send_multipart([b"", json.dumps({"action": "sendMessage", "user_uuid": "writer",
                                                "message": f"m{i}"}).encode()])
        for _ in range(1005):
            assert s.poll(10000), "no reply to a pipelined send"
            assert json.loads(s.recv_multipart()[-1])["response"] == "SUCCESS"
    finally:
        s.close()
    script = f"join_group {g}\nget_messages {g}\nget_messages {g} 2000-01-01 00:00:00\nexit\n"
    r = subprocess.run([PY, os.path.join(PEERS, "ref_user.py"), "--server", reg.address,
                        "--timeout", "10"], input=script, capture_output=True, text=True,
                       timeout=60)
    out = r.stdout.splitlines()
    assert out[0] == "SUCCESS", r.stdout[:500]
    assert NOT_MEMBER not in out
    newest = [f"m{i}" for i in range(6, 1006)]
    assert texts("\n".join(out[1:1001])) == newest
    # "YYYY-MM-DD HH:MM:SS" arrives as the bare date: midnight, accepted.
    assert texts("\n".join(out[1001:])) == newest


def test_follow_falls_back_to_polling_a_reference_group_and_shows_each_message_once(cluster):
    reg = start_peer(cluster, "ref_message_server.py", [f"127.0.0.1:{free_port()}"])
    reg.address = reg.args[-1]
    port = free_port()
    grp = start_peer(cluster, "ref_group.py", ["polled", f"127.0.0.1:{port}", "--server", reg.address])
    g = f"127.0.0.1:{port}"
    server = ["--server", reg.address]
    assert cluster.client([*server, "join", g]).returncode == 0
    assert cluster.client([*server, "send", g, "old"]).returncode == 0
    env = dict(os.environ, XDG_CONFIG_HOME=str(cluster.tmp_path / "config"))
    follow = Proc([binary("user_client"), *server, "--timeout-ms", "500", "follow", g], env=env)
    cluster.procs.append(follow)
    follow.wait_for(r"does not push messages .*polling it every 1000 ms", stream="stderr")
    for text in ("one", "two"):
        assert cluster.client([*server, "send", g, text]).returncode == 0
        follow.wait_for(rf" : {text} \(")
    assert cluster.client([*server, "send", g, "three"]).returncode == 0
    follow.wait_for(r" : three \(")
    assert texts("\n".join(follow.lines["stdout"])) == ["one", "two", "three"]  # "old" came before
    assert follow.count(r"polling", stream="stderr") == 1
    # Polling is not a failure: no warning per poll. (One is possible on a loaded
    # machine, where the Python group can be slow to answer a poll; a warning per
    # poll, as when the fallback was missing, would be one a second.)
    assert follow.count(r"no reply", stream="stderr") <= 1, follow.out("stderr")
    # Our follower's requests are well-formed for it: its handler never died.
    assert grp.find(r"handler thread died", stream="stderr") is None

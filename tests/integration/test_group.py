"""group_server end to end: the real binary, registered with the real message_server.

Each test names the behaviour it pins. Requests go over REQ sockets as the
reference user sends them (DEALER where framing is the point).
"""
import json
import os
import re
import signal

import pytest
import zmq

from conftest import (PUBLIC_ID, Proc, binary, connect, free_port, join, public_id, request,
                      request_json, send)

MAX_MSG = 1000  # --max-message-bytes for these tests: small, so limits are cheap to hit


@pytest.fixture
def reg(cluster):
    return cluster.registry()


@pytest.fixture
def grp(cluster, reg):
    return cluster.group("room", reg.address, extra=["--max-message-bytes", str(MAX_MSG)])


def call(g, body):
    return request_json(g.address, body)


def get(g, user, **extra):
    return call(g, {"action": "getMessage", "user_uuid": user, **extra})


def assert_failed(reply, error_start):
    assert reply["response"] == "FAILED", reply
    assert reply["error"].startswith(error_start), reply


def assert_still_serving(g):
    assert join(g, "probe") == {"response": "SUCCESS", "public_id": public_id(g, "probe")}


def dealer(g, ctx=None):
    return connect(zmq.DEALER, g.address, ctx)


def dealer_exchange(g, frames, timeout=3.0):
    s = dealer(g)
    try:
        s.send_multipart(frames)
        assert s.poll(int(timeout * 1000)), "no reply"
        return s.recv_multipart()
    finally:
        s.close()


# --- each action, with the reference's JSON and stdout lines -------------------------------

def test_registers_with_the_registry_and_is_listed(grp, reg):
    reg.wait_for(rf"^JOIN REQUEST FROM {grp.address}$")
    listing = request_json(reg.address, {"action": "get_group_list", "user_uuid": "u"})
    assert f"room - {grp.address}" in listing


def test_join_replies_success_and_prints_join_line(grp):
    r = join(grp, "alice")
    # Ours: the member's public id, what the others see as its user_uuid.
    assert r == {"response": "SUCCESS", "public_id": public_id(grp, "alice")}
    assert PUBLIC_ID.fullmatch(r["public_id"]), r
    grp.wait_for(r"^JOIN REQUEST FROM alice$")


def test_send_by_member_replies_seq_and_timestamp_and_prints(grp):
    join(grp, "alice")
    r = send(grp, "alice", "hello")
    assert r["response"] == "SUCCESS"
    assert r["seq"] == 1
    assert len(r["timestamp"]) == 26 and r["timestamp"][10] == "T"
    grp.wait_for(r"^MESSAGE SEND FROM alice$")
    assert send(grp, "alice", "again")["seq"] == 2


def test_get_returns_reference_message_objects_and_prints(grp):
    join(grp, "alice")
    join(grp, "bob", name="Bob")
    t1 = send(grp, "alice", "one")["timestamp"]
    t2 = send(grp, "bob", "two")["timestamp"]
    r = get(grp, "alice", timestamp=None)
    history_id = r.pop("history_id")  # ours: the history these seqs belong to
    assert re.fullmatch(r"[0-9a-f]{32}", history_id), history_id
    assert r == {
        "response": "SUCCESS",
        "messages": [
            # Each sender by its public id, never by the user_uuid it sent with.
            {"user_uuid": public_id(grp, "alice"), "message": "one", "timestamp": t1, "seq": 1},
            {"user_uuid": public_id(grp, "bob"), "message": "two", "timestamp": t2, "seq": 2,
             "name": "Bob"},
        ],
        "more": False,
        "last_seq": 2,
    }
    grp.wait_for(r"^MESSAGE REQUEST FROM alice$")


def test_leave_by_member_then_send_fails(grp):
    join(grp, "alice")
    assert call(grp, {"action": "leaveGroup", "user_uuid": "alice"}) == {"response": "SUCCESS"}
    grp.wait_for(r"^LEAVE REQUEST FROM alice$")
    assert_failed(send(grp, "alice", "x", expect=None), "not a member of this group; join first")


def test_leave_by_non_member_fails_and_server_keeps_serving(grp):
    r = call(grp, {"action": "leaveGroup", "user_uuid": "stranger"})
    assert_failed(r, "not a member of this group")
    grp.wait_for(r"^LEAVE REQUEST FROM stranger$")
    assert_still_serving(grp)


def test_send_and_get_by_non_member_keep_reference_failed(grp):
    assert_failed(send(grp, "nobody", "x", expect=None), "not a member of this group; join first")
    assert_failed(get(grp, "nobody"), "not a member of this group; join first")


def test_client_msg_id_makes_a_retried_send_store_once(grp):
    join(grp, "alice")
    first = send(grp, "alice", "once", client_msg_id="k1")
    again = send(grp, "alice", "once", client_msg_id="k1")
    assert again == first
    assert [m["message"] for m in get(grp, "alice")["messages"]] == ["once"]


def test_dealer_without_delimiter_gets_a_reply(grp):
    frames = dealer_exchange(grp, [json.dumps({"action": "joinGroup", "user_uuid": "d"}).encode()])
    assert json.loads(frames[-1]) == {"response": "SUCCESS", "public_id": public_id(grp, "d")}


# --- bad input, one by one: FAILED + error, and the server still serves -------------------

BAD_BODIES = [
    (b"{not json", "malformed JSON: "),
    (b"\xff\xfe\xfd", "malformed JSON: "),
    (b"[1, 2]", "request must be a JSON object"),
    (b'"joinGroup"', "request must be a JSON object"),
    (b'{"action": "joinGroup"}', "missing field 'user_uuid'"),
    (b'{"user_uuid": "u"}', "missing field 'action'"),
    (b'{"action": "joinGroup", "user_uuid": 42}', "field 'user_uuid' must be a string"),
    (b'{"action": 3, "user_uuid": "u"}', "field 'action' must be a string"),
    (b'{"action": "sendMessage", "user_uuid": "u", "message": 5}', "field 'message' must be a string"),
    (b'{"action": "getMessage", "user_uuid": "u", "timestamp": 5}', "field 'timestamp' must be a string"),
    (b'{"action": "getMessage", "user_uuid": "u", "since_seq": -1}', "field 'since_seq' must be an integer"),
    (b'{"action": "getMessage", "user_uuid": "u", "limit": 0}', "field 'limit' must be an integer from 1 to 10000"),
    (b'{"action": "dance", "user_uuid": "u"}', "unknown action 'dance'"),
]


@pytest.mark.parametrize("body,error", BAD_BODIES, ids=[e for _, e in BAD_BODIES])
def test_bad_body_gets_failed_with_error_and_server_still_serves(grp, body, error):
    assert_failed(json.loads(request(grp.address, body)), error)
    assert_still_serving(grp)


def test_empty_frame_gets_failed(grp):
    assert_failed(json.loads(request(grp.address, b"")), "empty frame: send one frame of JSON")
    assert_still_serving(grp)


def test_multi_frame_request_gets_failed(grp):
    frames = dealer_exchange(grp, [b"", b'{"action":"joinGroup"}', b'{"user_uuid":"u"}'])
    assert_failed(json.loads(frames[-1]), "request has 2 frames: send one frame of JSON")
    assert_still_serving(grp)


def test_over_limit_message_gets_failed(grp):
    join(grp, "alice")
    assert_failed(send(grp, "alice", "x" * (MAX_MSG + 1), expect=None),
                  f"message of {MAX_MSG + 1} bytes is over the limit of {MAX_MSG} bytes")
    assert send(grp, "alice", "x" * MAX_MSG)["response"] == "SUCCESS"


def test_over_limit_request_frame_gets_failed(grp):
    limit = MAX_MSG + 64 * 1024
    body = json.dumps({"action": "sendMessage", "user_uuid": "u", "message": "x" * limit})
    r = json.loads(request(grp.address, body))
    assert_failed(r, f"request of {len(body)} bytes is over the limit of {limit} bytes")
    assert_still_serving(grp)


def test_frame_over_the_hard_cap_drops_only_that_connection(grp):
    s = dealer(grp)
    try:
        s.send_multipart([b"", b"x" * (17 * 1024 * 1024)])
        assert_still_serving(grp)
    finally:
        s.close()


def test_unparseable_timestamp_gets_failed(grp):
    join(grp, "alice")
    assert_failed(get(grp, "alice", timestamp="yesterday"), "cannot parse timestamp 'yesterday'")
    assert_still_serving(grp)


# --- getMessage filters -------------------------------------------------------------------

def test_three_timestamp_forms_select_messages_at_or_after(grp):
    join(grp, "alice")
    stamps = [send(grp, "alice", f"m{i}")["timestamp"] for i in range(3)]
    cut = stamps[1]  # YYYY-MM-DDTHH:MM:SS.ffffff
    expected = [f"m{i}" for i in range(3) if stamps[i] >= cut]
    forms = [cut, cut.replace("T", " "), cut[11:]]  # T form, space form, HH:MM:SS.ffffff (today)
    for form in forms:
        r = get(grp, "alice", timestamp=form)
        assert [m["message"] for m in r["messages"]] == expected, form
    # Whole seconds: everything from the start of that second on.
    r = get(grp, "alice", timestamp=stamps[0][:19])
    assert [m["message"] for m in r["messages"]] == ["m0", "m1", "m2"]


def test_since_seq_and_limit_page_with_more(grp):
    join(grp, "alice")
    for i in range(1, 13):
        assert send(grp, "alice", str(i))["seq"] == i
    seen, after = [], 0
    for _ in range(10):
        r = get(grp, "alice", since_seq=after, limit=5)
        assert r["last_seq"] == 12
        seen += [m["seq"] for m in r["messages"]]
        if not r["more"]:
            break
        after = r["messages"][-1]["seq"]
    assert seen == list(range(1, 13))
    assert get(grp, "alice", since_seq=12)["messages"] == []


# --- durability and lifecycle -------------------------------------------------------------

def test_restart_with_same_data_dir_keeps_history_members_and_seq(cluster, reg):
    port = free_port()
    g = cluster.group("room", reg.address, port=port)
    join(g, "alice")
    sent = [send(g, "alice", f"m{i}") for i in range(3)]
    g.signal(signal.SIGTERM)
    assert g.wait() == 0
    g2 = cluster.group("room", reg.address, port=port)
    r = get(g2, "alice")  # still a member: no join
    assert [(m["seq"], m["timestamp"]) for m in r["messages"]] == [
        (s["seq"], s["timestamp"]) for s in sent]
    assert send(g2, "alice", "after")["seq"] == 4


def test_memory_store_forgets_at_restart(cluster, reg):
    port = free_port()
    g = cluster.group("room", reg.address, port=port, extra=["--store", "memory"])
    join(g, "alice")
    g.stop()
    g2 = cluster.group("room", reg.address, port=port, extra=["--store", "memory"])
    assert_failed(get(g2, "alice"), "not a member")


def test_sigterm_exits_zero_promptly_and_unregisters(cluster, reg, grp):
    reg.wait_for(rf"^JOIN REQUEST FROM {grp.address}$")
    grp.signal(signal.SIGTERM)
    assert grp.wait(timeout=2) == 0
    reg.wait_for(rf"^LEAVE REQUEST FROM {grp.address}$")


def test_sigint_exits_zero(grp):
    grp.signal(signal.SIGINT)
    assert grp.wait(timeout=2) == 0


def test_bind_failure_exits_nonzero_naming_the_address(cluster, reg, grp):
    p = cluster.group("other", reg.address, port=grp.port, wait=False,
                      data_dir=str(cluster.tmp_path / "other"))
    assert p.wait() != 0
    p.wait_for(rf"cannot bind tcp://127\.0\.0\.1:{grp.port}: Address already in use", stream="stderr")


def test_unreachable_registry_is_named_and_the_group_serves_meanwhile(cluster):
    dead = f"127.0.0.1:{free_port()}"
    p = cluster.group("room", dead, wait=False)
    line = p.wait_for(r"not registered yet", stream="stderr")
    assert dead in line and "message_server" in line
    assert_still_serving(p)


def test_unwritable_data_dir_exits_nonzero_with_clear_error(cluster, reg):
    blocker = cluster.tmp_path / "a-file"
    blocker.write_text("not a directory")
    p = cluster.group("room", reg.address, wait=False, data_dir=str(blocker))
    assert p.wait() != 0
    p.wait_for(r"cannot create the data directory .*--data-dir", stream="stderr")


def test_corrupt_database_exits_nonzero_with_clear_error(cluster, reg):
    port = free_port()
    data = cluster.tmp_path / "data"
    (data / f"127.0.0.1_{port}").mkdir(parents=True)
    (data / f"127.0.0.1_{port}" / "group.db").write_bytes(os.urandom(8192))
    p = cluster.group("room", reg.address, port=port, wait=False)
    assert p.wait() != 0
    p.wait_for(r"not a database.*move it away", stream="stderr")


def test_quiet_prints_nothing_per_request(cluster, reg):
    g = cluster.group("room", reg.address, extra=["--quiet"])
    join(g, "alice")
    send(g, "alice", "hi")
    g.stop()
    assert g.out("stdout") == []


def test_help_and_version(cluster):
    import subprocess
    h = subprocess.run([binary("group_server"), "--help"], capture_output=True, text=True, timeout=10)
    assert h.returncode == 0
    for flag in ["--server", "--data-dir", "--store", "--sync", "--max-message-bytes", "--quiet"]:
        assert flag in h.stdout
    v = subprocess.run([binary("group_server"), "--version"], capture_output=True, text=True, timeout=10)
    assert v.returncode == 0 and v.stdout.startswith("group_server ")


def test_registry_restart_gets_the_group_registered_again(cluster):
    """Heartbeats: a restarted registry answers FAILED+reregister and the group registers anew."""
    reg = cluster.registry()
    g = cluster.group("room", reg.address)
    reg.wait_for(rf"^JOIN REQUEST FROM {g.address}$")
    reg.stop()
    reg2 = cluster.registry(port=reg.port)
    reg2.wait_for(rf"^JOIN REQUEST FROM {g.address}$", timeout=10)
    listing = request_json(reg2.address, {"action": "get_group_list", "user_uuid": "u"})
    assert f"room - {g.address}" in listing
    assert_still_serving(g)


def test_reference_registry_gets_no_heartbeat_and_no_unregister(cluster):
    import sys
    port = free_port()
    peers = os.path.join(os.path.dirname(__file__), "..", "peers", "ref_message_server.py")
    ref = Proc([sys.executable, peers, f"127.0.0.1:{port}"])
    cluster.procs.append(ref)
    ref.wait_for(r"serving on", stream="stderr")
    g = cluster.group("room", f"127.0.0.1:{port}")
    ref.wait_for(rf"^JOIN REQUEST FROM {g.address}$")
    assert_still_serving(g)
    g.signal(signal.SIGTERM)
    assert g.wait(timeout=2) == 0
    # A REP registry serves in order: once this list is answered, an unregister sent before
    # it would have been seen (and logged as "no reply to ..." on stderr).
    listing = request_json(f"127.0.0.1:{port}", {"action": "get_group_list", "user_uuid": "u"})
    assert listing == [f"room - {g.address}"]
    assert not any("no reply to" in line for line in ref.out("stderr")), ref.out("stderr")


def test_a_client_pipelining_past_the_high_water_mark_gets_every_reply_in_order(grp):
    """Replies are never dropped for a slow reader: they wait until it reads.
    The client asks for far more reply bytes than the socket buffers and the
    server's queue (1000 messages) hold before it reads any."""
    uid = "pipeliner"
    join(grp, uid)
    s = connect(zmq.DEALER, grp.address, RCVHWM=10)

    def pipeline(bodies):
        for b in bodies:
            s.send_multipart([b"", json.dumps(b).encode()])
        replies = []
        for _ in bodies:
            assert s.poll(10000), f"reply {len(replies) + 1} of {len(bodies)} never came"
            replies.append(json.loads(s.recv_multipart()[-1]))
        return replies

    try:
        text = "x" * 200
        sent = pipeline([{"action": "sendMessage", "user_uuid": uid, "message": text}] * 100)
        assert [r["seq"] for r in sent] == list(range(1, 101))
        total = 2500  # each reply ~25 KB: ~60 MB in all
        gets = pipeline([{"action": "getMessage", "user_uuid": uid, "since_seq": i % 2,
                          "limit": 100} for i in range(total)])
        assert [len(r["messages"]) for r in gets] == [100 - (i % 2) for i in range(total)]
    finally:
        s.close()
    # And the server still serves everyone else.
    join(grp, "next")

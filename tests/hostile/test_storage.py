"""Storage faults played against the real group_server: the group's
database file deleted, truncated or damaged under it. The server must never
acknowledge into a lost file: it answers FAILED naming the fault and exits
non-zero; a damaged file is refused at start with a clear message; a history
begun again after a loss has a new history id, and a running follower starts
it afresh instead of skipping it by seq."""
import json
import os
import re
import signal
import time

import pytest
import zmq

from conftest import address_of, connect, join, request_json, send, wait_json_lines

EXIT_WITHIN_S = 15.0


def db_path(group, data_dir):
    """The group's database: DATA_DIR/group-NAME/group.db (every group here is 'alpha')."""
    return os.path.join(data_dir, "group-alpha", "group.db")


def sends_after_the_fault(group, user, max_sends=50):
    """Sends one message at a time (each issued after the fault was made) until
    the server stops answering or has exited; returns the replies it gave."""
    replies = []
    deadline = time.monotonic() + EXIT_WITHIN_S
    for i in range(max_sends):
        if group.popen.poll() is not None or time.monotonic() > deadline:
            break
        try:
            r = request_json(address_of(group), {"action": "sendMessage", "user_uuid": user,
                                                 "message": f"after the fault {i}"}, timeout=3.0)
        except TimeoutError:
            break
        replies.append(r)
    return replies


def assert_stops_on(group, replies, fault):
    assert all(r["response"] == "FAILED" for r in replies), replies
    rc = group.wait(timeout=EXIT_WITHIN_S)
    assert rc != 0
    group.wait_for(rf"stopping: .*{fault}", stream="stderr", timeout=1)
    if not replies:
        # Only when the periodic sync (a second after the last write) found the
        # fault before the first send arrived: then no request was in flight.
        assert group.count(r"request\(s\) answered FAILED", stream="stderr") == 0
        return
    assert re.search(fault, replies[0]["error"]), replies[0]
    assert replies[0]["error"].startswith("storage error, nothing was stored: "), replies[0]


@pytest.fixture
def data_dir(tmp_path):
    return str(tmp_path / "data")


def start_group(cluster, data_dir, port=None, wait=True):
    if not hasattr(cluster, "reg"):
        cluster.reg = cluster.registry()
    return cluster.group("alpha", cluster.reg.address, port=port, data_dir=data_dir, wait=wait)


def test_a_deleted_database_is_never_acknowledged_into(cluster, data_dir):
    g = start_group(cluster, data_dir)
    join(g, "writer")
    for i in range(5):
        send(g, "writer", f"before {i}")
    path = db_path(g, data_dir)
    os.remove(path)
    replies = sends_after_the_fault(g, "writer")
    assert_stops_on(g, replies, r"was deleted")
    assert not replies or path in replies[0]["error"]


def test_under_pipelined_load_no_send_issued_after_the_deletion_is_acknowledged(
        cluster, data_dir):
    """Sends stream in on one connection while the file is deleted: those
    issued before may be stored or refused, none issued after may succeed.
    Replies on one DEALER connection come back in request order."""
    g = start_group(cluster, data_dir)
    join(g, "writer")
    s = connect(zmq.DEALER, g.address)
    try:
        def send_one(i):
            s.send_json({"action": "sendMessage", "user_uuid": "writer", "message": f"m{i}"})
        before, after = 300, 300
        for i in range(before):
            send_one(i)
        os.remove(db_path(g, data_dir))
        for i in range(before, before + after):
            send_one(i)
        replies = []
        deadline = time.monotonic() + EXIT_WITHIN_S
        while len(replies) < before + after and time.monotonic() < deadline:
            if not s.poll(500):
                if g.popen.poll() is not None:
                    break  # the server has gone: nothing more will come
                continue
            replies.append(json.loads(s.recv()))
    finally:
        s.close()
    late = replies[before:]
    assert all(r["response"] == "FAILED" for r in late), [r for r in late if r["response"] != "FAILED"]
    # What succeeded is a prefix; every refusal names the fault. (The server may
    # also notice the deletion at its periodic sync, before any of these.)
    succeeded = [r for r in replies if r["response"] == "SUCCESS"]
    assert replies[:len(succeeded)] == succeeded
    assert all("was deleted" in r["error"] for r in replies[len(succeeded):]), replies[-1]
    assert g.wait(timeout=EXIT_WITHIN_S) != 0
    g.wait_for(r"stopping: .*was deleted", stream="stderr", timeout=1)


def test_a_truncated_database_is_never_acknowledged_into(cluster, data_dir):
    g = start_group(cluster, data_dir)
    join(g, "writer")
    for i in range(5):
        send(g, "writer", f"before {i}")
    path = db_path(g, data_dir)
    assert os.path.getsize(path) > 0  # the schema is in the file from the start
    os.truncate(path, 0)
    replies = sends_after_the_fault(g, "writer")
    assert_stops_on(g, replies, r"was truncated")


def test_a_replaced_database_is_never_acknowledged_into(cluster, data_dir):
    g = start_group(cluster, data_dir)
    join(g, "writer")
    path = db_path(g, data_dir)
    with open(path + ".other", "wb") as f:
        f.write(b"another file")
    os.replace(path + ".other", path)
    replies = sends_after_the_fault(g, "writer")
    assert_stops_on(g, replies, r"was replaced")


def make_history(cluster, data_dir, messages=20):
    """A group with some history, stopped cleanly; returns its port and file."""
    g = start_group(cluster, data_dir)
    join(g, "writer")
    for i in range(messages):
        send(g, "writer", f"message {i} " + "x" * 500)
    g.signal(signal.SIGTERM)
    assert g.wait() == 0
    return g.port, db_path(g, data_dir)


@pytest.mark.parametrize("damage", ["garbage page", "truncated", "not a database"])
def test_a_damaged_database_is_refused_at_start(cluster, data_dir, damage):
    port, path = make_history(cluster, data_dir)
    size = os.path.getsize(path)
    assert size >= 4 * 4096
    if damage == "garbage page":
        with open(path, "r+b") as f:
            f.seek(size // 4096 // 2 * 4096)  # a page in the middle of the messages
            f.write(b"\xa5" * 4096)
    elif damage == "truncated":
        os.truncate(path, size // 2)
    else:
        with open(path, "wb") as f:
            f.write(bytes((i * 7 + 3) % 256 for i in range(size)))
    g = start_group(cluster, data_dir, port=port, wait=False)
    assert g.wait(timeout=EXIT_WITHIN_S) != 0
    line = g.wait_for(r"^group_server: ", stream="stderr", timeout=1)
    assert path in line, line
    assert re.search(r"damaged|not a database|malformed", line), line
    assert "move it away" in line, line


def follow(cluster, uid, group):
    return cluster.start("user_client", ["--user-id", uid, "follow", group.address, "--since-seq",
                                         "0", "--json"],
                         env={"XDG_CONFIG_HOME": str(cluster.tmp_path / "config")})


def test_a_new_history_after_a_loss_has_a_new_id_and_a_follower_starts_it_afresh(
        cluster, data_dir):
    g = start_group(cluster, data_dir)
    join(g, "reader")
    join(g, "writer")
    first_id = request_json(g.address, {"action": "follow", "user_uuid": "reader"})["history_id"]
    f = follow(cluster, "reader", g)
    old = [f"old {i}" for i in range(5)]
    for t in old:
        send(g, "writer", t)
    wait_json_lines(f, 5, timeout=20.0)

    # The follower is paused while the group loses its file and starts a new
    # history (members are lost with it: they join again before it resumes).
    f.signal(signal.SIGSTOP)
    try:
        os.remove(db_path(g, data_dir))
        replies = sends_after_the_fault(g, "writer")
        assert_stops_on(g, replies, r"was deleted")
        g = start_group(cluster, data_dir, port=g.port)
        join(g, "reader")
        join(g, "writer")
        second_id = request_json(g.address, {"action": "getMessage",
                                             "user_uuid": "reader"})["history_id"]
        assert second_id != first_id
        assert re.fullmatch(r"[0-9a-f]{32}", second_id) and re.fullmatch(r"[0-9a-f]{32}", first_id)
        # More messages than the follower had seen, so that by seq alone it
        # would show only the last ones and silently skip the rest.
        new = [f"new {i}" for i in range(8)]
        for t in new:
            r = send(g, "writer", t)
        assert r["seq"] == len(new)
    finally:
        f.signal(signal.SIGCONT)
    got = wait_json_lines(f, len(old) + len(new), timeout=20.0)
    assert [m["message"] for m in got] == old + new, got
    assert [m["seq"] for m in got] == list(range(1, 6)) + list(range(1, 9))
    f.wait_for(r"history was replaced", stream="stderr", timeout=5)
    assert f.count(r"history was replaced", stream="stderr") == 1

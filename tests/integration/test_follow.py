"""`user_client follow`: live delivery to real follower processes. Every
follower prints every message exactly once, in seq order, through pauses,
cut connections and a group server restart; non-members are refused; a
member who leaves stops receiving; --since-seq replays history first.

Synchronisation is on printed lines with deadlines, never on sleeps."""
import json
import re
import signal
import socket
import time

from conftest import (ended_follows, free_port, follows_expired_pattern, join, json_lines, public_id, send,
                      wait_json_lines)

MSG_LINE = re.compile(r"^(.+) : (.*) \((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?)\)$")


def follow(chat, uid, *extra, json_out=True, group=None):
    args = ["--user-id", uid, "follow", group or chat.grp.address, *extra]
    if json_out:
        args.append("--json")
    return chat.start("user_client", args, env={"XDG_CONFIG_HOME": str(chat.tmp_path / "config")})


def assert_exactly(proc, texts, first_seq=1):
    got = json_lines(proc)
    assert [m["message"] for m in got] == texts, got
    assert [m["seq"] for m in got] == list(range(first_seq, first_seq + len(texts)))


def test_every_follower_gets_every_message_once_in_seq_order(chat):
    g = chat.grp.address
    users = [f"reader-{i}" for i in range(3)]
    for u in users + ["writer"]:
        join(g, u)
    followers = [follow(chat, u, "--since-seq", "0") for u in users]
    texts = [f"m{i}" for i in range(40)]
    for t in texts:
        send(g, "writer", t)
    send(g, "writer", "marker")  # anything after the last message would show after this
    for f in followers:
        wait_json_lines(f, len(texts) + 1)
        assert_exactly(f, texts + ["marker"])
        m = json_lines(f)[0]
        assert m["user_uuid"] == public_id(g, "writer")
        assert re.match(r"\d{4}-\d\d-\d\dT", m["timestamp"])
        assert "name" not in m  # only when the sender set one
    f = followers[0]
    f.signal(signal.SIGINT)
    assert f.wait() == 0
    followers[1].signal(signal.SIGTERM)
    assert followers[1].wait() == 0
    assert followers[1].out("stderr") == []  # quiet when all is well


def test_without_since_seq_only_messages_stored_from_now_on_are_printed(chat):
    g = chat.grp.address
    join(g, "reader")
    join(g, "writer")
    send(g, "writer", "old")
    f = follow(chat, "reader")
    # The follower is live once a ping shows up; send pings until one does.
    deadline = time.monotonic() + 15
    sent = []
    for _ in range(50):
        sent.append(f"ping{len(sent)}")
        send(g, "writer", sent[-1])
        if f.find(r"ping", timeout=0.3) or time.monotonic() > deadline:
            break
    assert f.count(r"ping") > 0, f"no ping printed after {len(sent)} sent: {f.out('stderr')}"
    send(g, "writer", "after")
    f.wait_for(r'"after"')
    got = [m["message"] for m in json_lines(f)]
    assert "old" not in got
    first = sent.index(got[0])
    assert got == sent[first:] + ["after"]  # no gap, no duplicate from the first shown on


# Short, so an outage that outlasts a follow is quick to make; well above the
# client's one-second renewal, so a running follower never lapses.
FOLLOW_EXPIRY_MS = 2500


def test_a_stopped_follower_catches_up_exactly_once(make_chat):
    chat = make_chat(group_extra=["--follow-expiry-ms", str(FOLLOW_EXPIRY_MS)])
    g = chat.grp.address
    join(g, "reader")
    join(g, "writer")
    f = follow(chat, "reader", "--since-seq", "0")
    send(g, "writer", "before")
    wait_json_lines(f, 1)
    stopped_at = len(chat.grp.out("stderr"))
    f.signal(signal.SIGSTOP)
    try:
        texts = [f"while stopped {i}" for i in range(10)]
        for t in texts[:5]:
            send(g, "writer", t)
        # The outage under test lasts until the server has dropped the
        # unrenewed follow, so the later pushes are never sent to it.
        line = chat.grp.wait_for(follows_expired_pattern(FOLLOW_EXPIRY_MS), stream="stderr",
                                 start=stopped_at)
        assert ended_follows(line) == 1, line
        for t in texts[5:]:
            send(g, "writer", t)
    finally:
        f.signal(signal.SIGCONT)
    send(g, "writer", "after")
    wait_json_lines(f, 12)
    assert_exactly(f, ["before", *texts, "after"])


def test_followers_print_every_message_once_across_a_group_server_restart(chat):
    g = chat.grp.address
    for u in ("r1", "r2", "writer"):
        join(g, u)
    followers = [follow(chat, u, "--since-seq", "0") for u in ("r1", "r2")]
    texts = [f"first {i}" for i in range(5)]
    for t in texts:
        send(g, "writer", t)
    for f in followers:
        wait_json_lines(f, 5)
    chat.grp.kill()  # SIGKILL: no goodbye to anyone
    for f in followers:
        f.wait_for(rf"no reply from {re.escape(g)}; retrying", stream="stderr", timeout=15)
    # A send made while the group is down goes through once it is back.
    pending = chat.start("user_client", ["--user-id", "writer", "--timeout-ms", "500", "--tries",
                                         "40", "send", g, "sent while down"],
                         env={"XDG_CONFIG_HOME": str(chat.tmp_path / "config")})
    chat.grp = chat.group("alpha", chat.reg.address, port=chat.grp.port)
    pending.wait_for(r"^SUCCESS$", timeout=25)
    assert pending.wait() == 0
    later = [f"after restart {i}" for i in range(5)]
    for t in later:
        send(g, "writer", t)
    for f in followers:
        wait_json_lines(f, 11, timeout=20)
        assert_exactly(f, [*texts, "sent while down", *later])
        f.wait_for(rf"connected to {re.escape(g)}", stream="stderr")


def test_a_cut_connection_resumes_without_gap_or_duplicate(chat):
    """The follower's connection dies with the server process while messages
    keep being stored by the restarted one before the follower reconnects."""
    g = chat.grp.address
    join(g, "reader")
    join(g, "writer")
    f = follow(chat, "reader", "--since-seq", "0")
    send(g, "writer", "one")
    wait_json_lines(f, 1)
    chat.grp.kill()
    chat.grp = chat.group("alpha", chat.reg.address, port=chat.grp.port)
    for t in ("two", "three", "four"):
        send(g, "writer", t)
    wait_json_lines(f, 4)
    assert_exactly(f, ["one", "two", "three", "four"])


def test_a_non_member_is_refused_with_exit_1(chat):
    f = follow(chat, "stranger")
    assert f.wait(timeout=15) == 1
    err = "\n".join(f.out("stderr"))
    assert chat.grp.address in err and "not a member" in err, err
    assert f.out() == []


def test_a_member_who_leaves_stops_receiving_at_once(chat):
    g = chat.grp.address
    for u in ("leaver", "stayer", "writer"):
        join(g, u)
    leaver = follow(chat, "leaver", "--since-seq", "0")
    stayer = follow(chat, "stayer", "--since-seq", "0")
    send(g, "writer", "both see this")
    wait_json_lines(leaver, 1)
    wait_json_lines(stayer, 1)
    r = chat.client(["--server", chat.reg.address, "--user-id", "leaver", "leave", g])
    assert (r.returncode, r.stdout) == (0, "SUCCESS\n"), r.stderr
    send(g, "writer", "only the stayer")
    stayer.wait_for(r"only the stayer")
    assert [m["message"] for m in json_lines(leaver)] == ["both see this"]
    # Its next renewal is refused: the follower says so and exits 1.
    assert leaver.wait(timeout=15) == 1
    assert "not a member" in "\n".join(leaver.out("stderr"))
    assert [m["message"] for m in json_lines(leaver)] == ["both see this"]


def test_since_seq_replays_history_then_continues_live(chat):
    g = chat.grp.address
    join(g, "reader")
    r = chat.client(["--server", chat.reg.address, "--user-id", "ann", "--name", "Ann", "join", g])
    assert r.returncode == 0, r.stderr
    for t in ("h1", "h2", "h3"):
        r = chat.client(["--server", chat.reg.address, "--user-id", "ann", "--name", "Ann",
                         "send", g, t])
        assert r.returncode == 0, r.stderr
    f = follow(chat, "reader", "--since-seq", "1", json_out=False)
    f.wait_for(r" : h3 ")
    join(g, "bob")
    send(g, "bob", "live")  # bob set no name: his public id is shown
    bob = public_id(g, "bob")
    f.wait_for(rf"^{bob} : live ")
    lines = f.out()
    parsed = [MSG_LINE.match(x) for x in lines]
    assert all(parsed), lines
    assert [(m.group(1), m.group(2)) for m in parsed] == [("Ann", "h2"), ("Ann", "h3"),
                                                          (bob, "live")]


def test_bad_usage_of_follow_exits_2(chat):
    r = chat.client(["follow"])
    assert r.returncode == 2
    r = chat.client(["follow", "no/such:5560"])
    assert r.returncode == 2 and "bad address" in r.stderr
    r = chat.client(["follow", chat.grp.address, "--since-seq", "-3"])
    assert r.returncode == 2


def test_an_open_follow_where_connections_are_accepted_but_never_spoken_to_ends(cluster):
    """A listener that never speaks (the kernel completes the connections, nobody
    accepts them) is given twice the command's budget, then follow ends as it
    does against a group that does not talk to open clients."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as mute:
        mute.bind(("127.0.0.1", 0))
        mute.listen(64)
        address = f"127.0.0.1:{mute.getsockname()[1]}"
        r = cluster.client(["--server", f"127.0.0.1:{free_port()}", "--timeout", "1", "follow",
                            address], timeout=30)
    assert r.returncode == 4, r
    assert f"the group at {address} did not accept an unencrypted connection" in r.stderr, r

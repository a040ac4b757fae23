"""Live push on the wire: the group server's follow action seen from raw DEALER
sockets (the client side is tested in test_follow.py)."""
import json
import re
import time

import zmq

from conftest import (PUBLIC_ID, connect, ended_follows, follows_expired_pattern, join, public_id,
                      request_json, send)

TIMEOUT_MS = 5000


def dealer(address, **options):
    return connect(zmq.DEALER, address, **options)


def recv(sock):
    assert sock.poll(TIMEOUT_MS), "nothing arrived in time"
    return json.loads(sock.recv())


def recv_reply(sock):
    """The next frame that is a reply (pushes may come first)."""
    while True:
        frame = recv(sock)
        if "response" in frame:
            return frame


def recv_push(sock):
    frame = recv(sock)
    assert frame.get("event") == "message", frame
    return frame


def follow(sock, user, **extra):
    sock.send_json({"action": "follow", "user_uuid": user, **extra})
    r = recv_reply(sock)
    if r.get("response") == "SUCCESS":
        # Ours: the id of the group's history, beside last_seq.
        history_id = r.pop("history_id", None)
        assert history_id and re.fullmatch(r"[0-9a-f]{32}", history_id), history_id
        # Ours: the follower's own public id, what its messages carry as user_uuid.
        own = r.pop("public_id", None)
        assert own and PUBLIC_ID.fullmatch(own), own
    return r


def test_non_member_follow_is_refused_with_an_error(cluster):
    reg = cluster.registry()
    g = cluster.group("g", reg.address)
    s = dealer(g.address)
    r = follow(s, "stranger")
    assert r == {"response": "FAILED", "error": "not a member of this group; join first"}
    s.close()


def test_every_follower_gets_every_message_in_order_with_reference_fields(cluster):
    reg = cluster.registry()
    g = cluster.group("g", reg.address)
    users = [f"user-{i}" for i in range(3)]
    socks = []
    for u in users:
        join(g.address, u)
        s = dealer(g.address)
        assert follow(s, u) == {"response": "SUCCESS", "last_seq": 0}
        socks.append(s)
    sent = [send(g.address, users[i % 3], f"msg {i}")["seq"] for i in range(20)]
    assert sent == list(range(1, 21))
    for s in socks:
        got = [recv_push(s) for _ in range(20)]
        assert [m["seq"] for m in got] == sent
        assert [m["message"] for m in got] == [f"msg {i}" for i in range(20)]
        for m in got:
            assert set(m) >= {"user_uuid", "message", "timestamp", "seq"}
        # Each sender by its public id, never by the user_uuid it sent with.
        assert [m["user_uuid"] for m in got] == [public_id(g, users[i % 3]) for i in range(20)]
        s.close()
    # Followers print nothing: the stdout lines are the reference's only.
    assert g.count(r"FOLLOW|follow") == 0


def test_a_member_who_leaves_stops_receiving_at_once(cluster):
    reg = cluster.registry()
    g = cluster.group("g", reg.address)
    join(g.address, "leaver")
    join(g.address, "stayer")
    s = dealer(g.address)
    follow(s, "leaver")
    assert send(g.address, "stayer", "before")["seq"] == 1
    assert recv_push(s)["seq"] == 1
    assert request_json(g.address, {"action": "leaveGroup", "user_uuid": "leaver"})["response"] == "SUCCESS"
    assert send(g.address, "stayer", "while away")["seq"] == 2
    # Rejoin and follow again on the same connection: pushes on one connection
    # arrive in order, so had seq 2 been pushed it would come before seq 3.
    join(g.address, "leaver")
    follow(s, "leaver")
    assert send(g.address, "stayer", "after")["seq"] == 3
    assert recv_push(s)["seq"] == 3
    s.close()


def test_unfollow_ends_pushes_on_that_connection(cluster):
    reg = cluster.registry()
    g = cluster.group("g", reg.address)
    join(g.address, "u")
    a, b = dealer(g.address), dealer(g.address)
    follow(a, "u")
    follow(b, "u")
    a.send_json({"action": "unfollow", "user_uuid": "u"})
    assert recv_reply(a) == {"response": "SUCCESS"}
    send(g.address, "u", "one")
    assert recv_push(b)["seq"] == 1
    follow(a, "u", since_seq=1)
    send(g.address, "u", "two")
    assert recv_push(a)["seq"] == 2  # seq 1 never reached the unfollowed connection
    a.close()
    b.close()


# A short expiry for the expiry test, well above its renewal period so the
# renewed follow is never near lapsing.
FOLLOW_EXPIRY_MS = 1500
RENEW_EVERY_S = 0.3
# The follow should end within expiry + one sweep (~2.3 s); these bound the wait.
MAX_RENEWALS = 30
RENEW_FOR_S = 10


def test_a_follow_not_renewed_in_time_ends_and_a_renewed_one_goes_on(cluster):
    reg = cluster.registry()
    g = cluster.group("g", reg.address, extra=["--follow-expiry-ms", str(FOLLOW_EXPIRY_MS)])
    join(g.address, "lapsing")
    join(g.address, "renewing")
    lapsing, renewing = dealer(g.address), dealer(g.address)
    assert follow(lapsing, "lapsing") == {"response": "SUCCESS", "last_seq": 0}
    assert follow(renewing, "renewing") == {"response": "SUCCESS", "last_seq": 0}
    # Both follows are live at first, so a later silence is the expiry's doing.
    assert send(g.address, "renewing", "while both follow")["seq"] == 1
    assert recv_push(lapsing)["seq"] == 1
    assert recv_push(renewing)["seq"] == 1

    # Renew one follow (as clients do, by following again) until the server
    # says a follow ended; waiting for that line paces the renewals.
    expired = follows_expired_pattern(FOLLOW_EXPIRY_MS)
    deadline = time.monotonic() + RENEW_FOR_S
    line = None
    for _ in range(MAX_RENEWALS):
        assert follow(renewing, "renewing") == {"response": "SUCCESS", "last_seq": 1}
        line = g.find(expired, stream="stderr", timeout=RENEW_EVERY_S)
        if line or time.monotonic() > deadline:
            break
    assert line, f"no follow ended within {MAX_RENEWALS} renewals: {g.out('stderr')[-10:]}"
    assert ended_follows(line) == 1, line  # the unrenewed one, not the renewed one

    assert send(g.address, "renewing", "after the expiry")["seq"] == 2
    assert recv_push(renewing)["seq"] == 2
    # The server pushes to all its followers in one go: the renewed one has
    # seq 2, so a push to the lapsed connection would be on its way too; a
    # second is a generous bound on loopback.
    assert not lapsing.poll(1000), f"a push after the expiry: {lapsing.recv()}"
    lapsing.close()
    renewing.close()


STUCK_SENDS = 3000


def test_a_stuck_follower_does_not_slow_the_group(cluster):
    reg = cluster.registry()
    # The follows outlast the test: a follow still there at the end was kept by
    # the server through the jam, not renewed by the test.
    g = cluster.group("g", reg.address, extra=["--follow-expiry-ms", "600000"])
    for u in ("stuck", "healthy", "writer"):
        join(g.address, u)
    # Small queue and buffer so the pushes to it back up to the server early.
    stuck = dealer(g.address, RCVHWM=10, RCVBUF=4096)
    healthy = dealer(g.address)
    follow(stuck, "stuck")
    follow(healthy, "healthy")
    # Pushes large enough to fill what the stuck connection can buffer (socket
    # buffers, the server's queue per connection) well before the sends end.
    text = "x" * 16000
    healthy_seqs = []
    # The stuck follower never reads. Each send must still be answered: send()
    # fails when no reply comes within the request timeout, so a group held up
    # by the stuck follower fails here rather than passing slowly.
    for i in range(1, STUCK_SENDS + 1):
        assert send(g.address, "writer", text)["seq"] == i
        for _ in range(STUCK_SENDS):  # what has arrived so far, without waiting
            if not healthy.poll(0):
                break
            healthy_seqs.append(recv_push(healthy)["seq"])
    for _ in range(STUCK_SENDS - len(healthy_seqs)):
        assert healthy.poll(TIMEOUT_MS), f"the reading follower got {len(healthy_seqs)} pushes"
        healthy_seqs.append(recv_push(healthy)["seq"])
    # The group kept pushing to the follower that reads: all of it, in order.
    assert healthy_seqs == list(range(1, STUCK_SENDS + 1))
    # What the stuck follower will have missed is in the store, to fetch by seq.
    got = request_json(g.address, {"action": "getMessage", "user_uuid": "stuck",
                                   "since_seq": STUCK_SENDS - 10})
    assert [m["seq"] for m in got["messages"]] == list(range(STUCK_SENDS - 9, STUCK_SENDS + 1))

    # Now the stuck follower reads. A request on its connection is answered
    # behind every push queued for it, so once the reply is in, it has all of them.
    stuck.send_json({"action": "getMessage", "user_uuid": "stuck", "since_seq": STUCK_SENDS,
                     "limit": 1})
    stuck_seqs = []
    for _ in range(STUCK_SENDS + 1):
        frame = recv(stuck)
        if "response" in frame:
            assert frame["response"] == "SUCCESS" and frame["last_seq"] == STUCK_SENDS, frame
            break
        assert frame.get("event") == "message", frame
        stuck_seqs.append(frame["seq"])
    else:
        raise AssertionError("no reply behind the queued pushes")
    # What reached it is in seq order, without duplicates, from what was sent...
    assert stuck_seqs == sorted(set(stuck_seqs)), stuck_seqs
    assert set(stuck_seqs) <= set(range(1, STUCK_SENDS + 1))
    # ...and not all of it: its queue did fill, so the test did exercise a stuck follower.
    assert len(stuck_seqs) < STUCK_SENDS, "nothing was held back; the follower was never stuck"
    # Still a follower: with its queue drained it gets the next push, as does the other.
    assert send(g.address, "writer", "after the jam")["seq"] == STUCK_SENDS + 1
    assert stuck.poll(TIMEOUT_MS), "no push to the drained follower: its follow was dropped"
    assert recv_push(stuck)["seq"] == STUCK_SENDS + 1
    assert recv_push(healthy)["seq"] == STUCK_SENDS + 1
    stuck.close()
    healthy.close()

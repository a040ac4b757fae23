"""A multipart message that never ends is bounded in bytes per connection.

libzmq reads a whole multipart message into memory before the server sees
its first frame, and puts no cap on its frames: a peer that keeps sending
frames with MORE set would grow a server without bound. Each server compares
what the kernel received on each connection with what it has been delivered
from it and closes a connection that holds more than its share of the budget
undelivered (docs/PROTOCOL.md, "Limits and abuse (ours)", "Memory").

The servers run with --memory-budget 64 (MiB): a connection may then hold
2 MiB undelivered, all connections together 16 MiB.
"""
import json
import time

import zmq

from conftest import assert_group_serves, assert_registry_serves, connect, peak_rss_mib
from rawzmtp import RawPeer

BUDGET_MIB = 64
# The server's own baseline (SQLite, libzmq, the allocator's slack) and what
# arrives within one check interval.
MARGIN_MIB = 96
ATTACKER = "127.0.0.9"
SMALL = ["--memory-budget", str(BUDGET_MIB)]
# What an attacker may send before its close: its limit, what arrives within
# one 50 ms check interval (about 25 MB on loopback) and the kernel's buffers
# on both sides; far under the 380 MB it would send unchecked.
RUNAWAY = 128 << 20
CLOSED = r"closed a connection from 127\.0\.0\.9: \d+ bytes of a message not yet ended"


def never_ending(port, frame_bytes, max_frames, seconds, serves=None):
    """Sends frames with MORE set on one raw connection until the server closes it.

    Returns the bytes sent before the close, or None if it never closed.
    `serves` is called every 20 frames: a well-behaved client during the attack."""
    p = RawPeer("127.0.0.1", port, source=ATTACKER)
    frame = b"x" * frame_bytes
    sent = 0
    deadline = time.monotonic() + seconds
    try:
        for i in range(max_frames):
            if time.monotonic() > deadline:
                return None
            try:
                if not p.send_frames([frame], last_more=True):
                    return sent
            except TimeoutError:  # the server stopped reading: has it closed?
                return sent if p.closed_by_server(2) else None
            sent += frame_bytes
            if serves and i % 20 == 0:
                serves()
        # Everything was taken: closed only if the server has closed it since.
        return sent if p.closed_by_server(2) else None
    finally:
        p.close()


def test_never_ending_message_to_a_group_is_closed(make_chat):
    c = make_chat(group_extra=SMALL)
    # 2000 frames of 190 kB: 380 MB unclosed before.
    sent = never_ending(c.grp.port, 190_000, 2000, 30, serves=lambda: assert_group_serves(c.grp))
    assert sent is not None, "the connection was never closed"
    assert sent <= RUNAWAY, f"closed only after {sent} bytes"
    c.grp.wait_for(CLOSED, stream="stderr", timeout=5)
    assert_group_serves(c.grp)
    peak = peak_rss_mib(c.grp)
    assert peak <= BUDGET_MIB + MARGIN_MIB, f"peak RSS {peak:.0f} MiB"
    # Again, and again: each is closed, and the server stays within budget.
    for _ in range(3):
        assert never_ending(c.grp.port, 190_000, 2000, 30) is not None
    assert_group_serves(c.grp)
    peak = peak_rss_mib(c.grp)
    assert peak <= BUDGET_MIB + MARGIN_MIB, f"peak RSS {peak:.0f} MiB"


def test_never_ending_message_to_the_registry_is_closed(cluster):
    reg = cluster.registry(extra=SMALL)
    sent = never_ending(reg.port, 100_000, 4000, 30, serves=lambda: assert_registry_serves(reg))
    assert sent is not None, "the connection was never closed"
    assert sent <= RUNAWAY, f"closed only after {sent} bytes"
    reg.wait_for(CLOSED, stream="stderr", timeout=5)
    assert_registry_serves(reg)
    peak = peak_rss_mib(reg)
    assert peak <= BUDGET_MIB + MARGIN_MIB, f"peak RSS {peak:.0f} MiB"


def test_many_connections_each_under_their_limit_are_bounded_together(make_chat):
    c = make_chat(group_extra=SMALL)
    # 24 connections each holding 1.5 MiB, under the 2 MiB of one: 36 MiB in
    # all, over the 16 MiB of all; the ones holding most are closed.
    peers = []
    frame = b"y" * 150_000
    try:
        for _ in range(24):
            p = RawPeer("127.0.0.1", c.grp.port, source=ATTACKER)
            peers.append(p)
            for _ in range(10):
                if not p.send_frames([frame], last_more=True):
                    break
        c.grp.wait_for(CLOSED, stream="stderr", timeout=5)
        closed = sum(1 for p in peers if p.closed_by_server(0.2))
        assert 8 <= closed < 24, f"{closed} of 24 closed"
        assert_group_serves(c.grp)
        peak = peak_rss_mib(c.grp)
        assert peak <= BUDGET_MIB + MARGIN_MIB, f"peak RSS {peak:.0f} MiB"
    finally:
        for p in peers:
            p.close()


def test_well_behaved_traffic_is_credited_and_never_closed(make_chat):
    """18 MB of requests on one connection, far over its 2 MiB: what is
    delivered is credited, so the look that closes an attacker leaves it be."""
    c = make_chat(group_extra=SMALL)
    s = connect(zmq.DEALER, c.grp.address)
    try:
        body = json.dumps({"action": "joinGroup", "user_uuid": "u" * 60000}).encode()
        for round_ in range(30):
            for _ in range(10):
                s.send_multipart([b"", body])
            for _ in range(10):
                assert s.poll(5000), f"no reply in round {round_}"
                s.recv_multipart()
        # An attacker's close shows a look at every connection was taken since.
        assert never_ending(c.grp.port, 190_000, 2000, 30) is not None
        c.grp.wait_for(CLOSED, stream="stderr", timeout=5)
        assert c.grp.find(r"closed a connection from 127\.0\.0\.1", stream="stderr") is None
        s.send_multipart([b"", json.dumps({"action": "getMessage", "user_uuid": "x"}).encode()])
        assert s.poll(5000), "the well-behaved connection was closed"
        s.recv_multipart()
    finally:
        s.close()

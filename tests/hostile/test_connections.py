"""Connections and descriptors: idle connections from one address, and more
connections than the descriptor limit, leave the servers serving others.

Connections are capped per source address (--max-connections-per-address,
default 256) and in total (--max-connections, at most the descriptor limit
less 64); a connection over a cap is closed as soon as it is accepted,
whether or not it ever speaks ZMTP.
"""
import select
import socket
import time

import pytest

from conftest import (
    Proc, assert_group_serves, assert_registry_serves, binary, free_port,
)
from rawzmtp import RawPeer

ATTACKER = "127.0.0.9"


def open_raw(port, count, source, handshake):
    peers = []
    for _ in range(count):
        try:
            peers.append(RawPeer("127.0.0.1", port, source=source, handshake=handshake,
                                 timeout=2.0))
        except (ConnectionError, socket.timeout, OSError):
            pass  # refused or closed during the greeting: over a cap already
    return peers


def closed_count(peers, expected, timeout=3.0):
    """How many of peers the server has closed, waiting until `expected` are or timeout s."""
    open_ = {p.sock: p for p in peers}
    closed = 0
    deadline = time.monotonic() + timeout
    while open_ and closed < expected and time.monotonic() < deadline:
        ready, _, _ = select.select(list(open_), [], [], max(0.0, deadline - time.monotonic()))
        for sock in ready:
            try:
                data = sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            if not data:
                closed += 1
                open_[sock].reset = True
                del open_[sock]
    return closed


@pytest.mark.parametrize("server", ["group", "registry"])
def test_idle_connections_from_one_address_are_capped(cluster, server):
    cap = ["--max-connections-per-address", "16"]
    reg = cluster.registry(extra=cap if server == "registry" else ())
    target = reg if server == "registry" else cluster.group("alpha", reg.address, extra=cap)
    raw = open_raw(target.port, 40, ATTACKER, handshake=False)
    zmtp = open_raw(target.port, 20, ATTACKER, handshake=True)
    refused = 60 - len(raw) - len(zmtp)
    # 16 may stay; every one past them is closed by the server.
    closed = closed_count(raw + zmtp, 60 - 16 - refused) + refused
    assert closed >= 60 - 16, closed
    target.wait_for(r"over the limit of 16 connections per address", stream="stderr")
    if server == "group":
        assert_group_serves(target)
    else:
        assert_registry_serves(target)
    for p in raw + zmtp:
        p.close()


def test_more_connections_than_descriptors(cluster, tmp_path):
    reg = cluster.registry()
    port = free_port()
    # 256 descriptors: room for 192 connections.
    g = Proc(["prlimit", "--nofile=256:256", binary("group_server"), "alpha",
              f"127.0.0.1:{port}", "--server", reg.address, "--data-dir", str(tmp_path / "d")])
    cluster.procs.append(g)
    g.wait_for(r"serving on", stream="stderr")
    g.port, g.address = port, f"127.0.0.1:{port}"
    peers = []
    for i in range(6):  # 6 addresses x 50 = 300 connections, under the per-address cap
        peers += open_raw(port, 50, f"127.0.0.{10 + i}", handshake=(i % 2 == 0))
    g.wait_for(r"over the limit of 192 connections", stream="stderr")
    closed = closed_count(peers, len(peers) - 192)
    assert closed >= len(peers) - 192
    # The attacker lets half of what it holds go and keeps the rest: the
    # server counts them down and serves a newcomer at once.
    still_open = [p for p in peers if not p.reset]
    for p in still_open[: len(still_open) // 2]:
        p.close()
    assert_group_serves(g)
    for p in still_open[len(still_open) // 2:]:
        p.close()

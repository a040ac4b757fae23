"""Crash safety of group_server: a SUCCESS reply to sendMessage means stored.

Client threads send under load with client_msg_id and retry like Lazy Pirate
(new socket, same id) when a reply is lost. The test SIGKILLs the group at
random points several times and restarts it on the same address and data
directory. At the end every acknowledged message must be present exactly once,
at the seq it was acknowledged with; seqs run 1..N without a gap; each
sender's messages keep their order.
"""
import json
import random
import signal
import threading
import time

import zmq

from conftest import connect, free_port, public_id

THREADS = 4
PER_THREAD = 150
KILLS = 4
DEADLINE_S = 90


class Sender(threading.Thread):
    def __init__(self, index, address, stop_at):
        super().__init__(daemon=True)
        self.index = index
        self.address = address
        self.stop_at = stop_at
        self.acked = {}  # client_msg_id -> (seq, text)
        self.order = []  # client_msg_ids in sending order
        self.retries = 0
        self.error = None
        self.ctx = zmq.Context()

    def exchange(self, body):
        """Lazy Pirate: resend on a fresh socket until a reply comes or time is up."""
        payload = json.dumps(body).encode()
        while time.monotonic() < self.stop_at:
            s = connect(zmq.REQ, self.address, self.ctx)
            try:
                s.send(payload)
                if s.poll(1000):
                    return json.loads(s.recv())
            finally:
                s.close()
            self.retries += 1
        raise TimeoutError(f"sender {self.index}: no reply before the deadline")

    def run(self):
        try:
            user = f"user-{self.index}"
            r = self.exchange({"action": "joinGroup", "user_uuid": user})
            assert r["response"] == "SUCCESS", r
            for i in range(PER_THREAD):
                cid = f"t{self.index}-{i}"
                text = f"message {i} from {self.index}"
                r = self.exchange({"action": "sendMessage", "user_uuid": user, "message": text,
                                   "client_msg_id": cid})
                assert r["response"] == "SUCCESS", r
                self.acked[cid] = (r["seq"], text)
                self.order.append(cid)
        except Exception as e:  # reported by the main thread
            self.error = e
        finally:
            self.ctx.destroy(linger=0)


def total_acked(senders):
    return sum(len(s.acked) for s in senders)


def test_every_acknowledged_message_survives_sigkill_exactly_once(cluster):
    rng = random.Random()
    reg = cluster.registry()
    port = free_port()
    data_dir = str(cluster.tmp_path / "crash-data")
    group = cluster.group("crashy", reg.address, port=port, data_dir=data_dir)
    stop_at = time.monotonic() + DEADLINE_S
    senders = [Sender(i, group.address, stop_at) for i in range(THREADS)]
    for s in senders:
        s.start()

    total = THREADS * PER_THREAD
    for kill in range(KILLS):
        # Kill once the load has moved on by a random amount (bounded by the deadline).
        target = min(total - 1, total_acked(senders) + rng.randint(20, total // (KILLS + 1)))
        while total_acked(senders) < target and time.monotonic() < stop_at:
            if not any(s.is_alive() for s in senders):
                break
            time.sleep(0.005)
        group.signal(signal.SIGKILL)
        group.wait()
        group = cluster.group("crashy", reg.address, port=port, data_dir=data_dir)

    for s in senders:
        s.join(timeout=max(1.0, stop_at - time.monotonic()))
    for s in senders:
        assert s.error is None, s.error
        assert not s.is_alive()
        assert len(s.acked) == PER_THREAD
    assert sum(s.retries for s in senders) > 0, "no kill hit a request in flight; the test proved nothing"

    # Read the whole history back by pages.
    ctx = zmq.Context()
    sock = connect(zmq.REQ, group.address, ctx)
    stored, after = [], 0
    for _ in range(100):
        sock.send(json.dumps({"action": "getMessage", "user_uuid": "user-0", "since_seq": after,
                              "limit": 200}).encode())
        assert sock.poll(5000)
        r = json.loads(sock.recv())
        assert r["response"] == "SUCCESS", r
        stored += r["messages"]
        if not r["more"]:
            break
        after = r["messages"][-1]["seq"]
    ctx.destroy(linger=0)

    seqs = [m["seq"] for m in stored]
    assert seqs == list(range(1, len(stored) + 1)), "seqs must run from 1 without gaps"
    by_seq = {m["seq"]: m for m in stored}
    texts = [m["message"] for m in stored]
    assert len(texts) == len(set(texts)), "a message was stored twice"
    assert len(stored) == total
    for s in senders:
        last_seq = 0
        sender = public_id(group, f"user-{s.index}")  # the same after every restart
        for cid in s.order:
            seq, text = s.acked[cid]
            m = by_seq[seq]
            assert m["message"] == text and m["user_uuid"] == sender, (cid, m)
            assert seq > last_seq, "a sender's messages must keep their order"
            last_seq = seq
    stamps = [m["timestamp"] for m in stored]
    assert stamps == sorted(stamps), "timestamps must not decrease with seq"

#!/usr/bin/python3
"""A group server that behaves like the reference group.py, on the wire and on stdout.

  ref_group.py NAME IP:PORT [--server HOST:PORT]

Registers with the registry ({"action": "register", "group_name", "ip_port"}
over REQ) and expects the bare string SUCCESS, then binds a ROUTER on
tcp://IP:PORT and serves joinGroup / leaveGroup / sendMessage / getMessage with
the reference's replies and stdout lines. It never heartbeats and never
unregisters (the reference does neither).

Where the reference's handler thread dies (leaveGroup by a non-member, a
timestamp not in %Y-%m-%dT%H:%M:%S (a fraction, a bare date, HH:MM:SS),
malformed JSON, a missing field) this program does what the reference does: it
answers that request with nothing and from then on answers NOBODY, while the
process lives on and its socket still accepts connections. It says so once on
stderr ("ref_group: handler thread died: ..."), as Python prints the thread's
traceback. Unknown actions get no reply and the handler goes on, as in the
reference. Messages live in memory only, stamped with datetime.now().isoformat()
(local time, no zone; microseconds left out when they are zero, as Python does).
"""
import argparse
import datetime
import json
import signal
import sys
import time

import zmq

running = True


def stop(_sig, _frame):
    global running
    running = False


def main():
    ap = argparse.ArgumentParser(
        description="Reference-compatible group server (ROUTER). Registers with a registry expecting a "
        "bare SUCCESS, never heartbeats, prints the reference's stdout lines.")
    ap.add_argument("name", help="group name")
    ap.add_argument("ip_port", help="IP:PORT to bind and to register")
    ap.add_argument("--server", default="localhost:5555",
                    help="registry HOST:PORT (default localhost:5555, as the reference)")
    ap.add_argument("--register-timeout", type=float, default=10.0,
                    help="seconds to wait for the registry's SUCCESS before giving up (default 10; "
                    "the reference waits forever)")
    args = ap.parse_args()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    ctx = zmq.Context()
    reg = ctx.socket(zmq.REQ)
    reg.setsockopt(zmq.LINGER, 0)
    server = args.server if args.server.startswith("tcp://") else "tcp://" + args.server
    reg.connect(server)
    reg.send_string(json.dumps({"action": "register", "group_name": args.name, "ip_port": args.ip_port}))
    if not reg.poll(int(args.register_timeout * 1000)):
        print(f"ref_group: no reply from registry {server}", file=sys.stderr, flush=True)
        return 1
    answer = reg.recv()
    reg.close()
    if answer != b"SUCCESS":
        print(f"ref_group: registry answered {answer[:200]!r}, not SUCCESS", file=sys.stderr, flush=True)
        return 1

    endpoint = "tcp://" + args.ip_port
    sock = ctx.socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)
    try:
        sock.bind(endpoint)
    except zmq.ZMQError as e:
        print(f"ref_group: cannot bind {endpoint}: {e}", file=sys.stderr, flush=True)
        return 1
    print(f"ref_group: serving on {endpoint}", file=sys.stderr, flush=True)

    users = set()
    messages = []  # (datetime, {"user_uuid", "message", "timestamp"})

    dead = False
    while running:
        if dead:
            # The handler thread is gone: nothing reads the socket any more.
            time.sleep(0.2)  # until SIGTERM/SIGINT ends the process
            continue
        if not sock.poll(200):
            continue
        frames = sock.recv_multipart()
        reply = None
        try:
            identity, _empty, raw = frames  # a REQ peer: [identity, "", body]
            req = json.loads(raw)
            action = req["action"]
            uuid = req["user_uuid"]
            if action == "joinGroup":
                print(f"JOIN REQUEST FROM {uuid}", flush=True)
                users.add(uuid)
                reply = {"response": "SUCCESS"}
            elif action == "leaveGroup":
                print(f"LEAVE REQUEST FROM {uuid}", flush=True)
                users.remove(uuid)  # KeyError for a non-member, as the reference
                reply = {"response": "SUCCESS"}
            elif action == "sendMessage":
                print(f"MESSAGE SEND FROM {uuid}", flush=True)
                if uuid in users:
                    now = datetime.datetime.now()
                    messages.append((now, {"user_uuid": uuid, "message": req["message"],
                                           "timestamp": now.isoformat()}))
                    reply = {"response": "SUCCESS"}
                else:
                    reply = {"response": "FAILED"}
            elif action == "getMessage":
                print(f"MESSAGE REQUEST FROM {uuid}", flush=True)
                if uuid in users:
                    ts = req["timestamp"]
                    if ts:
                        since = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S")
                        out = [m for t, m in messages if t >= since]
                    else:
                        out = [m for _t, m in messages]
                    reply = {"response": "SUCCESS", "messages": out}
                else:
                    reply = {"response": "FAILED"}
        except Exception as e:  # the reference's handler thread dies here
            print(f"ref_group: handler thread died: {e!r} (on {frames[-1][:80]!r}); "
                  "no request is answered any more", file=sys.stderr, flush=True)
            dead = True
            continue
        if reply is None:
            print(f"ref_group: no reply to unknown request {frames[-1][:80]!r}", file=sys.stderr, flush=True)
            continue
        sock.send_multipart([identity, b"", json.dumps(reply).encode()])

    sock.close()
    ctx.term()
    return 0


if __name__ == "__main__":
    sys.exit(main())

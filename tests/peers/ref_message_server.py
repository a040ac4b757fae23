#!/usr/bin/python3
"""A registry that behaves like the reference message_server.py, on the wire and on stdout.

A REP socket bound on tcp://IP:PORT (the reference binds tcp://*:5555; here the
address is an argument so tests can use free loopback ports).

  {"action": "register", "group_name": N, "ip_port": A}  -> bare string SUCCESS,
                                                            prints "JOIN REQUEST FROM A"
  {"action": "get_group_list", "user_uuid": U}          -> JSON array of "N - A",
                                                            prints "GROUP LIST REQUEST FROM U"

Like the reference it never forgets a group and registering an address again
replaces its name. Anything else (unknown action, malformed JSON, missing
field) gets NO reply, as with the reference, whose REP socket then breaks;
here the socket is replaced instead, so the sender waits forever but later
peers are still served. A line on stderr says what was ignored.
"""
import argparse
import json
import signal
import sys

import zmq

running = True


def stop(_sig, _frame):
    global running
    running = False


def main():
    ap = argparse.ArgumentParser(
        description="Reference-compatible registry (REP socket). Prints the reference's stdout lines; "
        "replies bare SUCCESS to register; unknown requests get no reply.")
    ap.add_argument("address", nargs="?", default="127.0.0.1:5555",
                    help="IP:PORT or PORT to bind (default 127.0.0.1:5555; a bare PORT binds 127.0.0.1)")
    args = ap.parse_args()
    address = args.address
    if address.startswith("tcp://"):
        address = address[len("tcp://"):]
    if ":" not in address:
        address = "127.0.0.1:" + address
    endpoint = "tcp://" + address

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    ctx = zmq.Context()

    def make_socket():
        s = ctx.socket(zmq.REP)
        s.setsockopt(zmq.LINGER, 0)
        s.bind(endpoint)
        return s

    try:
        sock = make_socket()
    except zmq.ZMQError as e:
        print(f"ref_message_server: cannot bind {endpoint}: {e}", file=sys.stderr, flush=True)
        return 1
    groups = {}  # ip_port -> name, insertion ordered like the reference's dict
    print(f"ref_message_server: serving on {endpoint}", file=sys.stderr, flush=True)

    while running:
        if not sock.poll(200):
            continue
        raw = sock.recv()
        reply = None
        try:
            req = json.loads(raw)
            action = req["action"]
            if action == "register":
                ip_port = req["ip_port"]
                groups[ip_port] = req["group_name"]
                print(f"JOIN REQUEST FROM {ip_port}", flush=True)
                reply = b"SUCCESS"
            elif action == "get_group_list":
                print(f"GROUP LIST REQUEST FROM {req['user_uuid']}", flush=True)
                reply = json.dumps([f"{name} - {ip}" for ip, name in groups.items()]).encode()
        except Exception as e:  # the reference dies here; we only drop the request
            print(f"ref_message_server: no reply to {raw[:80]!r}: {e!r}", file=sys.stderr, flush=True)
        if reply is None:
            if running:
                print(f"ref_message_server: no reply to {raw[:80]!r} (not understood)",
                      file=sys.stderr, flush=True)
            sock.close()
            sock = make_socket()
            continue
        sock.send(reply)

    sock.close()
    ctx.term()
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""A user client that behaves like the reference user.py, on the wire and on stdout.

  ref_user.py [--server HOST:PORT] [--timeout SECONDS]

Reads commands from stdin, one a line, words separated by single spaces:
  join_group IP:PORT | leave_group IP:PORT | get_group_list |
  get_messages IP:PORT [TIMESTAMP] (the third word only) | send_message IP:PORT (text lines, then END) | exit
and prints what the reference prints: the `response` of each reply, the group
list one entry a line, messages as `UUID : TEXT (TIMESTAMP)`, the not-a-member
line for a failed get, `Invalid command` otherwise. A fresh uuid1 per run, as
the reference. Requests go over REQ sockets, as the reference's.

Differences, for tests only: the registry is --server (the reference has a
fixed localhost:5555), and a request without a reply within --timeout seconds
prints a diagnostic to stderr and moves on (the reference hangs forever).
"""
import argparse
import json
import sys
import uuid

import zmq


def main():
    ap = argparse.ArgumentParser(description="Reference-compatible user client (reads commands from stdin).")
    ap.add_argument("--server", default="localhost:5555", help="registry HOST:PORT (default localhost:5555)")
    ap.add_argument("--timeout", type=float, default=10.0,
                    help="seconds to wait for a reply before giving up on it (the reference waits forever)")
    args = ap.parse_args()

    user_uuid = str(uuid.uuid1())
    ctx = zmq.Context()

    def request(address, body):
        s = ctx.socket(zmq.REQ)
        s.setsockopt(zmq.LINGER, 0)
        try:
            s.connect("tcp://" + address)
            s.send_string(json.dumps(body))
            if not s.poll(int(args.timeout * 1000)):
                print(f"ref_user: no reply from {address}", file=sys.stderr, flush=True)
                return None
            return s.recv()
        finally:
            s.close()

    def group_request(address, body):
        raw = request(address, body)
        return None if raw is None else json.loads(raw)

    lines = iter(sys.stdin.readline, "")
    for line in lines:
        parts = line.rstrip("\n").split(" ")
        cmd = parts[0]
        if cmd == "exit":
            break
        elif cmd == "join_group" and len(parts) == 2:
            reply = group_request(parts[1], {"action": "joinGroup", "user_uuid": user_uuid})
            if reply is not None:
                print(reply["response"], flush=True)
        elif cmd == "leave_group" and len(parts) == 2:
            reply = group_request(parts[1], {"action": "leaveGroup", "user_uuid": user_uuid})
            if reply is not None:
                print(reply["response"], flush=True)
        elif cmd == "get_group_list" and len(parts) == 1:
            raw = request(args.server, {"action": "get_group_list", "user_uuid": user_uuid})
            if raw is not None:
                for entry in json.loads(raw):
                    print(entry, flush=True)
        elif cmd == "get_messages" and len(parts) >= 2:
            # The third word, whatever follows: "YYYY-MM-DD HH:MM:SS" arrives as a bare date.
            timestamp = parts[2] if len(parts) >= 3 else None
            reply = group_request(parts[1], {"action": "getMessage", "user_uuid": user_uuid,
                                             "timestamp": timestamp})
            if reply is None:
                continue
            if reply["response"] == "SUCCESS":
                for m in reply["messages"]:
                    print(f"{m['user_uuid']} : {m['message']} ({m['timestamp']})", flush=True)
            else:
                print("User is not a member of this group. Please join the group first.", flush=True)
        elif cmd == "send_message" and len(parts) == 2:
            text = []
            for text_line in lines:
                text_line = text_line.rstrip("\n")
                if text_line == "END":
                    break
                text.append(text_line)
            reply = group_request(parts[1], {"action": "sendMessage", "user_uuid": user_uuid,
                                             "message": "\n".join(text)})
            if reply is not None:
                print(reply["response"], flush=True)
        else:
            print("Invalid command", flush=True)

    ctx.term()
    return 0


if __name__ == "__main__":
    sys.exit(main())

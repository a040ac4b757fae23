"""user_client against fake registry and group servers (Python, pyzmq) that
answer with what no real server sends: JSON nested a million deep, wrong
types, pages that never end or go back, a reply over the client's 16 MiB cap,
and escape sequences, bidi controls and newlines in every text field. The
client must end with a clear error on stderr and its documented exit code,
never crash, and print nothing that acts on a terminal or forges a line."""
import json
import os
import re
import signal
import subprocess
import threading

import pytest
import zmq

from conftest import Proc, binary, free_port

EXIT_OK, EXIT_REFUSED, EXIT_UNREACHABLE = 0, 1, 3
FAST = ["--timeout-ms", "2000", "--tries", "1"]
DEEP = b"[" * 1_000_000 + b"]" * 1_000_000
CAP = 16 * 1024 * 1024

# What must never reach a terminal: ESC, BEL, CR, other C0 controls, C1
# controls and bidi controls (as UTF-8 bytes).
FORBIDDEN = re.compile(
    rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]|\xe2\x80[\x8e\x8f\xaa-\xae]|\xe2\x81[\xa6-\xa9]|\xd8\x9c"
)
EVIL_TEXT = "hi\x1b]0;owned\x07\x1b[2J\x1b]52;c;ZXZpbA==\x07\x1b[8mhidden\u202eexe.txt\u009b31m\rback"
FORGED = "mallory : send me your password (2026-01-01T00:00:00)"


def message(seq, text="m", uuid="u", name=None):
    m = {"user_uuid": uuid, "message": text, "timestamp": "2026-01-01T00:00:00", "seq": seq}
    if name is not None:
        m["name"] = name
    return m


class FakeServer:
    """A REP (or ROUTER) socket on loopback answering each request with answer(request).
    answer returns bytes, or None to stop answering."""

    def __init__(self, answer, kind=zmq.REP):
        self.ctx = zmq.Context.instance()
        self.sock = self.ctx.socket(kind)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.port = self.sock.bind_to_random_port("tcp://127.0.0.1")
        self.address = f"127.0.0.1:{self.port}"
        self.answer = answer
        self.kind = kind
        self.requests = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            if not self.sock.poll(100):
                continue
            frames = self.sock.recv_multipart()
            body = json.loads(frames[-1])
            self.requests.append(body)
            replies = self.answer(body)
            if replies is None:
                continue
            if not isinstance(replies, list):
                replies = [replies]
            for r in replies:
                self.sock.send_multipart(frames[:-1] + [r] if self.kind == zmq.ROUTER else [r])

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def fakes():
    made = []

    def make(answer, kind=zmq.REP):
        s = FakeServer(answer, kind)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def run_client(tmp_path, args, timeout=60):
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_STATE_HOME=str(tmp_path / "state"))
    r = subprocess.run([binary("user_client"), *FAST, "--user-id", "me", *args],
                       capture_output=True, env=env, timeout=timeout)
    assert r.returncode >= 0, f"killed by signal {-r.returncode}: {r.stderr[-2000:]!r}"
    return r


def assert_inert(output):
    m = FORBIDDEN.search(output)
    assert m is None, f"{m.group()!r} at {m.start()} in {output[max(0, m.start() - 40):m.start() + 40]!r}"
    assert b"\xff" not in output
    output.decode("utf-8")  # valid UTF-8 throughout


def get_answering(pages):
    """A group answering getMessage with the given replies in turn (the last one repeated)."""
    state = {"n": 0}

    def answer(req):
        i = min(state["n"], len(pages) - 1)
        state["n"] += 1
        p = pages[i]
        return p if isinstance(p, bytes) else json.dumps(p).encode()

    return answer


@pytest.mark.parametrize("reply,expected", [
    (DEEP, "nesting deeper than 32 levels"),
    (b'{"response":"SUCCESS","messages":' + DEEP + b"}", "nesting deeper than 32 levels"),
    (b'{"response":"SUCCESS","messages":[],"last_seq":1e400}', "number overflow"),
    (json.dumps({"response": "SUCCESS", "messages": [message(1, uuid=5)]}).encode(),
     '"user_uuid" of a message is not a string'),
    (json.dumps({"response": "SUCCESS", "messages": [message(1, text=["x"])]}).encode(),
     '"message" of a message is not a string'),
    (json.dumps({"response": "SUCCESS", "messages": [message("1")]}).encode(),
     '"seq" of a message is not an integer'),
    (json.dumps({"response": "SUCCESS", "messages": [message(1)], "more": "yes"}).encode(),
     '"more" is not true or false'),
    (json.dumps({"response": 1}).encode(), 'no "response" field'),
    (b"\xff\xfe garbage", "not JSON"),
], ids=["deep", "deep-messages", "1e400", "uuid-type", "text-type", "seq-type", "more-type",
        "response-type", "bytes"])
def test_get_with_an_unreadable_reply_exits_3_with_a_clear_error(tmp_path, fakes, reply, expected):
    g = fakes(get_answering([reply]))
    r = run_client(tmp_path, ["get", g.address])
    assert r.returncode == EXIT_UNREACHABLE, r.stderr
    err = r.stderr.decode()
    assert "unexpected reply from " + g.address in err and expected in err, err
    assert r.stdout == b""
    assert_inert(r.stderr)


def test_pages_that_go_back_stop_with_an_error_after_what_was_printed(tmp_path, fakes):
    first = {"response": "SUCCESS", "messages": [message(1), message(2)], "more": True, "last_seq": 9}
    g = fakes(get_answering([first]))  # the same page forever
    r = run_client(tmp_path, ["get", g.address])
    assert r.returncode == EXIT_UNREACHABLE, r.stderr
    assert "do not advance (seq 1 after 2)" in r.stderr.decode(), r.stderr
    assert len(r.stdout.splitlines()) == 2  # the first page, printed once
    assert len(g.requests) == 2


def test_a_page_that_says_more_but_holds_nothing_stops(tmp_path, fakes):
    g = fakes(get_answering([{"response": "SUCCESS", "messages": [], "more": True}]))
    r = run_client(tmp_path, ["get", g.address])
    assert r.returncode == EXIT_UNREACHABLE, r.stderr
    assert "says more messages follow but holds none" in r.stderr.decode()
    assert len(g.requests) == 1


def test_a_page_larger_than_the_limit_asked_for_is_refused(tmp_path, fakes):
    page = {"response": "SUCCESS", "messages": [message(i) for i in range(1, 6)], "more": False}
    g = fakes(get_answering([page]))
    r = run_client(tmp_path, ["get", g.address, "--limit", "2"])
    assert r.returncode == EXIT_UNREACHABLE, r.stderr
    assert "a page of 5 messages, more than the 2 asked for" in r.stderr.decode()


def test_endless_pages_are_printed_as_they_come(tmp_path, fakes):
    """The group holds back its third page until the first page is on the
    client's stdout: the client prints pages as they arrive, not at the end."""
    first_printed = threading.Event()
    served = {"n": 0}

    def answer(req):
        n = served["n"]
        served["n"] += 1
        if n == 2:
            first_printed.wait(20)
        since = req.get("since_seq") or 0
        msgs = [message(since + k + 1, text=f"p{n}m{k}") for k in range(3)]
        return json.dumps({"response": "SUCCESS", "messages": msgs, "more": n < 4}).encode()

    g = fakes(answer)
    env = dict(XDG_CONFIG_HOME=str(tmp_path / "config"))
    p = Proc([binary("user_client"), "--timeout-ms", "30000", "--tries", "1", "--user-id", "me",
              "get", g.address], env=env)
    try:
        p.wait_for(r"^u : p0m0 ", timeout=15)
        first_printed.set()
        p.wait_for(r"^u : p4m2 ", timeout=15)
        assert p.wait(timeout=15) == EXIT_OK
    finally:
        first_printed.set()
        p.kill()
    assert len(p.out()) == 15


def test_a_reply_over_the_cap_is_a_clear_error_not_a_timeout(tmp_path, fakes):
    big = b'{"response":"SUCCESS","messages":[{"user_uuid":"u","message":"' + \
        b"x" * (CAP + 1024) + b'","timestamp":"t"}]}'
    g = fakes(get_answering([big]))
    r = run_client(tmp_path, ["get", g.address], timeout=60)
    assert r.returncode == EXIT_UNREACHABLE, r.stderr
    err = r.stderr.decode()
    assert f"no usable reply from {g.address}" in err, err
    assert f"a reply larger than {CAP} bytes is refused" in err, err


def test_escape_sequences_and_newlines_in_messages_are_shown_inert(tmp_path, fakes):
    msgs = [
        message(1, text=EVIL_TEXT, uuid="\x1b[31muuid\u202e", name=None),
        message(2, text="hello\n" + FORGED, name="  \x1b]0;t\x07Ann\u2066"),
        message(3, text="h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c", name="    mallory"),
    ]
    g = fakes(get_answering([{"response": "SUCCESS", "messages": msgs, "more": False}]))
    r = run_client(tmp_path, ["get", g.address])
    assert r.returncode == EXIT_OK, r.stderr
    assert_inert(r.stdout)
    lines = r.stdout.decode().splitlines()
    assert FORGED not in lines
    assert "    " + FORGED + " (2026-01-01T00:00:00)" in lines  # the newline continues, indented
    assert lines[0].startswith("\\x1b[31muuid\\u202e : hi\\x1b]0;owned\\x07\\x1b[2J"), lines[0]
    assert "\\u009b31m\\x0dback" in lines[0]
    assert lines[1].startswith("\\x20 \\x1b]0;t\\x07Ann\\u2066 : hello"), lines[1]
    assert lines[3] == "\\x20   mallory : h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c (2026-01-01T00:00:00)"
    # --json: exact JSON that is inert too.
    r = run_client(tmp_path, ["get", g.address, "--json"])
    assert r.returncode == EXIT_OK, r.stderr
    assert_inert(r.stdout)
    decoded = [json.loads(line) for line in r.stdout.decode().splitlines()]
    assert [d["message"] for d in decoded] == [m["message"] for m in msgs]
    assert decoded[0]["user_uuid"] == msgs[0]["user_uuid"]


def test_a_refusal_text_with_escapes_is_shown_inert(tmp_path, fakes):
    g = fakes(lambda req: json.dumps({"response": "FAILED", "error": "no\x1b[2J\nerror: forged"}).encode())
    r = run_client(tmp_path, ["join", g.address])
    assert r.returncode == EXIT_REFUSED
    assert_inert(r.stderr)
    assert r.stderr.decode().splitlines() == [f"error: {g.address} refused: no\\x1b[2J\\x0aerror: forged"]


def test_a_registry_list_with_escapes_and_newlines_is_shown_inert(tmp_path, fakes):
    names = ["g\x1b]0;t\x07 - 127.0.0.1:1", "a\nb - 127.0.0.1:2", "\u202eevil - 127.0.0.1:3"]
    reg = fakes(lambda req: json.dumps(names).encode())
    r = run_client(tmp_path, ["--server", reg.address, "groups"])
    assert r.returncode == EXIT_OK, r.stderr
    assert_inert(r.stdout)
    assert r.stdout.decode().splitlines() == [
        "g\\x1b]0;t\\x07 - 127.0.0.1:1", "a\\x0ab - 127.0.0.1:2", "\\u202eevil - 127.0.0.1:3"]


@pytest.mark.parametrize("reply,expected", [
    (DEEP, "nesting deeper than 32 levels"),
    (b'["g - 127.0.0.1:1", 1e400]', "number overflow"),
    (b'["g - 127.0.0.1:1", {"a": 1}]', "a group list entry is not a string"),
], ids=["deep", "1e400", "entry-type"])
def test_an_unreadable_registry_list_exits_3(tmp_path, fakes, reply, expected):
    reg = fakes(lambda req: reply)
    r = run_client(tmp_path, ["--server", reg.address, "groups"])
    assert r.returncode == EXIT_UNREACHABLE, r.stderr
    assert expected in r.stderr.decode()
    assert r.stdout == b""


def test_the_shell_over_a_pipe_survives_garbage_and_goes_on(tmp_path, fakes):
    g = fakes(get_answering([DEEP, json.dumps({"response": "SUCCESS", "messages": [
        message(1, text="line1\nline2\x1b[2J")]}).encode()]))
    script = f"get_messages {g.address}\nget_messages {g.address}\nexit\n"
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "config"))
    r = subprocess.run([binary("user_client"), *FAST, "--user-id", "me", "shell"],
                       input=script.encode(), capture_output=True, env=env, timeout=60)
    assert r.returncode == EXIT_OK, r.stderr
    assert "nesting deeper than 32 levels" in r.stderr.decode()
    assert_inert(r.stdout)
    assert r.stdout.decode().splitlines() == ["u : line1", "    line2\\x1b[2J (2026-01-01T00:00:00)"]


def test_follow_reports_and_skips_garbage_and_never_aborts(tmp_path, fakes):
    """A fake group on a ROUTER socket: the follow reply, then pushes with wrong
    types and garbage, then a good push carrying escape sequences."""
    evil_pushes = [
        DEEP,
        b"\xff",
        json.dumps({"event": "message", "seq": 1, "user_uuid": 7, "message": "m", "timestamp": "t"}).encode(),
        json.dumps({"response": ["x"]}).encode(),
        json.dumps({"event": "message", "seq": 1, "user_uuid": "u", "message": EVIL_TEXT + "\n" + FORGED,
                    "timestamp": "t"}).encode(),
    ]
    sent = {"done": False}

    def answer(req):
        if req.get("action") == "follow" and not sent["done"]:
            sent["done"] = True
            return [json.dumps({"response": "SUCCESS", "last_seq": 0}).encode()] + evil_pushes
        return json.dumps({"response": "SUCCESS", "last_seq": 1}).encode()

    g = fakes(answer, kind=zmq.ROUTER)
    env = dict(XDG_CONFIG_HOME=str(tmp_path / "config"))
    p = Proc([binary("user_client"), "--user-id", "me", "follow", g.address], env=env)
    try:
        p.wait_for(r"^    mallory : send me", timeout=15)
        p.wait_for(r"skipped a push: \"user_uuid\" of a message is not a string", stream="stderr")
        assert p.find(r"skipped a frame that is not JSON: nesting deeper than 32", stream="stderr")
        assert p.popen.poll() is None  # still following
        p.signal(signal.SIGTERM)
        assert p.wait(timeout=10) == EXIT_OK
    finally:
        p.kill()
    out = "\n".join(p.out()).encode()
    assert_inert(out)
    assert_inert("\n".join(p.out("stderr")).encode())
    assert FORGED not in p.out()

"""Hostile request bodies against the real group_server and message_server:
numbers beyond a double, nesting as deep as the request limit allows (the
decoders' unit tests go a million deep), wrong types, bad UTF-8. Each
gets a FAILED reply naming the problem, and the server keeps serving. A uuid
or text carrying a newline or an escape sequence does not forge or colour a
line on the server's stdout."""
import json

import pytest

from conftest import assert_group_serves, assert_registry_serves, request

# As deep as fits under the group's request limit (128 KiB); the registry's is 64 KiB.
DEEP = b"[" * 60_000 + b"]" * 60_000
HUGE = b"9" * 400


def failed_error(reply):
    r = json.loads(reply)
    assert r["response"] == "FAILED", r
    return r["error"]


GROUP_BODIES = [
    (b'{"action":"joinGroup","user_uuid":"x","pad":1e400}', "malformed JSON: number overflow"),
    (b'{"action":"joinGroup","user_uuid":"x","pad":-1e400}', "malformed JSON: number overflow"),
    (b'{"action":"joinGroup","user_uuid":"x","pad":' + HUGE + b"}", "malformed JSON: number overflow"),
    (b'{"action":"getMessage","user_uuid":"x","since_seq":' + HUGE + b"}",
     "malformed JSON: number overflow"),
    (b'{"action":"getMessage","user_uuid":"x","limit":1e400}', "malformed JSON: number overflow"),
    (b'{"action":"getMessage","user_uuid":"x","since_seq":' + b"9" * 300 + b"}",
     "field 'since_seq' must be an integer"),
    (DEEP, "malformed JSON: nesting deeper than 32 levels"),
    (b'{"action":"joinGroup","user_uuid":"x","pad":' + DEEP + b"}",
     "malformed JSON: nesting deeper than 32 levels"),
    (b'{"action":"joinGroup","user_uuid":5}', "field 'user_uuid' must be a string"),
    (b'{"action":["joinGroup"],"user_uuid":"x"}', "field 'action' must be a string"),
    (b'{"action":"sendMessage","user_uuid":"x","message":{"a":1}}', "field 'message' must be a string"),
    (b'{"action":"joinGroup","user_uuid":"x","name":true}', "field 'name' must be a string"),
    (b'{"action":"getMessage","user_uuid":"x","limit":"5"}', "field 'limit' must be an integer"),
    (b'{"action":"sendMessage","user_uuid":"x","message":"\xff\xfe"}', "malformed JSON: parse error"),
    (b'{"action":"sendMessage","user_uuid":"x","message":"raw \x1b"}', "malformed JSON: parse error"),
]


@pytest.mark.parametrize("body,expected", GROUP_BODIES, ids=range(len(GROUP_BODIES)))
def test_a_hostile_group_request_is_refused_and_the_group_serves(chat, body, expected):
    error = failed_error(request(chat.grp.address, body, timeout=10))
    assert error.startswith(expected), error
    assert len(error) < 400, error  # a quoted number is cut
    assert_group_serves(chat.grp)


REGISTRY_BODIES = [
    (b'{"action":"get_group_list","user_uuid":"x","pad":1e400}', "malformed JSON: number overflow"),
    (b'{"action":"get_group_list","user_uuid":"x","pad":-1e400}', "malformed JSON: number overflow"),
    (b'{"action":"register","group_name":"g","ip_port":"127.0.0.1:1","heartbeat":' + HUGE + b"}",
     "malformed JSON: number overflow"),
    (b'{"action":"get_group_list","user_uuid":"x","pad":' + b"[" * 30_000 + b"]" * 30_000 + b"}",
     "malformed JSON: nesting deeper than 32 levels"),
    (b'{"action":"get_group_list","user_uuid":5}', "field 'user_uuid' must be a string"),
    (b'{"action":"register","group_name":{},"ip_port":"127.0.0.1:1"}',
     "field 'group_name' must be a string"),
    (b'{"action":"register","group_name":"g","ip_port":"127.0.0.1:1","heartbeat":"yes"}',
     "field 'heartbeat' must be true or false"),
    (b'{"action":"get_group_list","user_uuid":"\xc3\x28"}', "malformed JSON: parse error"),
]


@pytest.mark.parametrize("body,expected", REGISTRY_BODIES, ids=range(len(REGISTRY_BODIES)))
def test_a_hostile_registry_request_is_refused_and_the_registry_serves(cluster, body, expected):
    reg = cluster.registry()
    error = failed_error(request(reg.address, body, timeout=10))
    assert error.startswith(expected), error
    assert_registry_serves(reg)


FORGED = "MESSAGE SEND FROM mallory"


def no_escape_and_no_forged_line(lines, forged):
    for line in lines:
        assert "\x1b" not in line and "\x07" not in line and "\r" not in line, line
        assert "\u202e" not in line and "\x9b" not in line, line
        assert not forged or line != forged, line


def test_a_uuid_with_a_newline_or_an_escape_cannot_forge_a_group_stdout_line(chat):
    evil = "evil\nMESSAGE SEND FROM mallory"
    for uuid in (evil, "\x1b]0;owned\x07\x1b[2J", "bidi\u202egnp.exe", "c1\u009b31m"):
        r = json.loads(request(chat.grp.address, {"action": "joinGroup", "user_uuid": uuid}))
        assert r["response"] == "SUCCESS", r
    # The last join's line is there, shown visibly; so is the first one, on one line.
    chat.grp.wait_for(r"^JOIN REQUEST FROM c1\\u009b31m$")
    assert chat.grp.find(r"^JOIN REQUEST FROM evil\\x0aMESSAGE SEND FROM mallory$")
    assert chat.grp.find(r"^JOIN REQUEST FROM \\x1b\]0;owned\\x07\\x1b\[2J$")
    assert chat.grp.find(r"^JOIN REQUEST FROM bidi\\u202egnp.exe$")
    no_escape_and_no_forged_line(chat.grp.out(), "MESSAGE SEND FROM mallory")
    assert_group_serves(chat.grp)


def test_a_uuid_with_a_newline_cannot_forge_a_registry_stdout_line(cluster):
    reg = cluster.registry()
    for uuid in ("u\nJOIN REQUEST FROM 10.0.0.1:1", "\x1b]52;c;ZXZpbA==\x07"):
        r = json.loads(request(reg.address, {"action": "get_group_list", "user_uuid": uuid}))
        assert isinstance(r, list), r
    reg.wait_for(r"^GROUP LIST REQUEST FROM \\x1b\]52;c;ZXZpbA==\\x07$")
    assert reg.find(r"^GROUP LIST REQUEST FROM u\\x0aJOIN REQUEST FROM 10\.0\.0\.1:1$")
    no_escape_and_no_forged_line(reg.out(), "JOIN REQUEST FROM 10.0.0.1:1")
    # An unknown action quoting an escape is refused; the log line is visible too.
    error = failed_error(request(reg.address, {"action": "\x1b[2Jx", "user_uuid": "u"}))
    assert error.startswith("unknown action"), error
    reg.wait_for(r"refused request: unknown action '\\x1b\[2Jx'", stream="stderr")
    no_escape_and_no_forged_line(reg.out("stderr"), "")
    assert_registry_serves(reg)

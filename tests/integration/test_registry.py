"""message_server on the wire: the reference's requests and replies, our additions,
every kind of bad input (each answered FAILED while the server keeps serving),
clean shutdown, bind failure and the command line."""
import json
import signal
import subprocess

import pytest
import zmq

from conftest import binary, connect, free_port, request, request_json


def serves(reg):
    """The registry still answers a well-formed request."""
    assert isinstance(request_json(reg.address, {"action": "get_group_list", "user_uuid": "probe"}), list)


def failed_with(reply, part):
    body = json.loads(reply)
    assert body["response"] == "FAILED", body
    assert part in body["error"], body
    return body["error"]


def test_reference_register_gets_bare_success_and_prints_two_lines(cluster):
    reg = cluster.registry()
    addr = f"127.0.0.1:{free_port()}"
    reply = request(reg.address, {"action": "register", "group_name": "chat", "ip_port": addr})
    assert reply == b"SUCCESS"
    reg.wait_for(rf"^JOIN REQUEST FROM {addr}$")
    reg.wait_for(r"^SUCCESS$")
    out = reg.out()
    assert out[out.index(f"JOIN REQUEST FROM {addr}") + 1] == "SUCCESS"


def test_heartbeat_register_gets_json_with_intervals(cluster):
    reg = cluster.registry(extra=["--expiry-ms", "4000", "--heartbeat-ms", "800"])
    addr = f"127.0.0.1:{free_port()}"
    reply = request_json(reg.address, {"action": "register", "group_name": "hb", "ip_port": addr,
                                       "heartbeat": True})
    assert reply == {"response": "SUCCESS", "heartbeat_ms": 800, "expiry_ms": 4000}
    reg.wait_for(rf"^JOIN REQUEST FROM {addr}$")


def test_get_group_list_format_order_and_stdout_line(cluster):
    reg = cluster.registry()
    a, b = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    for name, addr in (("first", a), ("second", b)):
        request_json(reg.address, {"action": "register", "group_name": name, "ip_port": addr,
                                   "heartbeat": True})
    reply = request_json(reg.address, {"action": "get_group_list", "user_uuid": "uuid-7"})
    assert reply == [f"first - {a}", f"second - {b}"]
    reg.wait_for(r"^GROUP LIST REQUEST FROM uuid-7$")


def test_heartbeat_and_unregister(cluster):
    reg = cluster.registry()
    addr = f"127.0.0.1:{free_port()}"
    ident = {"group_name": "hb", "ip_port": addr}
    unknown = request_json(reg.address, {"action": "heartbeat", **ident})
    assert unknown["response"] == "FAILED" and unknown["reregister"] is True
    assert unknown["error"].startswith("not registered")
    request_json(reg.address, {"action": "register", "heartbeat": True, **ident})
    assert request_json(reg.address, {"action": "heartbeat", **ident}) == {"response": "SUCCESS"}
    assert request_json(reg.address, {"action": "unregister", **ident}) == {"response": "SUCCESS"}
    reg.wait_for(rf"^LEAVE REQUEST FROM {addr}$")
    assert request_json(reg.address, {"action": "get_group_list", "user_uuid": "u"}) == []
    # Unregistering again is harmless.
    assert request_json(reg.address, {"action": "unregister", **ident}) == {"response": "SUCCESS"}


@pytest.mark.parametrize("body,part", [
    ({"action": "dance"}, "unknown action 'dance'"),
    (b"{not json", "malformed JSON"),
    (b"\xff\xfe", "malformed JSON"),
    ([1, 2], "request must be a JSON object"),
    (b'"register"', "request must be a JSON object"),
    ({}, "missing field 'action'"),
    ({"action": 3}, "field 'action' must be a string"),
    ({"action": "register", "ip_port": "127.0.0.1:5560"}, "missing field 'group_name'"),
    ({"action": "register", "group_name": "x"}, "missing field 'ip_port'"),
    ({"action": "register", "group_name": "x", "ip_port": 5560}, "field 'ip_port' must be a string"),
    ({"action": "register", "group_name": "x", "ip_port": "nowhere"}, "ip_port"),
    ({"action": "register", "group_name": "", "ip_port": "127.0.0.1:5560"}, "must not be empty"),
    ({"action": "get_group_list"}, "missing field 'user_uuid'"),
    ({"action": "get_group_list", "user_uuid": 12}, "field 'user_uuid' must be a string"),
    (b"", "empty frame"),
])
def test_bad_request_gets_failed_with_error_and_server_keeps_serving(cluster, body, part):
    reg = cluster.registry()
    failed_with(request(reg.address, body), part)
    serves(reg)
    reg.wait_for(r"^GROUP LIST REQUEST FROM probe$")
    # Refusals print nothing.
    assert reg.out() == [f"Starting message server on port {reg.port}...",
                         "GROUP LIST REQUEST FROM probe"]


def test_multi_frame_request_is_refused(cluster):
    reg = cluster.registry()
    s = connect(zmq.REQ, reg.address)
    s.send_multipart([b'{"action":"get_group_list",', b'"user_uuid":"u"}'])
    assert s.poll(3000)
    failed_with(s.recv(), "2 frames")
    s.close()
    serves(reg)


def test_dealer_without_delimiter_gets_a_reply(cluster):
    reg = cluster.registry()
    s = connect(zmq.DEALER, reg.address)
    s.send(json.dumps({"action": "get_group_list", "user_uuid": "d"}).encode())
    assert s.poll(3000)
    assert json.loads(s.recv()) == []
    s.close()


def test_oversize_request_is_refused_with_its_size(cluster):
    reg = cluster.registry()
    big = json.dumps({"action": "get_group_list", "user_uuid": "x" * (100 * 1024)}).encode()
    failed_with(request(reg.address, big), f"request of {len(big)} bytes is over the limit of 65536 bytes")
    serves(reg)


def test_frame_over_hard_cap_drops_only_that_connection(cluster):
    reg = cluster.registry()
    s = connect(zmq.DEALER, reg.address)
    s.send(b"x" * (17 * 1024 * 1024))
    serves(reg)  # answered while the oversized connection is dropped
    assert not s.poll(200)
    s.close()


def test_sigterm_and_sigint_exit_cleanly_printing_the_references_lines(cluster):
    for sig in (signal.SIGTERM, signal.SIGINT):
        reg = cluster.registry()
        serves(reg)
        reg.signal(sig)
        assert reg.wait(timeout=5) == 0
        # As the reference prints them, with the port bound; diagnostics stay on stderr.
        assert reg.out() == [f"Starting message server on port {reg.port}...",
                             "GROUP LIST REQUEST FROM probe",
                             "Shutting down server...", "Server shut down."]
        assert not [line for line in reg.out("stderr")
                    if "Starting message server" in line or "Server shut down" in line]


def test_bind_failure_exits_nonzero_with_a_clear_message(cluster):
    reg = cluster.registry()
    second = subprocess.run([binary("message_server"), "--bind", reg.address],
                            capture_output=True, text=True, timeout=10)
    assert second.returncode != 0
    assert f"cannot bind tcp://{reg.address}: Address already in use; is another message_server running?" \
        in second.stderr
    serves(reg)


def test_bad_bind_address_is_a_usage_error():
    r = subprocess.run([binary("message_server"), "--bind", "no-port-here"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 2
    assert "bad address" in r.stderr


def test_bind_from_environment_and_tcp_prefix(cluster):
    port = free_port()
    p = cluster.start("message_server", [], env={"GROUPCHAT_BIND": f"tcp://127.0.0.1:{port}"})
    p.wait_for(rf"serving on tcp://127.0.0.1:{port}", stream="stderr")
    assert request_json(f"127.0.0.1:{port}", {"action": "get_group_list", "user_uuid": "e"}) == []


def test_help_and_version():
    h = subprocess.run([binary("message_server"), "--help"], capture_output=True, text=True, timeout=10)
    assert h.returncode == 0
    for flag in ("--bind", "--expiry-ms", "--heartbeat-ms", "--version", "*:5555", "--max-groups",
                 "--max-groups-per-source", "--allow-any-registrant", "--rewatch-ms",
                 "--max-rewatched"):
        assert flag in h.stdout
    v = subprocess.run([binary("message_server"), "--version"], capture_output=True, text=True, timeout=10)
    assert v.returncode == 0
    assert v.stdout.startswith("message_server ")

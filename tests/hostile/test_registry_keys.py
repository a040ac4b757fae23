"""A curve registry against hostile peers: clients without CURVE or with the
wrong server key, a key registering curve groups nobody serves (each costs a
proof connection), and a key binding name after name. Each is refused or
dropped, within the registry's caps, and the registry keeps serving."""
import json
import subprocess

import zmq

from conftest import Keys, binary, connect, curve_connect, curve_request, free_port, free_ports


def start_curve_registry(cluster, extra=()):
    data = cluster.tmp_path / "registry-data"
    reg = cluster.registry(extra=["--security", "curve", "--data-dir", str(data), *extra])
    out = subprocess.run([binary("message_server"), "--data-dir", str(data), "--bind",
                          reg.address, "--public-key"], capture_output=True, text=True,
                         timeout=10)
    assert out.returncode == 0, out.stderr
    reg.key = out.stdout.strip()
    reg.data_dir = data
    return reg


def curve_socket(reg, keys, server_key=None):
    return curve_connect(zmq.REQ, reg.address, server_key or reg.key, keys)


def ask(reg, body, keys=None, timeout=5.0):
    try:
        reply = curve_request(reg.address, reg.key, body, keys, timeout)
    except TimeoutError:
        raise AssertionError("the curve registry did not answer")
    return reply if reply == b"SUCCESS" else json.loads(reply)


def assert_curve_registry_serves(reg):
    assert ask(reg, {"action": "list_groups"})["response"] == "SUCCESS"


def test_clients_without_curve_or_with_another_key_get_nothing_and_it_keeps_serving(cluster):
    reg = start_curve_registry(cluster)
    sockets = []
    try:
        for i in range(100):  # half NULL, half CURVE expecting another server key
            if i % 2:
                s = connect(zmq.REQ, reg.address)
            else:
                s = curve_socket(reg, Keys(), server_key=Keys().public)
            s.send(b'{"action": "list_groups"}')
            sockets.append(s)
        assert_curve_registry_serves(reg)
        assert not any(s.poll(0) for s in sockets), "a client without the key was answered"
    finally:
        for s in sockets:
            s.close()
    assert_curve_registry_serves(reg)


def test_curve_groups_nobody_serves_are_dropped_within_the_caps(cluster):
    # Heartbeat expiry far away: the failed proofs drop them.
    reg = start_curve_registry(cluster, extra=["--max-groups", "40", "--max-groups-per-source",
                                               "40", "--expiry-ms", "60000"])
    liar = Keys()
    ports = free_ports(40)
    for i, port in enumerate(ports):
        reply = ask(reg, {"action": "register", "group_name": f"g{i}", "ip_port":
                          f"127.0.0.1:{port}", "heartbeat": True, "security": "curve"}, liar)
        assert reply["response"] == "SUCCESS", reply
    reply = ask(reg, {"action": "register", "group_name": "one-more", "ip_port":
                      f"127.0.0.1:{free_port()}", "heartbeat": True, "security": "curve"}, liar)
    assert reply["response"] == "FAILED" and "--max-groups" in reply["error"], reply
    assert ask(reg, {"action": "list_groups"})["groups"] == []
    reg.wait_for(rf"dropped 'g39' at 127.0.0.1:{ports[-1]}: no CURVE handshake", stream="stderr",
                 timeout=15)
    assert reg.count(r"no CURVE handshake", stream="stderr") == 40
    assert reg.find(r"cannot watch", stream="stderr") is None
    assert ask(reg, {"action": "list_groups"})["groups"] == []
    # Their room is free again.
    reply = ask(reg, {"action": "register", "group_name": "g0", "ip_port":
                      f"127.0.0.1:{ports[0]}", "heartbeat": True}, liar)
    assert reply["response"] == "SUCCESS", reply


def test_a_key_binding_name_after_name_stops_at_the_cap(cluster):
    reg = start_curve_registry(cluster, extra=["--max-bound-names", "5"])
    greedy = Keys()
    address = f"127.0.0.1:{free_port()}"
    for i in range(5):
        ident = {"group_name": f"n{i}", "ip_port": address}
        assert ask(reg, {"action": "register", **ident, "heartbeat": True}, greedy)[
            "response"] == "SUCCESS"
        assert ask(reg, {"action": "unregister", **ident}, greedy)["response"] == "SUCCESS"
    reply = ask(reg, {"action": "register", "group_name": "n5", "ip_port": address,
                      "heartbeat": True}, greedy)
    assert reply["response"] == "FAILED" and "--max-bound-names" in reply["error"], reply
    lines = [line for line in (reg.data_dir / f"registry_{reg.port}" / "group-keys")
             .read_text().splitlines() if line and not line.startswith("#")]
    assert len(lines) == 5
    # A name already bound still registers.
    assert ask(reg, {"action": "register", "group_name": "n0", "ip_port": address,
                     "heartbeat": True}, greedy)["response"] == "SUCCESS"

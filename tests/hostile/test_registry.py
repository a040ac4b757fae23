"""Attacks on message_server's registrations, played against the real binaries on loopback.

An attacker needs no process of its own to keep a fake listed if the registry watches
itself, so every spelling of the registry's address is refused; every spelling of a
group's address is that group's one entry; a live entry keeps its name and the peer
address that registered it; a heartbeat never changes how a watched group is kept
alive; host names are refused unresolved; the registry's groups are capped. Each test
ends by checking that the registry still serves a well-behaved user within a second.

The attacker speaks from 127.0.0.9 (zmq's "tcp://SRC:0;DST" source syntax) where it
matters which address a request comes from: on loopback every 127.x.y.z is this host,
so it may register loopback addresses, but it did not register the victim's entry.
"""
import json
import os
import time

import zmq

from conftest import (Proc, assert_registry_serves, free_port, request, request_json,
                      start_on_every_address)

PEERS = os.path.join(os.path.dirname(__file__), "..", "peers")
ATTACKER = "127.0.0.9"
OTHER_HOST = "192.0.2.13"  # TEST-NET-1: never an address of this host


def request_from(source, endpoint, body, timeout=3.0):
    """One REQ round trip from the local address `source`; returns the decoded JSON or bytes."""
    s = zmq.Context.instance().socket(zmq.REQ)
    s.setsockopt(zmq.LINGER, 0)
    try:
        s.connect(f"tcp://{source}:0;{endpoint}")
        s.send(json.dumps(body).encode())
        if not s.poll(int(timeout * 1000)):
            raise TimeoutError(f"no reply from {endpoint} in {timeout}s")
        raw = s.recv()
    finally:
        s.close()
    return raw if raw == b"SUCCESS" else json.loads(raw)


def registration(name, ip_port, heartbeat=None):
    body = {"action": "register", "group_name": name, "ip_port": ip_port}
    if heartbeat is not None:
        body["heartbeat"] = heartbeat
    return body


def refused(reply, part):
    assert isinstance(reply, dict) and reply["response"] == "FAILED", reply
    assert part in reply["error"], reply
    return reply["error"]


def group_list(reg):
    return request_json(reg.address, {"action": "get_group_list", "user_uuid": "hostile"})


def start_ref_group(cluster, name, reg):
    port = free_port()
    p = Proc(["/usr/bin/python3", os.path.join(PEERS, "ref_group.py"), name, f"127.0.0.1:{port}",
              "--server", reg.address])
    cluster.procs.append(p)
    p.wait_for(r"serving on", stream="stderr")
    p.address = f"127.0.0.1:{port}"
    reg.wait_for(rf"watching '{name}' at {p.address}: connected", stream="stderr")
    return p


def registry_on_all_addresses(cluster, extra=()):
    p, port = start_on_every_address(
        lambda port: cluster.start("message_server", ["--bind", f"*:{port}", *extra]), r"serving on")
    p.port = port
    p.address = f"127.0.0.1:{port}"
    return p


def test_the_registrys_own_address_is_refused_in_every_spelling(cluster):
    for reg, extra in ((cluster.registry(), []), (registry_on_all_addresses(cluster), ["127.0.0.5"])):
        p = reg.port
        for host in ["127.0.0.1", "0x7f000001", "127.1", "127.0.0.0001", "LOCALHOST", "2130706433",
                     *extra]:
            reply = request_json(reg.address, registration("mirror", f"{host}:{p}"))
            refused(reply, "is the registry's own address")
        assert group_list(reg) == []
        assert reg.count(r"watching", stream="stderr") == 0
        # The list request's line is printed after its reply; refusals print nothing.
        assert reg.wait_for(r"GROUP LIST REQUEST FROM hostile")
        assert reg.out() == [f"Starting message server on port {reg.port}...",
                             "GROUP LIST REQUEST FROM hostile"]
        assert_registry_serves(reg)


def test_aliases_of_a_live_groups_address_are_that_group(cluster):
    reg = cluster.registry()
    grp = cluster.group("alpha", reg.address)
    port = grp.port
    assert group_list(reg) == [f"alpha - {grp.address}"]
    for alias in (f"0x7f000001:{port}", f"127.1:{port}", f"127.0.0.0001:{port}",
                  f"LOCALHOST:{port}", f"2130706433:{port}"):
        refused(request_json(reg.address, registration("alias", alias, True)),
                f"address 127.0.0.1:{port} is already registered by live group 'alpha'")
    assert group_list(reg) == [f"alpha - {grp.address}"]
    # A new group registered through an alias is listed in the canonical form.
    other = free_port()
    assert request_json(reg.address, registration("beta", f"0x7f000001:{other}", True))[
        "response"] == "SUCCESS"
    reg.wait_for(rf"^JOIN REQUEST FROM 127.0.0.1:{other}$")
    assert group_list(reg) == [f"alpha - {grp.address}", f"beta - 127.0.0.1:{other}"]
    assert_registry_serves(reg)


def test_a_live_groups_name_cannot_be_taken_over(cluster):
    reg = cluster.registry()
    grp = start_ref_group(cluster, "chat", reg)
    decoy_port = free_port()
    for source in (ATTACKER, "127.0.0.1"):
        # Step one of the take-over: rename the live group's entry.
        refused(request_from(source, reg.address, registration("decoy", grp.address)),
                f"address {grp.address} is already registered by live group 'chat'")
        # Step two: the name at the attacker's address.
        refused(request_from(source, reg.address,
                             registration("chat", f"{ATTACKER}:{decoy_port}")),
                f"group name 'chat' is already served at {grp.address}")
    # Nor may another address re-register the entry as its own.
    refused(request_from(ATTACKER, reg.address, registration("chat", grp.address, True)),
            "was registered from another address")
    assert group_list(reg) == [f"chat - {grp.address}"]
    assert request_json(grp.address, {"action": "joinGroup", "user_uuid": "u"})["response"] == \
        "SUCCESS"
    assert_registry_serves(reg)


def test_forged_heartbeat_and_unregister_from_another_address_are_refused(cluster):
    reg = cluster.registry()
    grp = cluster.group("beta", reg.address)  # registers and heartbeats from 127.0.0.1
    entry = f"beta - {grp.address}"
    ident = {"group_name": "beta", "ip_port": grp.address}
    reply = request_from(ATTACKER, reg.address, {"action": "heartbeat", **ident})
    refused(reply, f"it comes from {ATTACKER}, not from the address that registered the group")
    assert "reregister" not in reply
    refused(request_from(ATTACKER, reg.address, {"action": "unregister", **ident}),
            f"unregister of 'beta' at {grp.address} refused")
    assert group_list(reg) == [entry]
    assert reg.count(r"LEAVE REQUEST") == 0
    assert_registry_serves(reg)


def test_a_registration_for_another_host_is_refused_unless_allowed(cluster):
    reg = cluster.registry()
    far = f"{OTHER_HOST}:{free_port()}"
    error = refused(request_json(reg.address, registration("far", far, True)),
                    f"a group at {OTHER_HOST} must register from that host, and this registration "
                    "comes from 127.0.0.1")
    assert "--allow-any-registrant" in error
    assert group_list(reg) == []
    assert_registry_serves(reg)
    # The operator can allow it (groups behind NAT, one host registering others) ...
    lax = cluster.registry(extra=["--allow-any-registrant"])
    assert request_json(lax.address, registration("far", far, True))["response"] == "SUCCESS"
    assert group_list(lax) == [f"far - {far}"]
    # ... but never the registry's own address.
    refused(request_json(lax.address, registration("self", f"127.1:{lax.port}", True)),
            "the registry's own address")
    assert_registry_serves(lax)


def test_forged_heartbeats_do_not_change_a_reference_groups_liveness(cluster):
    expiry_ms = 400
    reg = cluster.registry(extra=["--expiry-ms", str(expiry_ms), "--heartbeat-ms", "100"])
    grp = start_ref_group(cluster, "refchat", reg)
    entry = f"refchat - {grp.address}"
    ident = {"group_name": "refchat", "ip_port": grp.address}
    # From another address: refused. From the address that registered it (this host's
    # 127.0.0.1, which anyone here can use): answered, but the group stays watched.
    refused(request_from(ATTACKER, reg.address, {"action": "heartbeat", **ident}), "refused")
    assert request_json(reg.address, {"action": "heartbeat", **ident}) == {"response": "SUCCESS"}
    # A register asking for heartbeats does not switch it either.
    assert request_json(reg.address, registration("refchat", grp.address, True))["response"] == \
        "SUCCESS"
    reg.wait_for(r"registered 'refchat' .* \(watched endpoint, kept\)", stream="stderr")
    # Had it been switched, it would be dropped expiry_ms after the last heartbeat.
    deadline = time.monotonic() + 4 * expiry_ms / 1000.0
    polls = 0
    while time.monotonic() < deadline and polls < 1000:
        assert entry in group_list(reg)
        polls += 1
        time.sleep(0.02)  # pacing the polls, not a synchronisation
    assert reg.count(r"dropped 'refchat'", stream="stderr") == 0
    # Its watch still works: killed, it is gone.
    grp.kill()
    reg.wait_for(r"dropped 'refchat'|lost the connection to 'refchat'", stream="stderr")
    deadline = time.monotonic() + 5.0
    while entry in group_list(reg):
        assert time.monotonic() < deadline, "a killed reference group is still listed"
        time.sleep(0.05)
    assert_registry_serves(reg)


def test_host_names_are_refused_without_resolving(cluster):
    reg = cluster.registry()
    for host in ("unanswered.invalid", "example.com", "my-group-host"):
        start = time.monotonic()
        reply = request_json(reg.address, registration("named", f"{host}:5560"), timeout=1.0)
        refused(reply, f"'{host}' is not an IPv4 address; register the group's numeric address")
        assert "does not resolve host names" in reply["error"]
        assert time.monotonic() - start < 1.0
        assert_registry_serves(reg)
    assert group_list(reg) == []
    # localhost in any case is 127.0.0.1, listed as such.
    port = free_port()
    assert request_json(reg.address, registration("local", f"LocalHost:{port}", True))[
        "response"] == "SUCCESS"
    assert group_list(reg) == [f"local - 127.0.0.1:{port}"]


def test_caps_per_source_and_in_total(cluster):
    reg = cluster.registry(extra=["--max-groups", "5", "--max-groups-per-source", "3",
                                  "--expiry-ms", "60000"])
    for i in range(3):
        body = registration(f"a{i}", f"127.0.0.1:{20000 + i}", True)
        assert request_json(reg.address, body)["response"] == "SUCCESS"
    refused(request_json(reg.address, registration("a3", "127.0.0.1:20003", True)),
            "3 groups are registered from 127.0.0.1, the limit per address "
            "(--max-groups-per-source)")
    for i in range(2):
        body = registration(f"b{i}", f"127.0.0.2:{20000 + i}", True)
        assert request_from("127.0.0.2", reg.address, body)["response"] == "SUCCESS"
    refused(request_from("127.0.0.3", reg.address, registration("c", "127.0.0.3:20000", True)),
            "the registry holds 5 groups, its limit (--max-groups)")
    assert len(group_list(reg)) == 5
    assert_registry_serves(reg)


def test_a_full_registry_has_a_bounded_list_and_keeps_serving(cluster):
    """The default caps: 1024 groups, 32 per source address. Names of 128 quotes make
    the longest list entries (each quote is escaped in the JSON)."""
    reg = cluster.registry(extra=["--expiry-ms", "3600000"])
    max_groups, per_source = 1024, 32
    started = time.monotonic()
    ctx = zmq.Context.instance()
    for s in range(max_groups // per_source):
        source = f"127.0.1.{s + 1}"
        sock = ctx.socket(zmq.REQ)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(f"tcp://{source}:0;{reg.address}")
        try:
            for i in range(per_source + (1 if s == 0 else 0)):
                name = '"' * 120 + f"{s:04d}{i:04d}"
                sock.send(json.dumps(registration(name, f"{source}:{10000 + i}", True)).encode())
                assert sock.poll(3000), "no reply to a registration"
                reply = json.loads(sock.recv())
                if i < per_source:
                    assert reply["response"] == "SUCCESS", reply
                else:
                    refused(reply, "the limit per address (--max-groups-per-source)")
        finally:
            sock.close()
        assert time.monotonic() - started < 120
    refused(request_from("127.0.2.1", reg.address, registration("one more", "127.0.2.1:10000", True)),
            f"the registry holds {max_groups} groups, its limit (--max-groups)")
    raw = request(reg.address, {"action": "get_group_list", "user_uuid": "big"}, timeout=1.0)
    assert len(json.loads(raw)) == max_groups
    assert len(raw) <= 289794  # the bound in docs/PROTOCOL.md
    assert_registry_serves(reg)


def test_watching_the_most_groups_does_not_run_out_of_sockets(cluster):
    """Each watched group takes three libzmq sockets; libzmq's default of 1023 ran out at
    about 340 and real groups could no longer be watched. 400 permanent fakes (one ROUTER
    bound on 400 ports answers all their watches) and then a real reference group."""
    fakes = 400
    reg = cluster.registry(extra=["--max-groups-per-source", "1024"])
    target = zmq.Context.instance().socket(zmq.ROUTER)
    target.setsockopt(zmq.LINGER, 0)
    try:
        ports = []
        for _ in range(fakes):
            ports.append(target.bind_to_random_port("tcp://127.0.0.1"))
        for i, port in enumerate(ports):
            assert request(reg.address, registration(f"fake{i}", f"127.0.0.1:{port}")) == b"SUCCESS"
        deadline = time.monotonic() + 20
        while reg.count(r"watching 'fake\d+' at .*: connected", stream="stderr") < fakes:
            assert time.monotonic() < deadline, "the fakes' watches did not all connect"
            time.sleep(0.1)
        grp = start_ref_group(cluster, "real", reg)  # waits for its watch to connect
        assert f"real - {grp.address}" in group_list(reg)
        assert reg.count(r"cannot watch", stream="stderr") == 0
        assert_registry_serves(reg)
    finally:
        target.close()

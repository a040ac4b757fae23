"""group_server --security curve with the real binaries: only CURVE clients are
served, a request acts as the key it came with whatever uuid it claims, a
members file decides who may join and is re-read on SIGHUP, and the traffic
carries no plaintext."""
import json
import os
import re
import signal
import socket
import stat
import subprocess
import threading

import pytest
import zmq

from conftest import Keys, binary, connect, curve_connect, curve_request, free_port

NO_REPLY_S = 1.5  # a server that will never answer is given this long


def keypair():
    keys = Keys()
    return keys.public, keys.secret


def as_keys(pair):
    keys = Keys()
    keys.public, keys.secret = pair
    return keys


def curve_socket(kind, address, server_key, pair):
    return curve_connect(kind, address, server_key, as_keys(pair))


def ask(address, server_key, pair, body, timeout=5.0):
    """One REQ round trip over CURVE; the reply as JSON, or None when none came in time."""
    try:
        return json.loads(curve_request(address, server_key, body, as_keys(pair), timeout))
    except TimeoutError:
        return None


def group_key(cluster, port, name="secure"):
    """The group's public key, as --public-key prints it (its key file is made then, in the
    data directory of the group's name)."""
    out = subprocess.run(
        [binary("group_server"), name, f"127.0.0.1:{port}", "--data-dir",
         str(cluster.tmp_path / "data"), "--public-key"],
        capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def curve_registry(cluster):
    """A curve registry (a curve group registers only with one); .key is its public key."""
    data = str(cluster.tmp_path / "registry-data")
    reg = cluster.registry(extra=["--security", "curve", "--data-dir", data])
    out = subprocess.run([binary("message_server"), "--bind", reg.address, "--data-dir", data,
                          "--public-key"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    reg.key = out.stdout.strip()
    reg.curve_flags = ["--security", "curve", "--server-key", reg.key]
    return reg


@pytest.fixture
def curve_group(cluster):
    def start(extra=()):
        reg = curve_registry(cluster)
        port = free_port()
        key = group_key(cluster, port)
        grp = cluster.group("secure", reg.address, port=port, extra=[*reg.curve_flags, *extra])
        grp.key = key
        return grp
    return start


def test_public_key_is_stable_and_the_key_file_is_the_owners_alone(cluster):
    port = free_port()
    first = group_key(cluster, port)
    assert len(first) == 40
    assert group_key(cluster, port) == first
    key_file = cluster.tmp_path / "data" / "group-secure" / "key"
    mode = stat.S_IMODE(os.stat(key_file).st_mode)
    assert mode == 0o600, oct(mode)
    # The secret never reaches a log.
    secret = re.search(r"secret-key = (\S+)", key_file.read_text()).group(1)
    reg = curve_registry(cluster)
    grp = cluster.group("secure", reg.address, port=port, extra=reg.curve_flags)
    assert first in "\n".join(grp.out("stderr"))
    grp.stop()
    assert secret not in "\n".join(grp.out("stderr") + grp.out("stdout"))


def test_a_null_mechanism_client_gets_no_service(curve_group):
    grp = curve_group()
    plain = connect(zmq.REQ, grp.address)
    try:
        plain.send(json.dumps({"action": "joinGroup", "user_uuid": "u"}).encode())
        assert not plain.poll(int(NO_REPLY_S * 1000)), "a NULL client was answered"
    finally:
        plain.close()
    # The operator is told why such a client gets nothing.
    # (libzmq reports the mismatch, or the client's closing first: either is logged.)
    grp.wait_for(r"failed its handshake: (the client's security mechanism is not this server's"
                 r"|the peer closed it \(a client whose security mechanism)", stream="stderr")
    # The group still serves CURVE clients.
    me = keypair()
    assert ask(grp.address, grp.key, me, {"action": "joinGroup", "user_uuid": "u"})[
        "response"] == "SUCCESS"
    assert "JOIN REQUEST FROM " + me[0] in grp.wait_for(r"JOIN REQUEST FROM")


def test_a_client_expecting_another_key_gets_no_service(curve_group):
    grp = curve_group()
    impostor_key = keypair()[0]  # what a client would expect of a fake server
    assert ask(grp.address, impostor_key, keypair(), {"action": "joinGroup", "user_uuid": "u"},
               timeout=NO_REPLY_S) is None
    grp.wait_for(r"failed its handshake: its CURVE handshake did not decrypt", stream="stderr")


def test_a_second_key_cannot_act_as_the_first_whatever_uuid_it_claims(curve_group):
    grp = curve_group()
    alice, mallory = keypair(), keypair()
    uuid = "11111111-2222-4333-8444-555555555555"
    a = lambda body: ask(grp.address, grp.key, alice, {"user_uuid": uuid, **body})
    m = lambda body: ask(grp.address, grp.key, mallory, {"user_uuid": uuid, **body})
    assert a({"action": "joinGroup", "name": "alice"})["response"] == "SUCCESS"
    assert a({"action": "sendMessage", "message": "from alice"})["response"] == "SUCCESS"
    # Mallory claims alice's uuid: not a member, so nothing is sent, read, left or followed.
    for body in ({"action": "sendMessage", "message": "forged"},
                 {"action": "getMessage"},
                 {"action": "leaveGroup"},
                 {"action": "follow"}):
        r = m(body)
        assert r["response"] == "FAILED" and "not a member" in r["error"], (body, r)
    # Joined with alice's uuid and another name, mallory is her own member:
    # alice keeps her name.
    assert m({"action": "joinGroup", "name": "renamed by mallory"})["response"] == "SUCCESS"
    assert m({"action": "sendMessage", "message": "as mallory"})["response"] == "SUCCESS"
    assert m({"action": "leaveGroup"})["response"] == "SUCCESS"
    # Alice is still a member, and the two messages are told apart by sender.
    page = a({"action": "getMessage"})
    assert page["response"] == "SUCCESS", page
    senders = {msg["message"]: msg["user_uuid"] for msg in page["messages"]}
    assert set(senders) == {"from alice", "as mallory"}
    assert senders["from alice"] != senders["as mallory"]
    assert uuid not in json.dumps(page)
    assert a({"action": "sendMessage", "message": "still here"})["response"] == "SUCCESS"
    last = a({"action": "getMessage"})["messages"][-1]
    assert (last["message"], last.get("name")) == ("still here", "alice"), last


def write_members(path, *keys):
    path.write_text("# members\n" + "".join(f"{k} person {i}\n" for i, k in enumerate(keys)))


def test_members_file_admits_listed_keys_and_sighup_puts_a_removed_key_out(cluster, curve_group):
    alice, bob, carol = keypair(), keypair(), keypair()
    members = cluster.tmp_path / "members"
    write_members(members, alice[0], bob[0])
    grp = curve_group(["--members-file", str(members)])
    for who in (alice, bob):
        assert ask(grp.address, grp.key, who, {"action": "joinGroup", "user_uuid": "x"})[
            "response"] == "SUCCESS"
    # A key not listed cannot even complete its handshake.
    assert ask(grp.address, grp.key, carol, {"action": "joinGroup", "user_uuid": "x"},
               timeout=NO_REPLY_S) is None
    assert grp.wait_for(r"refused the key " + re.escape(carol[0]), stream="stderr")

    # Bob follows on a connection of his own.
    follower = curve_socket(zmq.DEALER, grp.address, grp.key, bob)
    follower.send(json.dumps({"action": "follow", "user_uuid": "x"}).encode())
    assert follower.poll(5000)
    assert json.loads(follower.recv())["response"] == "SUCCESS"
    assert ask(grp.address, grp.key, alice,
               {"action": "sendMessage", "user_uuid": "x", "message": "before"})["response"] == "SUCCESS"
    assert follower.poll(5000)
    assert json.loads(follower.recv())["message"] == "before"

    write_members(members, alice[0])
    grp.signal(signal.SIGHUP)
    grp.wait_for(r"members file .*: 1 keys \(0 added, 1 removed\)", stream="stderr")
    assert ask(grp.address, grp.key, alice,
               {"action": "sendMessage", "user_uuid": "x", "message": "after"})["response"] == "SUCCESS"
    # Bob's follow ended and his connection was closed; a new one is refused.
    assert not follower.poll(int(NO_REPLY_S * 1000)), "a removed member still got a push"
    follower.close()
    assert ask(grp.address, grp.key, bob, {"action": "getMessage", "user_uuid": "x"},
               timeout=NO_REPLY_S) is None

    # A file that does not parse changes nothing.
    members.write_text("not a key\n")
    grp.signal(signal.SIGHUP)
    grp.wait_for(r"line 1: 'not' is not a public key.*the members stay as they were",
                 stream="stderr")
    assert ask(grp.address, grp.key, alice, {"action": "getMessage", "user_uuid": "x"})[
        "response"] == "SUCCESS"


def test_members_file_needs_curve_and_must_parse(cluster):
    reg = cluster.registry()
    members = cluster.tmp_path / "members"
    members.write_text("# nobody yet\n")
    p = cluster.group("g", reg.address, extra=["--members-file", str(members)], wait=False)
    assert p.wait() == 2
    assert "--members-file needs --security curve" in "\n".join(p.out("stderr"))
    members.write_text("#nospace is not a comment\n")
    p = cluster.group("g", reg.address, wait=False,
                      extra=["--security", "curve", "--server-key", zmq.curve_keypair()[0].decode(),
                             "--members-file", str(members)])
    assert p.wait() == 1
    assert "line 1" in "\n".join(p.out("stderr"))


class Recorder:
    """A TCP proxy on 127.0.0.1 that forwards one connection to `target` and
    keeps every byte it carried, both ways."""

    def __init__(self, target_port):
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(4)
        self.port = self.listener.getsockname()[1]
        self.target_port = target_port
        self.captured = bytearray()
        self.lock = threading.Lock()
        self.threads = []
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port), timeout=10)
            for a, b in ((client, server), (server, client)):
                t = threading.Thread(target=self._pipe, args=(a, b), daemon=True)
                t.start()

    def _pipe(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                with self.lock:
                    self.captured += data
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.listener.close()


@pytest.mark.parametrize("security", ["open", "curve"])
def test_captured_traffic_holds_no_plaintext_in_curve_mode(cluster, security):
    reg = curve_registry(cluster) if security == "curve" else cluster.registry()
    port = free_port()
    key = group_key(cluster, port, "g")
    grp = cluster.group("g", reg.address, port=port,
                        extra=reg.curve_flags if security == "curve" else [])
    proxy = Recorder(port)
    try:
        secret_text = "the eagle lands at midnight 7f3a"
        via = f"127.0.0.1:{proxy.port}"
        me = keypair()
        if security == "curve":
            call = lambda body: ask(via, key, me, body)
        else:
            call = lambda body: json.loads(__import__("conftest").request(via, body, timeout=5))
        assert call({"action": "joinGroup", "user_uuid": "u"})["response"] == "SUCCESS"
        assert call({"action": "sendMessage", "user_uuid": "u", "message": secret_text})[
            "response"] == "SUCCESS"
        page = call({"action": "getMessage", "user_uuid": "u"})
        assert page["messages"][-1]["message"] == secret_text
        with proxy.lock:
            captured = bytes(proxy.captured)
        # The capture saw the whole exchange both ways (the text went out and came back).
        assert len(captured) > 2 * len(secret_text)
        if security == "open":
            # Control: the capture works, so its absence below means something.
            assert captured.count(secret_text.encode()) >= 2
        else:
            assert secret_text.encode() not in captured
            assert b"sendMessage" not in captured and b"joinGroup" not in captured
    finally:
        proxy.close()

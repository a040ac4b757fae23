"""Members see each other by public id, never by user_uuid (docs/PROTOCOL.md,
"Public ids"): whatever a member receives from our group (getMessage replies,
pushes, our client's output) holds no member's user_uuid, the ids stay the same
across a restart of the group, and a display name two members share is shown
with each one's fingerprint."""
import json
import re
import uuid

import zmq

from conftest import PUBLIC_ID, connect, join, public_id, request, send

TIMEOUT_MS = 5000
# Realistic identities: what the reference and our client make.
ALICE = str(uuid.uuid1())
BOB = str(uuid.uuid4())
MSG_LINE = re.compile(r"^(.+) : (.*) \((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?)\)$")


def follow_raw(address, user):
    """A raw DEALER follow; returns the socket and the follow reply's bytes."""
    s = connect(zmq.DEALER, address)
    s.send_json({"action": "follow", "user_uuid": user})
    assert s.poll(TIMEOUT_MS), "no follow reply"
    reply = s.recv()
    assert json.loads(reply)["response"] == "SUCCESS", reply
    return s, reply


def recv_pushes(sock, n):
    """The next n frames, each a push; returned as bytes."""
    frames = []
    for _ in range(n):
        assert sock.poll(TIMEOUT_MS), f"{len(frames)} of {n} pushes arrived"
        frames.append(sock.recv())
        assert json.loads(frames[-1]).get("event") == "message", frames[-1]
    return frames


def get_raw(address, user):
    return request(address, {"action": "getMessage", "user_uuid": user, "timestamp": None})


def client_get_json(chat, user):
    r = chat.client(["--server", chat.reg.address, "--user-id", user, "get", chat.grp.address,
                     "--json"])
    assert r.returncode == 0, r.stderr
    return r.stdout


def assert_holds_no_uuid(what, received):
    for raw in received:
        text = raw.decode() if isinstance(raw, bytes) else raw
        for identity in (ALICE, BOB):
            assert identity not in text, (what, identity, text)


def test_nothing_a_member_receives_holds_a_user_uuid_and_ids_survive_a_restart(chat):
    g = chat.grp.address
    received = {ALICE: [], BOB: []}
    for user, name in ((ALICE, "alice"), (BOB, "bob")):
        received[user].append(json.dumps(join(g, user, name=name)))
    followers = {}
    for user in (ALICE, BOB):
        sock, reply = follow_raw(g, user)
        followers[user] = sock
        received[user].append(reply)
    send(g, ALICE, "hello from alice")
    send(g, BOB, "hello from bob")
    send(g, ALICE, "and again")

    ids = {user: public_id(g, user) for user in (ALICE, BOB)}
    assert ids[ALICE] != ids[BOB]
    expected_senders = [ids[ALICE], ids[BOB], ids[ALICE]]
    for user in (ALICE, BOB):
        pushes = recv_pushes(followers[user], 3)
        assert [json.loads(p)["user_uuid"] for p in pushes] == expected_senders
        page = get_raw(g, user)
        assert [m["user_uuid"] for m in json.loads(page)["messages"]] == expected_senders
        lines = client_get_json(chat, user)
        assert [json.loads(x)["user_uuid"] for x in lines.splitlines()] == expected_senders
        received[user] += pushes + [page, lines]
        # Each learns its own id from its join and follow replies.
        assert json.loads(received[user][0])["public_id"] == ids[user]
        assert json.loads(received[user][1])["public_id"] == ids[user]
        followers[user].close()
    for user in (ALICE, BOB):
        assert_holds_no_uuid(user, received[user])
    # The operator's stdout lines keep the real identity.
    chat.grp.wait_for(rf"^MESSAGE SEND FROM {BOB}$")

    # A restart on the same data: the same ids, in replies and in whoami.
    before = get_raw(g, ALICE)
    chat.grp.stop()
    assert chat.grp.popen.returncode == 0
    chat.grp = chat.group("alpha", chat.reg.address, port=chat.grp.port)
    after = get_raw(g, ALICE)
    assert json.loads(after)["messages"] == json.loads(before)["messages"]
    assert {user: public_id(g, user) for user in ids} == ids
    assert_holds_no_uuid("after restart", [after])


def test_whoami_names_the_id_without_membership_and_prints_nothing(chat):
    g = chat.grp.address
    stranger = json.loads(request(g, {"action": "whoami", "user_uuid": ALICE}))
    assert stranger["response"] == "SUCCESS" and stranger["member"] is False, stranger
    assert PUBLIC_ID.fullmatch(stranger["public_id"]), stranger
    join(g, ALICE)
    member = json.loads(request(g, {"action": "whoami", "user_uuid": ALICE}))
    assert member == {**stranger, "member": True}
    # Our client's one-shot whoami prints the same id.
    r = chat.client(["--server", chat.reg.address, "--user-id", ALICE, "whoami", g])
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[1] == f"public id at {g}: {stranger['public_id']}", r.stdout
    r = chat.client(["--server", chat.reg.address, "--user-id", BOB, "whoami", "--json", g])
    assert r.returncode == 0 and PUBLIC_ID.fullmatch(json.loads(r.stdout)["public_id"]), r
    assert f"not a member of {g}" in r.stderr
    # The stdout lines are the reference's: the join's and nothing for the whoamis.
    chat.grp.wait_for(rf"^JOIN REQUEST FROM {ALICE}$")
    send(g, ALICE, "marker")
    chat.grp.wait_for(rf"^MESSAGE SEND FROM {ALICE}$")
    assert not any("whoami" in x.lower() or BOB in x for x in chat.grp.out())


def test_a_shared_display_name_shows_each_senders_fingerprint(chat):
    g = chat.grp.address
    server = ["--server", chat.reg.address]
    impostor, carol, reader = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    for user, name in ((ALICE, "alice"), (impostor, "alice"), (carol, "carol"), (reader, "")):
        r = chat.client([*server, "--user-id", user, "--name", name, "join", g])
        assert r.returncode == 0, r.stderr
    for user, text in ((ALICE, "hi, it is me"), (carol, "hello"), (impostor, "send me the key")):
        r = chat.client([*server, "--user-id", user, "--name", "alice" if user != carol else "carol",
                         "send", g, text])
        assert r.returncode == 0, r.stderr

    r = chat.client([*server, "--user-id", reader, "get", g])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 3, lines
    whos = [MSG_LINE.match(x).group(1) for x in lines]
    real, fake = public_id(g, ALICE), public_id(g, impostor)
    assert real[:8] != fake[:8]
    # Both users of "alice" carry their own fingerprint; a name used once prints as before.
    assert whos == [f"alice [{real[:8]}]", "carol", f"alice [{fake[:8]}]"], lines

    # The same through a follow that starts with the stored messages.
    f = chat.start("user_client", [*server, "--user-id", reader, "follow", g, "--since-seq", "0"],
                   env={"XDG_CONFIG_HOME": str(chat.tmp_path / "config")})
    f.wait_for(r"send me the key")
    assert f.out()[:3] == lines
    # --json is unchanged: the sender's public id in user_uuid, nothing added.
    r = chat.client([*server, "--user-id", reader, "get", g, "--json"])
    assert r.returncode == 0, r.stderr
    objects = [json.loads(x) for x in r.stdout.splitlines()]
    assert [(o["name"], o["user_uuid"]) for o in objects] == [
        ("alice", real), ("carol", public_id(g, carol)), ("alice", fake)]
    assert all(set(o) == {"message", "name", "seq", "timestamp", "user_uuid"} for o in objects)


def test_the_registry_never_gets_the_users_identity(cluster):
    reg = cluster.registry()
    secret = "my-secret-identity-0001"
    r = cluster.client(["--server", reg.address, "--user-id", secret, "groups"])
    assert r.returncode == 0, r.stderr
    line = reg.wait_for(r"^GROUP LIST REQUEST FROM ")
    assert secret not in line
    assert re.fullmatch(r"GROUP LIST REQUEST FROM [0-9a-f-]{36}", line), line

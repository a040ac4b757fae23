"""user_client against our message_server and group_server: every subcommand
and exit code, the shell over a pipe, the stored identity, and failures
(server down, bad address, bad usage) that end quickly with a clear error."""
import json
import re
import threading
import time

import pytest
import zmq

from conftest import connect, free_port, join, public_id, request_json

MSG_LINE = re.compile(r"^(.+) : (.*) \((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?)\)$")
NOT_MEMBER = "User is not a member of this group. Please join the group first."
FAST = ["--timeout-ms", "300", "--tries", "2"]


def run(chat, *args, **kw):
    return chat.client(["--server", chat.reg.address, *args], **kw)


def stored_uuid(chat):
    with open(chat.tmp_path / "config" / "groupchat" / "identity") as f:
        return json.load(f)["user_uuid"]


def test_groups_lists_the_live_group_and_exits_0(chat):
    r = run(chat, "groups")
    assert r.returncode == 0, r.stderr
    assert f"alpha - {chat.grp.address}" in r.stdout.splitlines()


def test_groups_reads_the_registry_from_GROUPCHAT_SERVER(chat):
    r = chat.client(["groups"], env={"GROUPCHAT_SERVER": chat.reg.address})
    assert r.returncode == 0, r.stderr
    assert f"alpha - {chat.grp.address}" in r.stdout


def test_join_send_get_leave_succeed_with_exit_0(chat):
    g = chat.grp.address
    r = run(chat, "join", g)
    assert (r.returncode, r.stdout) == (0, "SUCCESS\n"), r.stderr
    r = run(chat, "send", g, "hello", "world")
    assert (r.returncode, r.stdout) == (0, "SUCCESS\n"), r.stderr
    r = run(chat, "get", g)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 1
    m = MSG_LINE.match(lines[0])
    # No name set: the sender shows as its public id, never its user id.
    assert m and m.group(1) == public_id(g, stored_uuid(chat)) and m.group(2) == "hello world", \
        lines
    r = run(chat, "leave", g)
    assert (r.returncode, r.stdout) == (0, "SUCCESS\n"), r.stderr


def test_refusals_exit_1_and_name_the_address(chat):
    g = chat.grp.address
    for args in (["send", g, "x"], ["get", g], ["leave", g]):
        r = run(chat, *args)
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        assert g in r.stderr and "not a member" in r.stderr, r.stderr
        assert r.stdout == ""


def test_send_reads_the_text_from_stdin_with_dash(chat):
    g = chat.grp.address
    assert run(chat, "join", g).returncode == 0
    r = run(chat, "send", g, "-", input="first line\nsecond line\n")
    assert r.returncode == 0, r.stderr
    r = run(chat, "get", g, "--json")
    assert r.returncode == 0, r.stderr
    msgs = [json.loads(line) for line in r.stdout.splitlines()]
    assert [m["message"] for m in msgs] == ["first line\nsecond line"]
    assert msgs[0]["user_uuid"] == public_id(g, stored_uuid(chat)) and msgs[0]["seq"] >= 1


def test_identity_is_reused_across_runs(chat):
    g = chat.grp.address
    assert run(chat, "join", g).returncode == 0
    first = stored_uuid(chat)
    # A separate process: membership holds because the stored id is reused.
    r = run(chat, "send", g, "again")
    assert r.returncode == 0, r.stderr
    assert stored_uuid(chat) == first
    # --user-id overrides: that user is not a member.
    r = run(chat, "--user-id", "someone-else", "send", g, "x")
    assert r.returncode == 1, r.stderr


def test_display_name_is_stored_and_shown_instead_of_the_uuid(chat):
    g = chat.grp.address
    assert run(chat, "--name", "alice", "join", g).returncode == 0
    assert run(chat, "send", g, "hi").returncode == 0  # the name comes from the file now
    r = run(chat, "get", g)
    assert r.returncode == 0, r.stderr
    m = MSG_LINE.match(r.stdout.splitlines()[0])
    assert m and m.group(1) == "alice", r.stdout


def test_get_filters_by_seq_time_and_limit(chat):
    g = chat.grp.address
    assert run(chat, "join", g).returncode == 0
    for text in ("one", "two", "three"):
        assert run(chat, "send", g, text).returncode == 0
    r = run(chat, "get", g, "--json")
    seqs = [json.loads(line)["seq"] for line in r.stdout.splitlines()]
    assert len(seqs) == 3
    r = run(chat, "get", g, "--since-seq", str(seqs[0]))
    assert [MSG_LINE.match(x).group(2) for x in r.stdout.splitlines()] == ["two", "three"]
    r = run(chat, "get", g, "--limit", "1")
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 1
    assert f"--since-seq {seqs[0]}" in r.stderr  # says how to go on
    r = run(chat, "get", g, "--since", "2000-01-01 00:00:00")
    assert len(r.stdout.splitlines()) == 3
    r = run(chat, "get", g, "--since", "2999-01-01T00:00:00")
    assert r.returncode == 0 and r.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ["join", "no/such:5560"],
        ["join", "127.0.0.1:0"],
        ["send", "127.0.0.1:99999", "x"],
        ["get", "127.0.0.1:5560", "--since", "yesterday"],
        ["get", "127.0.0.1:5560", "--limit", "0"],
        ["get", "127.0.0.1:5560", "--since-seq", "-1"],
        ["join"],
        ["frobnicate"],
        ["--tries", "0", "groups"],
        ["--server", "no-port", "groups"],
        ["--user-id", "", "groups"],
    ],
)
def test_bad_usage_exits_2_with_an_error(cluster, args):
    r = cluster.client(args, timeout=10)
    assert r.returncode == 2, (args, r.stdout, r.stderr)
    assert r.stderr.strip(), args


def test_help_and_version_exit_0(cluster):
    r = cluster.client(["--help"])
    assert r.returncode == 0 and "groups" in r.stdout and "send" in r.stdout
    r = cluster.client(["--version"])
    assert r.returncode == 0 and re.search(r"\d+\.\d+\.\d+", r.stdout)
    # "help" as a word, as people type it, is the same help.
    r = cluster.client(["help"])
    assert r.returncode == 0 and "groups" in r.stdout and "Subcommands" in r.stdout, r


def test_server_down_exits_3_naming_the_address_without_hanging(cluster):
    dead = f"127.0.0.1:{free_port()}"
    for args in (["--server", dead, "groups"], ["join", dead], ["send", dead, "x"], ["get", dead]):
        r = cluster.client([*FAST, *args], timeout=15)
        assert r.returncode == 3, (args, r.stderr)
        assert f"cannot connect to {dead}: nothing accepted a connection there" in r.stderr, \
            r.stderr


def test_a_reply_that_is_not_json_exits_3(cluster):
    ctx = zmq.Context.instance()
    rep = ctx.socket(zmq.REP)
    rep.setsockopt(zmq.LINGER, 0)
    port = rep.bind_to_random_port("tcp://127.0.0.1")

    def answer_garbage():
        if rep.poll(10000):
            rep.recv()
            rep.send(b"garbage")

    t = threading.Thread(target=answer_garbage)
    t.start()
    try:
        r = cluster.client([*FAST, "join", f"127.0.0.1:{port}"], timeout=15)
    finally:
        t.join()
        rep.close()
    assert r.returncode == 3, r.stderr
    assert "unexpected reply" in r.stderr and f"127.0.0.1:{port}" in r.stderr


def test_shell_speaks_the_reference_commands_over_a_pipe(chat):
    g = chat.grp.address
    script = "\n".join([
        "get_group_list",
        f"get_messages {g}",
        f"send_message {g}", "not yet", "END",
        f"join_group {g}",
        f"send_message {g}", "hello", "END",
        f"send_message {g}", "line a", "line b", "END",
        f"get_messages {g}",
        f"get_messages {g} 2000-01-01T00:00:00",
        f"get_messages {g} nonsense",
        "dance",
        f"leave_group {g}",
        f"leave_group {g}",
        "exit",
        "get_group_list",
    ]) + "\n"
    r = run(chat, "shell", input=script)
    assert r.returncode == 0, r.stderr
    u = public_id(g, stored_uuid(chat))  # what the members see of the sender
    out = r.stdout.splitlines()
    ts = re.findall(r"\((\d{4}-\d\d-\d\dT[0-9:.]+)\)", r.stdout)
    assert len(ts) == 4, out
    # A message's second line is indented, so it cannot pass for a message of its own.
    history = [f"{u} : hello ({ts[0]})", f"{u} : line a", f"    line b ({ts[1]})"]
    assert out == [
        f"alpha - {g}",
        NOT_MEMBER, out[2],
        "FAILED", out[4],
        "SUCCESS",
        "SUCCESS",
        "SUCCESS",
        *history,
        *history,
        "Invalid command",
        "SUCCESS",
        "FAILED", out[-1],
    ]
    for i in (2, 4, -1):  # our server says why after FAILED
        assert out[i].startswith("error: ") and "member" in out[i], out[i]
    assert "nonsense" in r.stderr  # the bad time is rejected locally, clearly


def test_shell_help_lists_the_commands(chat):
    r = run(chat, input="help\n")
    assert r.returncode == 0
    for cmd in ("join_group", "leave_group", "get_group_list", "get_messages", "send_message", "exit"):
        assert cmd in r.stdout


def test_shell_is_the_default_and_ends_cleanly_at_end_of_input(chat):
    r = run(chat, input="get_group_list\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [f"alpha - {chat.grp.address}"]
    assert "> " not in r.stdout  # no prompt when stdin is not a terminal


def test_shell_reports_an_unreachable_server_and_goes_on(chat):
    dead = f"127.0.0.1:{free_port()}"
    r = run(chat, *FAST, "shell", input=f"join_group {dead}\nget_group_list\n", timeout=20)
    assert r.returncode == 0
    assert f"cannot connect to {dead}" in r.stderr, r.stderr
    assert r.stdout.splitlines() == [f"alpha - {chat.grp.address}"]


def test_get_pages_through_more_than_one_server_page(chat):
    """The server answers at most 1000 messages a page; get and the shell must
    follow `more` and print every message once, in order."""
    g = chat.grp.address
    uid = "pager"
    assert run(chat, "--user-id", uid, "join", g).returncode == 0
    total = 1005
    s = connect(zmq.DEALER, g)  # pipelined sends: one round trip for the lot
    try:
        for i in range(total):
            body = {"action": "sendMessage", "user_uuid": uid, "message": f"m{i}"}
            s.send_multipart([b"", json.dumps(body).encode()])
        for _ in range(total):
            assert s.poll(10000), "no reply to a pipelined send"
            assert json.loads(s.recv_multipart()[-1])["response"] == "SUCCESS"
    finally:
        s.close()
    first = request_json(g, {"action": "getMessage", "user_uuid": uid, "timestamp": None,
                             "limit": 1000})
    assert first["more"] is True and len(first["messages"]) < total  # the premise: several pages
    expected = [f"m{i}" for i in range(total)]
    r = run(chat, "--user-id", uid, "get", g)
    assert r.returncode == 0, r.stderr
    assert [MSG_LINE.match(x).group(2) for x in r.stdout.splitlines()] == expected
    r = run(chat, "--user-id", uid, "shell", input=f"get_messages {g}\n")
    assert r.returncode == 0, r.stderr
    assert [MSG_LINE.match(x).group(2) for x in r.stdout.splitlines()] == expected


def test_the_timeout_is_one_budget_from_GROUPCHAT_TIMEOUT_or_10_s(cluster):
    dead = f"127.0.0.1:{free_port()}"
    began = time.monotonic()
    r = cluster.client(["--server", dead, "groups"], env={"GROUPCHAT_TIMEOUT": "1.5"}, timeout=20)
    took = time.monotonic() - began
    assert r.returncode == 3
    assert f"cannot connect to {dead}: nothing accepted a connection there (tried for 1.5 s)" \
        in r.stderr, r.stderr
    assert 1.5 <= took < 8, took  # one budget, not one per try
    # The flag wins over the variable; a bad value is a usage error.
    r = cluster.client(["--server", dead, "--timeout", "0.5", "groups"],
                       env={"GROUPCHAT_TIMEOUT": "60"}, timeout=20)
    assert "(tried for 500 ms)" in r.stderr, r.stderr
    r = cluster.client(["--server", dead, "groups"], env={"GROUPCHAT_TIMEOUT": "soon"})
    assert r.returncode == 2, r.stderr
    # The default (waiting it out would cost 10 s of the suite): as --help says.
    r = cluster.client(["--help"])
    assert re.search(r"--timeout SECONDS.*=10 \(Env:GROUPCHAT_TIMEOUT\)", r.stdout), r.stdout


def test_unwritable_config_falls_back_to_a_run_only_id_with_a_warning(chat, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    r = chat.client(["--server", chat.reg.address, "join", chat.grp.address],
                    env={"XDG_CONFIG_HOME": str(blocker)})
    assert r.returncode == 0, r.stderr
    assert r.stderr.startswith("warning: ") and "for this run only" in r.stderr, r.stderr


def test_a_piped_message_without_its_end_line_is_not_sent_and_exits_2(chat):
    g = chat.grp.address
    r = run(chat, "shell", input=f"join_group {g}\nsend_message {g}\ncut off\n")
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "input ended before the END line; message not sent" in r.stderr
    r = run(chat, "get", g)
    assert "cut off" not in r.stdout


def test_a_wildcard_address_is_bad_usage_not_an_unreachable_server(chat):
    for args in (["join", "*:5560"], ["get", "tcp://*:5560"]):
        r = run(chat, *args)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
        assert "'*' means every address" in r.stderr
    r = chat.client(["--server", "*:5555", "groups"])
    assert r.returncode == 2 and "'*' means every address" in r.stderr
    r = run(chat, "shell", input="join_group *:5560\n")
    assert "'*' means every address" in r.stderr and "SUCCESS" not in r.stdout


def test_an_empty_list_or_read_says_so_on_stderr_with_stdout_empty(chat):
    g = chat.grp.address
    assert run(chat, "join", g).returncode == 0
    r = run(chat, "get", g)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "(no messages)\n"), r
    r = run(chat, "get", g, "--since-seq", "0", "--limit", "5")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "(no messages)\n"), r
    other = chat.registry()
    r = chat.client(["--server", other.address, "groups"])
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "(no live groups)\n"), r


def test_commands_take_a_groups_name_as_the_registry_lists_it(chat):
    g = chat.grp.address
    r = run(chat, "join", "alpha")
    assert (r.returncode, r.stdout) == (0, "SUCCESS\n"), r.stderr
    r = run(chat, "send", "alpha", "by", "name")
    assert r.returncode == 0, r.stderr
    r = run(chat, "get", "alpha")
    assert r.returncode == 0 and MSG_LINE.match(r.stdout.rstrip("\n")).group(2) == "by name", r
    page = request_json(g, {"action": "getMessage", "user_uuid": stored_uuid(chat)})
    assert [m["message"] for m in page["messages"]] == ["by name"]
    r = run(chat, "whoami", "alpha")
    assert r.returncode == 0 and f"public id at {g}: " in r.stdout, r
    r = run(chat, "leave", "alpha")
    assert (r.returncode, r.stdout) == (0, "SUCCESS\n"), r.stderr


def test_an_unknown_name_exits_2_with_close_names_and_sends_nothing(chat):
    r = run(chat, "join", "Alpah")
    assert r.returncode == 2, r
    assert r.stderr == (f"error: no live group named 'Alpah' at the registry {chat.reg.address}; "
                        "did you mean 'alpha'?\n"), r.stderr
    r = run(chat, "send", "zzz", "x")
    assert r.returncode == 2 and "no live group named 'zzz'" in r.stderr, r
    join(chat.grp, "checker")
    page = request_json(chat.grp.address, {"action": "getMessage", "user_uuid": "checker"})
    assert page["messages"] == [], page  # nothing was sent


def test_a_name_with_the_registry_down_exits_3_quickly(cluster):
    dead = f"127.0.0.1:{free_port()}"
    r = cluster.client([*FAST, "--server", dead, "join", "alpha"], timeout=15)
    assert r.returncode == 3, r
    assert (f"cannot look up the group 'alpha' at the registry {dead}: cannot connect to {dead}: "
            "nothing accepted a connection there") in r.stderr, r


def test_the_shell_over_a_pipe_joins_by_name_and_sends_plain_lines_to_the_current_group(chat):
    g = chat.grp.address
    r = run(chat, "shell", input="/join alpha\nfirst line\nget_messages alpha\n/leave\nlast\n")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "SUCCESS" and lines[-2:] == ["SUCCESS", "Invalid command"], lines
    assert MSG_LINE.match(lines[1]) and MSG_LINE.match(lines[1]).group(2) == "first line", lines
    assert f"note: lines that are not commands now go to alpha ({g})" in r.stderr, r.stderr
    r = run(chat, "shell", input=f"join_group {g}\nget_messages {g}\n")
    assert [MSG_LINE.match(x).group(2) for x in r.stdout.splitlines()[1:]] == ["first line"]


@pytest.mark.parametrize("sub", ["join", "send", "get", "follow", "groups", "whoami", "shell"])
def test_a_subcommands_help_lists_the_global_flags_too(cluster, sub):
    r = cluster.client([sub, "--help"])
    assert r.returncode == 0, r
    assert "Global options" in r.stdout, r.stdout
    for flag in ("--server", "--user-id", "--name", "--timeout-ms", "--tries", "--server-key",
                 "--group-key"):
        assert flag in r.stdout, (sub, flag, r.stdout)

"""The interactive shell on a real terminal (tmux): messages of joined groups
appear above the prompt while the user types, with the half-typed line kept
intact; commands still run; history recalls earlier commands, also in a new
shell; a new shell follows the groups joined before.

Every wait polls the screen (capture-pane) with a deadline."""
import shlex
import shutil
import time

import pytest

from conftest import binary, join, public_id, request_json, send
from terminal import Terminal

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")

USER = "tty-user"


def last_line(lines):
    filled = [x for x in lines if x.strip()]
    return filled[-1] if filled else ""


@pytest.fixture
def term():
    t = Terminal()
    yield t
    t.kill_server()


@pytest.fixture
def chat(chat, term):
    """The shared registry and group, another member ("other", shown by that
    display name) to send from, and the command line that starts our shell in a
    terminal."""
    join(chat.grp, "other", name="other")
    env = {
        "XDG_CONFIG_HOME": str(chat.tmp_path / "config"),
        "XDG_STATE_HOME": str(chat.tmp_path / "state"),
        "TERM": "xterm",
    }
    chat.shell_command = " ".join(
        ["env", *[f"{k}={shlex.quote(v)}" for k, v in env.items()],
         shlex.quote(binary("user_client")), "--server", chat.reg.address, "--user-id", USER])
    return chat


def open_shell(term, session, chat, join_group=True):
    """Starts our shell in a new terminal session and waits for its prompt;
    with join_group, also joins the group and waits for SUCCESS."""
    term.start(session, chat.shell_command)
    term.wait_screen(session, lambda ls: last_line(ls) == ">", what="the prompt")
    if join_group:
        term.type(session, f"join_group {chat.grp.address}")
        term.keys(session, "Enter")
        term.wait_screen(session, lambda ls: "SUCCESS" in ls, what="SUCCESS")


def send_other(chat, text):
    send(chat.grp, "other", text)


def wait_live(term, session, chat):
    """Sends pings from another member until one shows up above the prompt:
    from then on the shell follows the group."""
    deadline = time.monotonic() + 15
    n = 0
    while True:
        send_other(chat, f"ping{n}")
        try:
            term.wait_screen(session, lambda ls: any(f"other : ping" in x for x in ls),
                             timeout=0.5, what="a ping")
            return
        except AssertionError:
            n += 1
            if time.monotonic() > deadline:
                raise


def test_a_pushed_message_appears_above_the_half_typed_line(chat, term):
    g = chat.grp.address
    open_shell(term, "s1", chat)
    wait_live(term, "s1", chat)

    term.type("s1", "get_mess")  # half a command, no Enter
    term.wait_screen("s1", lambda ls: last_line(ls) == "> get_mess", what="the typed text")
    send_other(chat, "hello while typing")
    pushed = f"[{g}] other : hello while typing ("
    lines = term.wait_screen("s1", lambda ls: any(x.startswith(pushed) for x in ls),
                             what="the pushed line")
    assert last_line(lines) == "> get_mess", lines  # the prompt and the typed text, intact
    pushed_at = next(i for i, x in enumerate(lines) if x.startswith(pushed))
    assert lines[pushed_at + 1] == "> get_mess", lines  # the pushed line is above it

    term.type("s1", f"ages {g}")  # finish the line: the command runs
    term.keys("s1", "Enter")
    lines = term.wait_screen(
        "s1", lambda ls: any(x.startswith("other : hello while typing (") for x in ls),
        what="get_messages output")
    assert last_line(lines) == ">", lines

    term.keys("s1", "Up")  # history: the previous command comes back
    term.wait_screen("s1", lambda ls: last_line(ls) == f"> get_messages {g}",
                     what="the recalled command")
    term.keys("s1", "C-u")
    term.type("s1", "exit")
    term.keys("s1", "Enter")
    term.wait_gone("s1")


def test_send_message_lines_are_read_through_the_editor(chat, term):
    g = chat.grp.address
    open_shell(term, "s2", chat)
    term.type("s2", f"send_message {g}")
    term.keys("s2", "Enter")
    term.wait_screen("s2", lambda ls: last_line(ls) == "...", what="the message prompt")
    term.type("s2", "first line")
    term.keys("s2", "Enter")
    term.type("s2", "END")
    term.keys("s2", "Enter")
    lines = term.wait_screen("s2", lambda ls: ls.count("SUCCESS") == 2, what="the send's SUCCESS")
    r = request_json(g, {"action": "getMessage", "user_uuid": "other", "timestamp": None})
    assert [m["message"] for m in r["messages"]] == ["first line"]
    assert r["messages"][0]["user_uuid"] == public_id(g, USER)
    term.wait_screen("s2", lambda ls: last_line(ls) == ">", what="the command prompt again")
    term.keys("s2", "C-d")  # end of input ends the shell
    term.wait_gone("s2")


def test_pasted_lines_are_all_read_in_order(chat, term):
    """Several lines arriving at once (a paste, fast typing) are each taken as
    a line: none is lost while the shell works on the one before."""
    g = chat.grp.address
    open_shell(term, "s4", chat, join_group=False)
    term.type("s4", f"join_group {g}\rsend_message {g}\rpasted one\rpasted two\rEND\r"
                    f"get_messages {g}\r")
    lines = term.wait_screen(
        "s4", lambda ls: any(x.startswith("> get_messages") for x in ls)
        and last_line(ls) == ">", what="the pasted commands' output")
    r = request_json(g, {"action": "getMessage", "user_uuid": "other", "timestamp": None})
    assert [m["message"] for m in r["messages"]] == ["pasted one\npasted two"]
    assert lines.count("SUCCESS") == 2, lines  # the join and the send
    after_get = lines[next(i for i, x in enumerate(lines) if x.startswith("> get_messages")):]
    # printed by get_messages; no name set: the sender shows as its public id
    assert f"{public_id(g, USER)} : pasted one" in after_get, lines
    term.type("s4", "exit\r")
    term.wait_gone("s4")


def test_a_new_shell_follows_the_joined_groups_and_keeps_history(chat, term):
    g = chat.grp.address
    open_shell(term, "a", chat)
    term.type("a", "exit")
    term.keys("a", "Enter")
    term.wait_gone("a")

    open_shell(term, "b", chat, join_group=False)  # no join this time
    wait_live(term, "b", chat)
    term.keys("b", "Up")
    term.wait_screen("b", lambda ls: last_line(ls) == "> exit", what="the last command")
    term.keys("b", "Up")
    term.wait_screen("b", lambda ls: last_line(ls) == f"> join_group {g}",
                     what="the command before it")
    term.keys("b", "C-u")
    term.type("b", f"leave_group {g}")
    term.keys("b", "Enter")
    term.wait_screen("b", lambda ls: "SUCCESS" in ls, what="the leave")
    term.keys("b", "C-c")  # SIGINT ends the shell cleanly
    term.wait_gone("b")
    groups = chat.tmp_path / "config" / "groupchat" / "groups"
    assert USER not in (groups.read_text() if groups.exists() else "")


@pytest.mark.parametrize("lang", ["C.UTF-8", None])
def test_typed_non_ascii_text_arrives_whole(chat, term, lang):
    """Typed UTF-8 (accents, an emoji, CJK) is sent as typed, whether the
    terminal's environment names a UTF-8 locale or names none at all."""
    command = chat.shell_command
    command = command.replace("env ", "env -u LANG -u LC_ALL -u LC_CTYPE " +
                              (f"LANG={lang} " if lang else ""), 1)
    term.start("u", command)
    term.wait_screen("u", lambda ls: last_line(ls) == ">", what="the prompt")
    g = chat.grp.address
    term.type("u", f"join_group {g}")
    term.keys("u", "Enter")
    term.wait_screen("u", lambda ls: "SUCCESS" in ls, what="SUCCESS")
    text = "ünïcødé 😀 日本語"
    term.type("u", f"send_message {g}")
    term.keys("u", "Enter")
    term.type("u", text)
    term.keys("u", "Enter")
    term.type("u", "END")
    term.keys("u", "Enter")
    term.wait_screen("u", lambda ls: ls.count("SUCCESS") >= 2, what="the send's SUCCESS")
    page = request_json(g, {"action": "getMessage", "user_uuid": USER})
    assert page["messages"][-1]["message"] == text, page["messages"][-1]
    term.type("u", "exit")
    term.keys("u", "Enter")
    term.wait_gone("u")


@pytest.mark.parametrize("key", ["C-c", "C-d"])
def test_ctrl_c_or_ctrl_d_while_writing_cancels_the_message_not_the_shell(chat, term, key):
    open_shell(term, "d", chat)
    g = chat.grp.address
    term.type("d", f"send_message {g}")
    term.keys("d", "Enter")
    term.wait_screen("d", lambda ls: last_line(ls).startswith("..."), what="the message prompt")
    term.type("d", "a draft line")
    term.keys("d", "Enter")
    if key == "C-c":
        term.type("d", "half typed")  # Ctrl-C also drops the line being typed
    term.keys("d", key)
    term.wait_screen("d", lambda ls: any("message cancelled, not sent" in x for x in ls)
                     and last_line(ls) == ">",
                     what="the cancelled draft and the prompt")
    # The shell goes on, and nothing of the draft was sent.
    term.type("d", f"get_messages {g}")
    term.keys("d", "Enter")
    term.type("d", "help")
    term.keys("d", "Enter")
    term.wait_screen("d", lambda ls: any("join_group" in x for x in ls), what="help's output")
    page = request_json(g, {"action": "getMessage", "user_uuid": USER})
    assert all("draft" not in m["message"] for m in page["messages"]), page
    assert term.alive("d")
    term.type("d", "exit")
    term.keys("d", "Enter")
    term.wait_gone("d")


def test_ones_own_message_is_shown_once(chat, term):
    """The SUCCESS of a send is its line; the live copy of it is not shown again."""
    open_shell(term, "o", chat)
    wait_live(term, "o", chat)
    g = chat.grp.address
    term.type("o", f"send_message {g}")
    term.keys("o", "Enter")
    term.type("o", "mine, once")
    term.keys("o", "Enter")
    term.type("o", "END")
    term.keys("o", "Enter")
    term.wait_screen("o", lambda ls: ls.count("SUCCESS") >= 2, what="the send's SUCCESS")
    # A later message from another member arrives after ours (pushes come in seq order).
    send_other(chat, "after yours")
    lines = term.wait_screen("o", lambda ls: any("other : after yours" in x for x in ls),
                             what="the other member's message")
    assert not any("mine, once" in x for x in lines if x.startswith(f"[{g}]")), lines
    # It is in the group, once.
    page = request_json(g, {"action": "getMessage", "user_uuid": USER})
    assert [m["message"] for m in page["messages"]].count("mine, once") == 1
    term.type("o", "exit")
    term.keys("o", "Enter")
    term.wait_gone("o")


def test_one_group_joined_under_two_spellings_shows_each_message_once(chat, term):
    g = chat.grp.address  # 127.0.0.1:PORT
    other_spelling = f"localhost:{chat.grp.port}"
    open_shell(term, "s9", chat, join_group=False)
    for address in (other_spelling, g):
        term.type("s9", f"join_group {address}")
        term.keys("s9", "Enter")
    term.wait_screen("s9", lambda ls: ls.count("SUCCESS") == 2, what="two SUCCESS")
    wait_live(term, "s9", chat)
    send_other(chat, "said once")
    send_other(chat, "said after")
    # A second follow of the same group (the shell's state keyed by the
    # address as typed) would get both pushes too, on a connection of its
    # own, in order: by the time "said after" is there, "said once" twice.
    lines = term.wait_screen("s9", lambda ls: any("other : said after (" in x for x in ls),
                             what="the later message")
    shown = [x for x in lines if "other : said once (" in x]
    assert len(shown) == 1 and shown[0].startswith(f"[{g}] "), lines
    term.keys("s9", "C-d")
    term.wait_gone("s9")


def test_a_current_group_by_name_in_the_prompt_takes_plain_lines(chat, term):
    """/join NAME joins the group the registry lists under that name and makes
    it the current group: the prompt names it, a line that is no command is
    sent to it (shown once: as typed), the others' messages still appear above
    the prompt, and /leave ends it."""
    g = chat.grp.address
    open_shell(term, "c", chat, join_group=False)
    term.type("c", "/join alpha")
    term.keys("c", "Enter")
    lines = term.wait_screen("c", lambda ls: last_line(ls) == "alpha>", what="the group's prompt")
    assert "SUCCESS" in lines, lines
    assert f"note: lines that are not commands now go to alpha ({g})" in lines, lines
    wait_live(term, "c", chat)

    term.type("c", "hello from the prompt")
    term.keys("c", "Enter")
    term.wait_screen("c", lambda ls: "alpha> hello from the prompt" in ls
                     and last_line(ls) == "alpha>", what="the first line sent")
    term.type("c", "//slash first")
    term.keys("c", "Enter")
    lines = term.wait_screen(
        "c", lambda ls: "alpha> //slash first" in ls and last_line(ls) == "alpha>",
        what="both lines sent")
    page = request_json(g, {"action": "getMessage", "user_uuid": USER})
    assert [m["message"] for m in page["messages"]][-2:] == ["hello from the prompt",
                                                               "/slash first"], page
    assert not any("hello from the prompt" in x for x in lines if x.startswith(f"[{g}]")), lines
    assert "SUCCESS" not in lines[lines.index("alpha> hello from the prompt"):], lines

    # A reference command is still a command, by name too.
    term.type("c", "get_messages alpha")
    term.keys("c", "Enter")
    mine = f"{public_id(g, USER)} : /slash first ("
    term.wait_screen("c", lambda ls: any(x.startswith(mine) for x in ls)
                     and last_line(ls) == "alpha>", what="get_messages by name")

    # The newest message alone.
    term.type("c", "/last 1")
    term.keys("c", "Enter")
    lines = term.wait_screen("c", lambda ls: "alpha> /last 1" in ls and last_line(ls) == "alpha>",
                             what="/last's output")
    shown = lines[lines.index("alpha> /last 1") + 1:-1]
    assert len(shown) == 1 and shown[0].startswith(mine), lines

    term.type("c", "/leave")
    term.keys("c", "Enter")
    term.wait_screen("c", lambda ls: last_line(ls) == ">", what="the plain prompt again")
    term.type("c", "not sent")
    term.keys("c", "Enter")
    term.wait_screen("c", lambda ls: "Invalid command" in ls, what="Invalid command")
    page = request_json(g, {"action": "getMessage", "user_uuid": "other"})
    assert "not sent" not in [m["message"] for m in page["messages"]]
    term.type("c", "/quit")
    term.keys("c", "Enter")
    term.wait_gone("c")


def test_tab_completes_commands_and_group_names(chat, term):
    """Tab puts in the one command or group name that fits what is typed;
    with several, a second Tab lists them."""
    chat.group("alpine", chat.reg.address)
    open_shell(term, "t", chat, join_group=False)
    term.type("t", "/jo")
    term.keys("t", "Tab")
    term.wait_screen("t", lambda ls: last_line(ls) == "> /join", what="the completed command")
    term.type("t", "alp")
    term.keys("t", "Tab")
    term.wait_screen("t", lambda ls: last_line(ls) == "> /join alp", what="the common start")
    term.keys("t", "Tab")
    term.wait_screen("t", lambda ls: any("alpha" in x and "alpine" in x for x in ls),
                     what="both names listed")
    term.type("t", "h")
    term.keys("t", "Tab")
    term.wait_screen("t", lambda ls: last_line(ls) == "> /join alpha", what="the completed name")
    term.keys("t", "Enter")
    term.wait_screen("t", lambda ls: last_line(ls) == "alpha>", what="alpha's prompt")
    # Nothing fits: nothing is put in (no file names either).
    term.type("t", "/join zz")
    term.keys("t", "Tab")
    term.type("t", "!")
    term.wait_screen("t", lambda ls: last_line(ls) == "alpha> /join zz!", what="the line as typed")
    term.keys("t", "C-u")
    term.type("t", "/quit")
    term.keys("t", "Enter")
    term.wait_gone("t")

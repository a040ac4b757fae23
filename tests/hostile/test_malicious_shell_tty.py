"""The shell on a real terminal (tmux) follows a joined group that answers
with garbage and escape sequences: the shell starts, shows its prompt, says
what it skipped, shows the group's message inert, and the terminal's title
and screen are untouched."""
import json
import os
import shlex
import shutil
import sys

import pytest
import zmq

from conftest import binary, free_port
from test_malicious_server import DEEP, FakeServer

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from terminal import Terminal  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")

USER = "tty-hostile"


@pytest.fixture
def term():
    t = Terminal("gc-hostile")
    yield t
    t.kill_server()


def test_the_shell_starts_and_stays_inert_with_a_hostile_joined_group(tmp_path, term):
    evil = "hi\x1b]0;owned\x07\x1b[2J\u202egnp.exe\nmallory : forged (2026-01-01T00:00:00)"
    sent = {"done": False}

    def answer(req):
        if req.get("action") == "follow" and not sent["done"]:
            sent["done"] = True
            return [DEEP, b"\xff\xfe", json.dumps({"response": {"x": 1}}).encode(),
                    json.dumps({"response": "SUCCESS", "last_seq": 0}).encode(),
                    json.dumps({"event": "message", "seq": 1, "user_uuid": 5, "message": "m",
                                "timestamp": "t"}).encode(),
                    json.dumps({"event": "message", "seq": 1, "user_uuid": "u", "message": evil,
                                "timestamp": "t"}).encode()]
        return json.dumps({"response": "SUCCESS", "last_seq": 1}).encode()

    group = FakeServer(answer, kind=zmq.ROUTER)
    try:
        config = tmp_path / "config"
        (config / "groupchat").mkdir(parents=True)
        (config / "groupchat" / "groups").write_text(json.dumps({USER: [group.address]}))
        env = {"XDG_CONFIG_HOME": str(config), "XDG_STATE_HOME": str(tmp_path / "state"),
               "TERM": "xterm"}
        command = " ".join(["env", *[f"{k}={shlex.quote(v)}" for k, v in env.items()],
                            shlex.quote(binary("user_client")), "--server",
                            f"127.0.0.1:{free_port()}", "--user-id", USER])
        term.start("s", command, width=150, height=40)
        g = group.address
        lines = term.wait_screen(
            "s", lambda ls: any(x.startswith(f"    mallory : forged") for x in ls),
            timeout=15, what="the pushed message")
        term.wait_screen("s", lambda ls: any(x.strip() == ">" for x in ls), timeout=15,
                         what="the prompt")
        screen = "\n".join(lines)
        assert f"warning: {g}: skipped a frame that is not JSON: nesting deeper than 32 levels" in screen
        assert f'warning: {g}: skipped a push: "user_uuid" of a message is not a string' in screen
        assert f"[{g}] u : hi\\x1b]0;owned\\x07\\x1b[2J\\u202egnp.exe" in screen
        assert "mallory : forged (2026-01-01T00:00:00)" not in lines  # only indented
        title = term.tmux("display-message", "-p", "-t", "s", "#{pane_title}").stdout
        assert "owned" not in title
        # Still a working shell: a command runs and exit ends it.
        term.type("s", "help")
        term.keys("s", "Enter")
        term.wait_screen("s", lambda ls: any("join_group IP:PORT" in x for x in ls), timeout=15,
                         what="help")
        term.type("s", "exit")
        term.keys("s", "Enter")
        term.wait_gone("s", timeout=10)  # the shell exited
    finally:
        group.close()

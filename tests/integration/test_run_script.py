"""./scripts/run, the README's first command: it starts a registry and the
group "lobby" in curve mode and opens the shell with the registry's key, so a
newcomer sees the system as it should be deployed."""
import os
import shlex
import socket
import stat

import pytest

from conftest import BIN_DIR, free_port
from terminal import Terminal

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


@pytest.fixture
def term():
    t = Terminal("gc-run")
    yield t
    t.kill_server()


def listening(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_run_starts_curve_servers_and_a_shell_that_needs_nothing_more(tmp_path, term):
    reg_port, lobby_port = free_port(), free_port()
    env = {
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "GROUPCHAT_REGISTRY_PORT": str(reg_port),
        "GROUPCHAT_LOBBY_PORT": str(lobby_port),
        # The binaries under test: run builds (a no-op when they are up to date) there.
        "BUILD_DIR": os.path.dirname(os.path.abspath(BIN_DIR)),
    }
    command = ("env -u GROUPCHAT_DATA_DIR -u GROUPCHAT_SERVER -u GROUPCHAT_SERVER_KEY " +
               " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()) + " " +
               shlex.quote(os.path.join(REPO, "scripts", "run")))
    term.start("run", command, width=400)
    lines = term.wait_screen("run", lambda ls: any(x.startswith("registry key: ") for x in ls),
                             timeout=300, what="the servers started")
    assert any("curve mode" in x for x in lines), lines
    logs = next(x for x in lines if "server logs in " in x).split("server logs in ")[1].split()[0]
    assert os.path.isdir(logs)
    key = next(x for x in lines if x.startswith("registry key: ")).split()[2]
    assert len(key) == 40
    key_file = tmp_path / "data" / "groupchat" / f"registry_{reg_port}" / "key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600

    lobby = f"127.0.0.1:{lobby_port}"
    term.type("run", "get_group_list\n")
    term.wait_screen("run", lambda ls: f"lobby - {lobby} (curve)" in ls, what="the curve lobby")
    term.type("run", f"join_group {lobby}\n")
    term.wait_screen("run", lambda ls: "SUCCESS" in ls, what="joined")
    term.type("run", f"send_message {lobby}\nhello from run\nEND\n")
    term.type("run", f"get_messages {lobby}\n")
    term.wait_screen("run", lambda ls: any(" : hello from run (" in x for x in ls),
                     what="the message read back")
    # The registry's key was remembered for the next client.
    known = (tmp_path / "config" / "groupchat" / "known_registries").read_text()
    assert f"127.0.0.1:{reg_port} {key}" in known
    term.type("run", "exit\n")
    term.wait_gone("run", timeout=30)
    # Both servers stopped with the shell, and nothing is left behind.
    assert not listening(reg_port) and not listening(lobby_port)
    assert not os.path.exists(logs)

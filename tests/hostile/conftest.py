"""Fixtures for the hostile-peer tests.

Each test plays one attack against the real binaries on loopback and then
checks that the server still serves a well-behaved peer within a second, and,
where the attack is about memory, that the server's resident size stayed
within its budget plus a stated margin. The integration fixtures (Cluster,
Proc, request, connect, ...) are reused as they are.
"""
import importlib.util
import json
import os
import sys
import time

import pytest
import zmq

# The integration fixtures, loaded under a name of their own: this file is
# itself the module "conftest", so `from conftest import ...` would find it.
def _load_integration_conftest():
    import importlib.util
    path = os.path.join(os.path.dirname(__file__), "..", "integration", "conftest.py")
    spec = importlib.util.spec_from_file_location("integration_conftest", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["integration_conftest"] = module
    spec.loader.exec_module(module)
    return module


_load_integration_conftest()
from integration_conftest import (  # noqa: E402,F401  (re-exported for the tests)
    DEFAULT_TIMEOUT, PUBLIC_ID, Cluster, Keys, Proc, address_of, binary, cluster, chat, connect,
    curve_connect, curve_request, free_port, free_ports, join, json_lines, make_chat, public_id, request,
    request_json, send, start_on_every_address, wait_json_lines,
)

# What a well-behaved peer is given to get its answer after an attack.
SERVE_WITHIN_S = 1.0


def rss_mib(proc):
    """Resident set size of a Proc (or pid) in MiB, read from /proc."""
    pid = proc if isinstance(proc, int) else proc.popen.pid
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"no VmRSS for pid {pid}")


def peak_rss_mib(proc):
    """The highest resident size the process has had (VmHWM), in MiB."""
    pid = proc if isinstance(proc, int) else proc.popen.pid
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"no VmHWM for pid {pid}")


def assert_group_serves(group, user="well-behaved", within=SERVE_WITHIN_S):
    """A well-behaved member joins and reads the newest message within `within` s."""
    assert group.popen.poll() is None, "group_server exited"
    start = time.monotonic()
    r = request_json(address_of(group), {"action": "joinGroup", "user_uuid": user}, timeout=within)
    assert r["response"] == "SUCCESS", r
    left = max(0.05, within - (time.monotonic() - start))
    r = request_json(address_of(group),
                     {"action": "getMessage", "user_uuid": user, "limit": 1}, timeout=left)
    assert r["response"] == "SUCCESS", r
    assert time.monotonic() - start <= within + 0.2


def assert_registry_serves(registry, within=SERVE_WITHIN_S):
    """A well-behaved user gets the group list within `within` s."""
    assert registry.popen.poll() is None, "message_server exited"
    r = request_json(address_of(registry),
                     {"action": "get_group_list", "user_uuid": "well-behaved"}, timeout=within)
    assert isinstance(r, list), r
    return r

"""A node restarted at once under its own name after a crash (as a service manager would): its
previous run's members leave on the other nodes and their names are free; a second node
started under a name a running node has is refused."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from messenger.protocol import Left

from ..clitools import MESSENGER, ServeProcess, cli_env, login, wait_for_joined
from .redistools import RedisServer
from .test_cluster_serve import serve_node

pytestmark = pytest.mark.timeout(40)


def test_a_node_restarted_at_once_after_a_crash_lets_its_old_members_go(
    redis_server: RedisServer, children: list[ServeProcess]
) -> None:
    one = serve_node(children, redis_server, "one")
    two = serve_node(children, redis_server, "two")
    alice, bob = login(one.port, "alice"), login(two.port, "bob")
    try:
        wait_for_joined(alice, "bob")
        os.kill(one.proc.pid, signal.SIGKILL)
        one.proc.wait()
        again = serve_node(children, redis_server, "one")  # its heartbeat key has not expired yet
        while not isinstance(frame := bob.receive(timeout=12), Left):
            pass
        assert frame.user == "alice"
        login(again.port, "alice").close()  # the name is free again, on the new run too
    finally:
        alice.close()
        bob.close()


def test_a_second_node_under_a_running_nodes_name_is_refused(
    redis_server: RedisServer, children: list[ServeProcess]
) -> None:
    serve_node(children, redis_server, "one")
    args = [
        "serve",
        "--port",
        "0",
        "--no-web",
        "--db",
        ":memory:",
        "--node",
        "one",
        "--redis",
        redis_server.url,
    ]
    # It waits out the running node's heartbeat (7 s) before it gives up: longer than RUN_TIMEOUT.
    result = subprocess.run(
        [*MESSENGER, *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=30,
    )
    assert result.returncode == 1
    assert "another node named one is running" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr

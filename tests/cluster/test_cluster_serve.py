"""``messenger serve --redis``: nodes as child processes, a node killed, serve without Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from messenger.client import Client
from messenger.protocol import Left

from ..clitools import WAIT, ServeProcess, cli_env, free_port, login, run_cli, wait_for_joined
from .clustertools import said
from .redistools import RedisServer


def serve_node(children: list[ServeProcess], redis: RedisServer, name: str) -> ServeProcess:
    """``messenger serve`` joined to ``redis`` (the URL from the environment) as ``name``."""
    child = ServeProcess("--port", "0", "--no-web", "--node", name, env={"MESSENGER_REDIS": redis.url})
    children.append(child)
    return child


def test_nodes_as_processes_chat_and_a_killed_node_leaves_within_ten_seconds(
    redis_server: RedisServer, children: list[ServeProcess]
) -> None:
    one = serve_node(children, redis_server, "one")
    two = serve_node(children, redis_server, "two")
    alice, bob = login(one.port, "alice"), login(two.port, "bob")
    try:
        wait_for_joined(alice, "bob")
        alice.say("hello from one")
        [message] = said(bob, 1)
        assert (message.sender, message.text) == ("alice", "hello from one")
        os.kill(one.proc.pid, signal.SIGKILL)  # no goodbye: only the heartbeat tells
        while not isinstance(frame := bob.receive(timeout=10), Left):
            pass
        assert frame.user == "alice"
        again = login(two.port, "alice")  # the name is free again
        again.close()
    finally:
        alice.close()
        bob.close()


def test_a_node_that_cannot_reach_redis_says_so_in_one_line() -> None:
    nowhere = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    result = run_cli("serve", "--port", "0", "--no-web", "--redis", nowhere)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "cannot reach Redis" in errors[0], result.stderr
    assert "Traceback" not in result.stderr


SERVE_WITHOUT_REDIS = """
import sys
sys.modules["redis"] = None  # any import of redis now fails
from messenger.launch import main
sys.argv = ["messenger", *sys.argv[1:]]
main()
"""


def test_serve_without_redis_never_imports_it() -> None:
    """The server runs and chats with redis unimportable; asked for --redis, it says it needs it."""
    args = ["serve", "--port", "0", "--no-web", "--db", ":memory:"]
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE_WITHOUT_REDIS, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        assert banner.startswith("Server is running on"), banner + proc.stderr.read()  # type: ignore[union-attr]
        port = int(banner.rsplit(":", 1)[1])
        client: Client = login(port, "solo")
        client.say("still here")
        [message] = said(client, 1)
        assert message.text == "still here"
        client.close()
    finally:
        proc.kill()
        proc.communicate(timeout=WAIT)
    refused = subprocess.run(
        [sys.executable, "-c", SERVE_WITHOUT_REDIS, *args, "--redis", "redis://127.0.0.1:1/0"],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=WAIT * 3,
    )
    assert refused.returncode == 1 and "needs redis-py" in refused.stderr, refused.stderr

"""``messenger connect`` piped against the in-process server of conftest: scripts, flood control,
refused lines, login errors, and the server going away.

Every wait is on an event (a line printed, a frame received, a process exiting) and has a
deadline; nothing sleeps.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

from messenger.client import Client
from messenger.protocol import Left

from .clitools import (
    ESCAPE,
    RUN_TIMEOUT,
    WAIT,
    assert_one_error_line,
    cli_env,
    finish,
    free_port,
    messages_from,
    run_cli,
    start_connect,
    wait_for_joined,
)

# ------------------------------------------------------------------------------------------------
# messenger connect, piped
# ------------------------------------------------------------------------------------------------


def check_piped_delivery(port: int, watcher: Client, count: int) -> tuple[subprocess.CompletedProcess, float]:
    lines = [f"line {number}" for number in range(1, count + 1)]
    started = time.monotonic()
    result = run_cli("connect", "--port", str(port), "--user", "bot", input="\n".join(lines) + "\n")
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    received = messages_from(watcher, "bot", lambda frame: frame.text == lines[-1])
    assert [frame.text for frame in received] == lines
    ids = [frame.id for frame in received]
    assert ids == sorted(ids)
    # The process's own output: every echo, in order, as plain text.
    assert ESCAPE not in result.stdout
    assert ESCAPE not in result.stderr
    echoed = [line for line in result.stdout.splitlines() if line.startswith("bot: ")]
    assert echoed == [f"bot: {line}" for line in lines]
    return result, elapsed


def test_piped_lines_are_all_delivered_in_order(server: Any, clients: Callable[[int, str], Client]) -> None:
    watcher = clients(server.port, "watcher")
    result, _ = check_piped_delivery(server.port, watcher, 200)
    assert "bot has joined the chat!" in result.stdout
    assert "Traceback" not in result.stderr


def test_piped_lines_survive_flood_control(make_server: Callable[..., Any], clients: Callable) -> None:
    server = make_server(max_rate=100, burst=10)
    watcher = clients(server.port, "watcher")
    _, elapsed = check_piped_delivery(server.port, watcher, 200)
    # 190 lines beyond the burst at 100 a second: the sender really was slowed down.
    assert elapsed >= 1.5


def test_piped_output_shows_markup_literally(server: Any, clients: Callable[[int, str], Client]) -> None:
    watcher = clients(server.port, "watcher")
    texts = ["[bold]x[/bold]", "[red]not red", ":smile: [link=http://x]y[/link]"]
    result = run_cli("connect", "--port", str(server.port), "--user", "bot", input="\n".join(texts) + "\n")
    assert result.returncode == 0, result.stderr
    received = messages_from(watcher, "bot", lambda frame: frame.text == texts[-1])
    assert [frame.text for frame in received] == texts
    for text in texts:
        assert f"bot: {text}" in result.stdout.splitlines()
    assert ESCAPE not in result.stdout


def test_piped_commands_and_blank_lines(server: Any, clients: Callable[[int, str], Client]) -> None:
    watcher = clients(server.port, "watcher")
    piped = "first\n\n   \n/me waves\n//x\n\t\nlast\n"
    result = run_cli("connect", "--port", str(server.port), "--user", "bot", input=piped)
    # A blank line sent to the server would come back as an `empty` error and exit 1.
    assert result.returncode == 0, result.stderr
    assert "error" not in result.stderr
    received = messages_from(watcher, "bot", lambda frame: frame.text == "last")
    assert [(frame.text, frame.action) for frame in received] == [
        ("first", False),
        ("waves", True),
        ("/x", False),
        ("last", False),
    ]
    assert "* bot waves" in result.stdout.splitlines()
    assert "bot: /x" in result.stdout.splitlines()


def test_piped_quit_waits_for_earlier_lines_and_stops_reading(
    server: Any, clients: Callable[[int, str], Client]
) -> None:
    watcher = clients(server.port, "watcher")
    result = run_cli("connect", "--port", str(server.port), "--user", "bot", input="a\nb\n/quit\nnot sent\n")
    assert result.returncode == 0, result.stderr
    # The echoes of the lines before /quit arrived before the command left.
    assert result.stdout.splitlines()[-2:] == ["bot: a", "bot: b"]
    received = messages_from(watcher, "bot", lambda frame: frame.text == "b")
    assert [frame.text for frame in received] == ["a", "b"]
    watcher.ping("after")
    frames = [watcher.receive(timeout=WAIT) for _ in range(2)]
    assert frames[0] == Left("bot", ts=frames[0].ts, reason="quit")  # nothing after /quit was sent


def test_piped_lines_the_server_refuses_make_the_exit_status_1(
    server: Any, clients: Callable[[int, str], Client]
) -> None:
    watcher = clients(server.port, "watcher")
    result = run_cli(
        "connect", "--port", str(server.port), "--user", "bot", input="/msg nobody hi\nstill sent\n"
    )
    assert result.returncode == 1
    assert_one_error_line(result.stderr, "nobody")
    [message] = messages_from(watcher, "bot", lambda frame: True)
    assert message.text == "still sent"


def test_connect_accepts_long_lines_of_a_server_with_a_larger_limit(
    make_server: Callable[..., Any], clients: Callable[[int, str], Client]
) -> None:
    server = make_server(max_line=200 * 1024, sendq=1024 * 1024)
    alice = Client.connect("127.0.0.1", server.port, timeout=WAIT, max_line=200 * 1024)
    alice.login("alice")
    proc = start_connect(server.port, "bot", "--max-line", "200K")
    wait_for_joined(alice, "bot")
    big = "é" * 50_000  # 100 KB of UTF-8: more than 4 x the default 16 KiB limit
    alice.say(big)
    messages_from(alice, "alice", lambda frame: True)
    out, err = proc.communicate("done\n", timeout=RUN_TIMEOUT)
    alice.close()
    assert proc.returncode == 0, err
    assert f"alice: {big}" in out.splitlines()


def test_serve_refuses_a_sendq_smaller_than_one_frame() -> None:
    result = run_cli("serve", "--port", "0", "--max-line", "16K", "--sendq", "32K")
    assert result.returncode == 2
    assert "--sendq" in result.stderr
    assert "Traceback" not in result.stderr


def test_connect_takes_port_and_user_from_the_environment(
    server: Any, clients: Callable[[int, str], Client]
) -> None:
    watcher = clients(server.port, "watcher")
    env = cli_env(MESSENGER_PORT=str(server.port), MESSENGER_USER="envbot")
    result = run_cli("connect", input="from the environment\n", env=env)
    assert result.returncode == 0, result.stderr
    [message] = messages_from(watcher, "envbot", lambda frame: True)
    assert message.text == "from the environment"


# ------------------------------------------------------------------------------------------------
# messenger connect, errors
# ------------------------------------------------------------------------------------------------


def test_connection_refused() -> None:
    port = free_port()
    result = run_cli("connect", "--port", str(port), "--user", "bot", input="hello\n")
    assert result.returncode == 1
    assert_one_error_line(result.stderr, "refused", str(port))


def test_taken_name(server: Any, clients: Callable[[int, str], Client]) -> None:
    clients(server.port, "alice")
    result = run_cli("connect", "--port", str(server.port), "--user", "ALICE", input="hi\n")
    assert result.returncode == 1
    assert_one_error_line(result.stderr, "ALICE", "taken")


def test_bad_name(server: Any) -> None:
    result = run_cli("connect", "--port", str(server.port), "--user", "a b", input="hi\n")
    assert result.returncode == 1
    assert_one_error_line(result.stderr, "name")


def test_no_user_when_not_on_a_terminal(server: Any) -> None:
    result = run_cli("connect", "--port", str(server.port), input="hi\n")
    assert result.returncode != 0
    assert_one_error_line(result.stderr, "--user")


# ------------------------------------------------------------------------------------------------
# messenger connect, the server goes away
# ------------------------------------------------------------------------------------------------


def test_server_shutdown_ends_connect_with_status_0(
    make_server: Callable[..., Any], clients: Callable[[int, str], Client]
) -> None:
    server = make_server()
    watcher = clients(server.port, "watcher")
    proc = start_connect(server.port, "bot")
    wait_for_joined(watcher, "bot")
    server.stop()
    status, out, err = finish(proc)
    assert status == 0, err
    assert "shutting down" in out.lower()
    assert "Traceback" not in err


def test_connection_lost_without_shutdown_exits_1() -> None:
    """A server that welcomes the client and then just closes the socket."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(RUN_TIMEOUT)
    said_hello = threading.Event()

    def fake_server() -> None:
        conn, _ = listener.accept()
        with conn, conn.makefile("rb") as reader:
            reader.readline()
            said_hello.set()
            welcome = b'{"type":"welcome","user":"bot","users":["bot"],"server":"fake/0","protocol":1}\n'
            conn.sendall(welcome)

    thread = threading.Thread(target=fake_server, daemon=True)
    thread.start()
    try:
        proc = start_connect(listener.getsockname()[1], "bot")
        status, _, err = finish(proc)
    finally:
        listener.close()
    assert said_hello.is_set()
    assert status == 1
    assert_one_error_line(err, "lost")

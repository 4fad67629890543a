"""The ``messenger`` command line, run as real subprocesses against real servers.

``serve`` runs as a child process (banner, signals, busy port); ``connect`` runs piped against
the in-process server of conftest (scripts, errors, server gone) and in a pseudo-terminal
through pexpect (what a person sees).  Every wait is on an event — a line printed, a frame
received, a process exiting — and has a deadline; nothing sleeps.
"""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

import pexpect
import pytest

from messenger import __version__
from messenger.client import Client, ConnectError, ConnectionClosed
from messenger.protocol import Left, Shutdown

from .clitools import (
    ESCAPE,
    MESSENGER,
    RUN_TIMEOUT,
    WAIT,
    ServeProcess,
    StreamLines,
    assert_one_error_line,
    cli_env,
    free_port,
    login,
    messages_from,
    next_left,
    run_cli,
    spawn_in_terminal,
    start_cli,
    wait_for_joined,
)

# ------------------------------------------------------------------------------------------------
# Help and version
# ------------------------------------------------------------------------------------------------


def test_app_help_lists_the_commands() -> None:
    result = run_cli("--help")
    assert result.returncode == 0, result.stderr
    assert "serve" in result.stdout
    assert "connect" in result.stdout
    assert "--version" in result.stdout


@pytest.mark.parametrize(
    ("command", "options"),
    [
        (
            "serve",
            (
                "--host",
                "--port",
                "--max-rate",
                "--burst",
                "--max-line",
                "--sendq",
                "--max-clients",
                "--log-level",
                "MESSENGER_PORT",
                "MESSENGER_MAX_RATE",
                "MESSENGER_SENDQ",
                "--db",
                "~/.local/share/messenger/history.db",
                "--history",
                "--retain-days",
                "--retain-messages",
                "--auth",
                "--password",
                "--tls-cert",
                "--tls-key",
                "--max-per-ip",
                "--max-conn-rate",
            ),
        ),
        ("send", ("--user", "--to", "--tls", "--cafile", "--insecure", "--password-file")),
        ("users", ("add", "passwd", "remove", "list", "role", "audit")),
        (
            "connect",
            (
                "--host",
                "--port",
                "--user",
                "MESSENGER_HOST",
                "MESSENGER_PORT",
                "MESSENGER_USER",
                "--timestamps",
                "--bell",
                "--json",
                "--listen",
                "--reconnect",
                "--no-history",
                "--tls",
                "--cafile",
                "--insecure",
                "--password-file",
            ),
        ),
    ],
)
def test_command_help_mentions_its_options(command: str, options: tuple[str, ...]) -> None:
    result = run_cli(command, "--help")
    assert result.returncode == 0, result.stderr
    for option in options:
        assert option in result.stdout, f"{option} missing from '{command} --help'"
    assert ESCAPE not in result.stdout


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"messenger {__version__}"


@pytest.mark.parametrize(
    "args",
    [
        ("serve", "--port", "70000"),
        ("serve", "--max-line", "lots"),
        ("connect", "--port", "notaport", "--user", "bot"),
        ("nosuchcommand",),
    ],
)
def test_usage_errors_exit_2_without_traceback(args: tuple[str, ...]) -> None:
    result = run_cli(*args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr


# ------------------------------------------------------------------------------------------------
# messenger serve
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_stops_on_signal_and_tells_clients(serve: Callable[..., ServeProcess], signum: int) -> None:
    server = serve("--port", "0")
    # Logging in proves the server is serving, so its signal handlers are installed.
    with login(server.port, "alice") as alice:
        started = time.monotonic()
        server.proc.send_signal(signum)
        frames = [alice.receive(timeout=3.0)]
        while not isinstance(frames[-1], Shutdown):
            frames.append(alice.receive(timeout=3.0))
        with pytest.raises(ConnectionClosed):
            alice.receive(timeout=3.0)
        status = server.proc.wait(timeout=2.0)
        elapsed = time.monotonic() - started
    assert status == 0
    assert elapsed < 2.0
    assert not any(isinstance(frame, Left) for frame in frames)  # no left frames during shutdown
    assert "Traceback" not in server.stderr.rest()


def test_serve_sends_text_mode_clients_a_shutdown_line(serve: Callable[..., ServeProcess]) -> None:
    server = serve("--port", "0")
    with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
        reader = sock.makefile("r", encoding="utf-8")
        sock.sendall(b"Dave\n")
        while "Dave has joined the chat!" not in reader.readline():
            pass
        server.proc.send_signal(signal.SIGTERM)
        rest = reader.read()  # up to EOF: the server closes the connection
    assert "shutting down" in rest.lower()
    assert server.proc.wait(timeout=2.0) == 0


def test_serve_on_a_busy_port_fails_with_one_line(serve: Callable[..., ServeProcess]) -> None:
    first = serve("--port", "0")
    result = run_cli("serve", "--port", str(first.port))
    assert result.returncode != 0
    assert_one_error_line(result.stderr, str(first.port), "in use")
    assert "Server is running" not in result.stdout
    assert first.proc.poll() is None  # the first server is unharmed


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


def start_connect(port: int, user: str, *extra: str) -> subprocess.Popen:
    """``messenger connect`` with stdin a pipe that stays open until the test writes or closes it."""
    return start_cli("connect", "--port", str(port), "--user", user, *extra)


def finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    """Wait for ``proc`` to exit on its own (stdin still open), then collect its output."""
    try:
        status = proc.wait(timeout=WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()
        out, err = proc.communicate(timeout=WAIT)
    return status, out, err


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


# ------------------------------------------------------------------------------------------------
# connect --json, connect --listen, send
# ------------------------------------------------------------------------------------------------


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line of ``text`` parsed as one JSON object (fails on anything else)."""
    frames = [json.loads(line) for line in text.splitlines()]
    assert all(isinstance(frame, dict) and isinstance(frame.get("type"), str) for frame in frames)
    return frames


def test_json_prints_every_frame_as_one_object_per_line(
    server: Any, clients: Callable[[int, str], Client]
) -> None:
    alice = clients(server.port, "alice")
    lines = "hello\n/me waves\n/msg alice psst\n/msg nobody x\n"
    result = run_cli("connect", "--port", str(server.port), "--user", "bot", "--json", input=lines)
    assert result.returncode == 1  # a script learns that one line was refused
    frames = json_lines(result.stdout)
    assert frames[0]["type"] == "welcome" and frames[0]["user"] == "bot"
    assert sorted(frames[0]["users"]) == ["alice", "bot"]
    assert {"type": "joined", "user": "bot"}.items() <= frames[1].items()
    messages = [f for f in frames if f["type"] == "message"]
    assert [(m["from"], m["text"], m.get("action"), m.get("to")) for m in messages] == [
        ("bot", "hello", None, None),
        ("bot", "waves", True, None),
        ("bot", "psst", None, "alice"),
    ]
    assert [m["id"] for m in messages] == sorted(m["id"] for m in messages)
    [error] = [f for f in frames if f["type"] == "error"]
    assert (error["code"], error["re"]) == ("unknown_user", "say")
    assert not [f for f in frames if f["type"] == "pong"]  # the client's own flush marker is hidden
    assert_one_error_line(result.stderr, "nobody")
    texts = [m.text for m in messages_from(alice, "bot", lambda frame: frame.text == "psst")]
    assert texts == ["hello", "waves", "psst"]


def test_json_passes_frames_on_exactly_as_the_server_sent_them() -> None:
    """Fields and frame types this client does not know are printed too, byte for byte."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(RUN_TIMEOUT)
    sent = [
        '{"type":"welcome","user":"bot","users":["bot"],"server":"fake/9","protocol":1,"motd":"hé"}',
        '{"type":"poll","question":"lunch?","options":["yes","no"]}',
        '{"type":"message","id":1,"from":"x","text":"[b]hi[/b]","ts":"2026-11-24T21:50:00.123Z","room":"#a"}',
        '{"type":"shutdown","message":"bye"}',
    ]

    def fake_server() -> None:
        conn, _ = listener.accept()
        with conn, conn.makefile("rb") as reader:
            reader.readline()
            conn.sendall("".join(line + "\n" for line in sent).encode())
            reader.readline()  # wait for the client to go away

    threading.Thread(target=fake_server, daemon=True).start()
    try:
        proc = start_connect(listener.getsockname()[1], "bot", "--json", "--listen")
        status, out, err = finish(proc)
    finally:
        listener.close()
    assert status == 0, err
    assert out.splitlines() == sent


@pytest.mark.parametrize("output", ["--json", "--color=never"])
def test_a_closed_output_ends_connect_quietly(server: Any, output: str) -> None:
    """``messenger connect ... | head -1``: once the reader has gone, leave without a word."""
    proc = start_connect(server.port, "bot", output)
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline()  # the first line, as `head -1` would take it
    proc.stdout.close()
    with contextlib.suppress(BrokenPipeError):  # it may be gone before it has read them all
        for number in range(20):  # more output to write: the next write finds the pipe closed
            proc.stdin.write(f"line {number}\n")
        proc.stdin.close()
    assert proc.wait(timeout=WAIT) == 0
    err = proc.stderr.read()
    assert "Traceback" not in err and "Exception" not in err and "error:" not in err, err


def test_listen_prints_what_arrives_and_never_reads_stdin(
    make_server: Callable[..., Any], clients: Callable[[int, str], Client]
) -> None:
    server = make_server()
    alice = clients(server.port, "alice")
    proc = start_connect(server.port, "watcher", "--listen")
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("this must not be sent\n")
    proc.stdin.close()  # and the end of stdin does not end the listener either
    wait_for_joined(alice, "watcher")
    alice.say("first")
    out = StreamLines(proc.stdout)
    out.expect(lambda line: line == "alice: first")
    alice.say("second")
    out.expect(lambda line: line == "alice: second")
    assert not [m for m in messages_from(alice, "alice", lambda f: f.text == "second") if m.sender != "alice"]
    server.stop()
    out.expect(lambda line: "shutting down" in line.lower())
    assert proc.wait(timeout=WAIT) == 0  # the server said goodbye
    assert "Traceback" not in (proc.stderr.read() if proc.stderr else "")


def test_listen_exits_1_when_the_connection_is_lost(server: Any) -> None:
    proc = start_connect(server.port, "watcher", "--listen", "--json")
    assert proc.stdout is not None
    out = StreamLines(proc.stdout)
    out.expect(lambda line: json.loads(line)["type"] == "joined")
    [handler] = [h for h in server.server.connections() if h.member and h.member.name == "watcher"]
    handler.abort()
    status, _, err = finish(proc)
    assert status == 1
    assert_one_error_line(err, "lost")


def test_listen_stops_on_ctrl_c_with_status_0(server: Any, clients: Callable[[int, str], Client]) -> None:
    alice = clients(server.port, "alice")
    proc = start_connect(server.port, "watcher", "--listen")
    wait_for_joined(alice, "watcher")
    proc.send_signal(signal.SIGINT)
    status, _, err = finish(proc)
    assert status == 0, err
    assert "Traceback" not in err
    left = next_left(alice)
    assert (left.user, left.reason) == ("watcher", "quit")


def test_send_delivers_one_message_and_exits_0(server: Any, clients: Callable[[int, str], Client]) -> None:
    alice = clients(server.port, "alice")
    result = run_cli("send", "--port", str(server.port), "--user", "ci", "deploy", "finished", input=None)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    [message] = messages_from(alice, "ci", lambda frame: True)
    assert message.text == "deploy finished"
    left = next_left(alice)
    assert (left.user, left.reason) == ("ci", "quit")


def test_send_delivers_every_line_of_stdin_literally(
    server: Any, clients: Callable[[int, str], Client]
) -> None:
    alice = clients(server.port, "alice")
    lines = [f"line {n}" for n in range(100)] + ["", "/me is not a command here", "[b]x[/b]"]
    result = run_cli("send", "--port", str(server.port), "--user", "ci", input="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    received = messages_from(alice, "ci", lambda frame: frame.text == "[b]x[/b]")
    assert [m.text for m in received] == [line for line in lines if line]
    assert not any(m.action for m in received)


def test_send_privately(server: Any, clients: Callable[[int, str], Client]) -> None:
    alice = clients(server.port, "alice")
    result = run_cli("send", "--port", str(server.port), "--user", "ci", "--to", "ALICE", "psst", input=None)
    assert result.returncode == 0, result.stderr
    [message] = messages_from(alice, "ci", lambda frame: True)
    assert (message.text, message.to) == ("psst", "alice")


@pytest.mark.parametrize(
    ("args", "input", "words"),
    [
        (("--to", "nobody", "hi"), None, ("nobody",)),
        (("",), None, ("nothing to send",)),
        ((), "\n\n", ("nothing to send",)),
        ((), "x" * 20_000 + "\n", ("longer",)),
    ],
    ids=["unknown-user", "empty-argument", "blank-stdin", "too-long"],
)
def test_send_failures_exit_1_with_one_error_line(
    server: Any, args: tuple[str, ...], input: str | None, words: tuple[str, ...]
) -> None:
    result = run_cli("send", "--port", str(server.port), "--user", "ci", *args, input=input)
    assert result.returncode == 1, result.stderr
    assert_one_error_line(result.stderr, *words)


def test_send_to_a_server_that_is_not_there() -> None:
    result = run_cli("send", "--port", str(free_port()), "--user", "ci", "hi", input=None)
    assert result.returncode == 1
    assert_one_error_line(result.stderr, "refused")


# ------------------------------------------------------------------------------------------------
# messenger connect, interactive in a pseudo-terminal
# ------------------------------------------------------------------------------------------------


def test_interactive_session_in_a_terminal(server: Any, clients: Callable[[int, str], Client]) -> None:
    alice = clients(server.port, "alice")
    child = spawn_in_terminal("connect", "--port", str(server.port))
    try:
        # The seed's order: the prompt, then the greeting once logged in.
        child.expect_exact("Enter your username: ", timeout=RUN_TIMEOUT)
        child.sendline("carol")
        child.expect_exact("Connected to the server!")
        child.expect_exact("carol has joined the chat!")
        wait_for_joined(alice, "carol")

        alice.say("hello carol")
        child.expect_exact("alice: hello carol")

        child.sendline("hi all")
        [message] = messages_from(alice, "carol", lambda frame: True)
        assert message.text == "hi all"
        child.expect_exact("carol: hi all")

        child.sendline("/quit")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0
        before = child.before or ""
        assert "Traceback" not in before
    finally:
        if child.isalive():
            child.terminate(force=True)
    left = next_left(alice)
    assert (left.user, left.reason) == ("carol", "quit")


@pytest.mark.parametrize("key", ["ctrl-c", "ctrl-d", "error-then-ctrl-d"])
def test_interactive_ctrl_c_and_ctrl_d_leave_cleanly(
    server: Any, clients: Callable[[int, str], Client], key: str
) -> None:
    alice = clients(server.port, "alice")
    child = spawn_in_terminal("connect", "--port", str(server.port), "--user", "dave")
    try:
        child.expect_exact("dave has joined the chat!", timeout=RUN_TIMEOUT)
        wait_for_joined(alice, "dave")
        # A line typed and delivered shows the session is running (its feeder reads the keyboard).
        child.sendline("ready")
        [message] = messages_from(alice, "dave", lambda frame: True)
        assert message.text == "ready"
        child.expect_exact("dave: ready")  # and the echo is shown: nothing is in flight
        if key == "error-then-ctrl-d":
            # A refused request is shown, and leaving afterwards is still a clean exit.
            child.sendline("/msg nobody hi")
            child.expect_exact("error: no user named 'nobody' is online")
        if key == "ctrl-c":
            child.sendintr()
        else:
            child.sendeof()
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0
        assert "Traceback" not in (child.before or "")
    finally:
        if child.isalive():
            child.terminate(force=True)
    left = next_left(alice)
    assert (left.user, left.reason) == ("dave", "quit")


# ------------------------------------------------------------------------------------------------
# Closed standard streams: `<&-`, `>&-`, `2>&-` really close the descriptor (DEVNULL would not)
# ------------------------------------------------------------------------------------------------


def run_in_shell(script: str, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    """``bash -c SCRIPT`` where "$@" is ``python -m messenger ARGS``: the redirections in SCRIPT
    close descriptors as a shell user would."""
    return subprocess.run(
        ["bash", "-c", script, "bash", *MESSENGER, *args],
        input=input,
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=RUN_TIMEOUT,
    )


@pytest.mark.parametrize(
    ("script", "args", "status", "error"),
    [
        ('"$@" <&-', ("connect", "--user", "ann"), 1, "stdin is closed"),
        ('"$@" <&-', ("send", "--user", "ann"), 1, "nothing to send"),
        ('"$@" <&-', ("send", "--user", "ann", "hello"), 0, None),
        ('"$@" >&-', ("connect", "--user", "ann"), 1, "stdout is closed"),
        ('"$@" >&-', ("send", "--user", "ann", "hello"), 0, None),
        ('"$@" 2>&-', ("connect", "--user", "ann"), 0, None),
        ('"$@" 2>&-', ("send", "--user", "ann", "hello"), 0, None),
        ('"$@" <&-', ("users", "add", "ann", "--db", "DB"), 1, "password is empty"),
        ('"$@" >&-', ("users", "list", "--db", "DB"), 0, None),
        ('"$@" 2>&-', ("users", "list", "--db", "DB"), 0, None),
    ],
)
def test_closed_standard_streams_end_without_a_traceback(
    server: Any, tmp_path: Any, script: str, args: tuple[str, ...], status: int, error: str | None
) -> None:
    args = tuple(str(tmp_path / "h.db") if arg == "DB" else arg for arg in args)
    if args[:2] == ("users", "list"):
        assert run_cli("users", "add", "zed", "--db", str(tmp_path / "h.db"), input="pw\n").returncode == 0
    if args[0] != "users":
        args = (*args, "--port", str(server.port))
    result = run_in_shell(script, *args, input="hi\n")
    assert result.returncode == status, result.stderr
    if error is None:
        assert "Traceback" not in result.stderr and "error:" not in result.stderr, result.stderr
    else:
        assert_one_error_line(result.stderr, error)


def test_listen_works_with_stdin_closed(server: Any, clients: Callable[[int, str], Client]) -> None:
    alice = clients(server.port, "alice")
    proc = subprocess.Popen(
        [
            "bash",
            "-c",
            'exec "$@" <&-',
            "bash",
            *MESSENGER,
            "connect",
            "--listen",
            "--user",
            "ear",
            "--port",
            str(server.port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )
    out = StreamLines(proc.stdout)  # type: ignore[arg-type]
    try:
        wait_for_joined(alice, "ear")
        alice.say("for the listener")
        out.expect(lambda line: line == "alice: for the listener")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=WAIT) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in (proc.stderr.read() if proc.stderr else "")


def test_serve_runs_with_its_standard_streams_closed(tmp_path: Any) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            "bash",
            "-c",
            'exec "$@" <&- >&- 2>&-',
            "bash",
            *MESSENGER,
            "serve",
            "--port",
            str(port),
            "--db",
            ":memory:",
        ],
        env=cli_env(),
    )
    try:
        deadline = time.monotonic() + RUN_TIMEOUT
        while True:  # the banner cannot be read (stdout is closed): wait for the port to answer
            try:
                alice = login(port, "alice")
                break
            except ConnectError:
                assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
                time.sleep(0.05)
        alice.close()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=WAIT) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# ------------------------------------------------------------------------------------------------
# Option values: usage errors that name what the user typed; help a person reads
# ------------------------------------------------------------------------------------------------

NONSENSE = [
    ("serve", "--port", "-1"),
    ("serve", "--port", "65536"),
    ("serve", "--max-line", "0"),
    ("serve", "--max-line", "1"),
    ("serve", "--max-line", "99G"),
    ("serve", "--max-line", "1.5M"),
    ("serve", "--sendq", "-5"),
    ("serve", "--sendq", "99999G"),
    ("serve", "--max-rate", "nan"),
    ("serve", "--max-rate", "-1"),
    ("serve", "--burst", "0"),
    ("serve", "--burst", "1" + "0" * 40),
    ("serve", "--max-clients", "0"),
    ("serve", "--max-per-ip", "-1"),
    ("serve", "--max-conn-rate", "inf"),
    ("serve", "--history", "501"),
    ("serve", "--retain-days", "1e999"),
    ("serve", "--retain-days", "10000000"),
    ("serve", "--retain-messages", "-1"),
    ("serve", "--log-level", "loud"),
    ("serve", "--auth", "maybe"),
    ("serve", "--password", ""),
    ("connect", "--port", "0"),
    ("connect", "--max-line", "0"),
    ("connect", "--max-line", "-3"),
    ("connect", "--max-line", "garbage"),
    ("connect", "--timeout", "0"),
    ("connect", "--timeout", "nan"),
    ("connect", "--timeout", "1e300"),
    ("connect", "--history", "-1"),
    ("connect", "--history", "1" + "0" * 30),
    ("connect", "--color", "pink"),
    ("connect", "--bell", "loud"),
    ("send", "--port", "0"),
    ("send", "--max-line", "0"),
    ("send", "--timeout", "-1"),
]


@pytest.mark.parametrize(("command", "option", "value"), NONSENSE)
def test_nonsense_option_values_are_usage_errors_naming_the_option(
    command: str, option: str, value: str
) -> None:
    extra = (
        ("--user", "bot", "hi") if command == "send" else ("--user", "bot") if command == "connect" else ()
    )
    result = run_cli(command, f"{option}={value}", *extra)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert f"Invalid value for {option}:" in " ".join(result.stderr.split()), result.stderr


def test_a_bad_value_from_the_environment_names_the_variable() -> None:
    from_env = run_cli("connect", "--user", "bot", env=cli_env(MESSENGER_PORT="abc"))
    assert from_env.returncode == 2
    assert "Invalid value for MESSENGER_PORT:" in " ".join(from_env.stderr.split()), from_env.stderr
    typed = run_cli("connect", "--user", "bot", "--port", "abc", env=cli_env(MESSENGER_PORT="5555"))
    assert typed.returncode == 2
    flat = " ".join(typed.stderr.split())
    assert "Invalid value for --port:" in flat and "MESSENGER_PORT" not in flat, typed.stderr


@pytest.mark.parametrize(
    "command",
    [
        "",
        "serve",
        "connect",
        "send",
        "users",
        "users add",
        "users passwd",
        "users remove",
        "users list",
        "users role",
        "users audit",
    ],
)
def test_help_shows_no_python_types(command: str) -> None:
    result = run_cli(*command.split(), "--help")
    assert result.returncode == 0, result.stderr
    for python_type in ("<str>", "<bool>", "<int", "<float", "<list", "range]", "x<="):
        assert python_type not in result.stdout, f"{python_type} in 'messenger {command} --help'"


def test_host_help_says_what_the_host_is_for_each_command() -> None:
    assert "address to listen on" in " ".join(run_cli("serve", "--help").stdout.split())
    assert "server to connect to" in " ".join(run_cli("connect", "--help").stdout.split())


def test_a_second_server_on_the_same_port_and_database_is_told_about_the_port(
    serve: Callable[..., ServeProcess], tmp_path: Any
) -> None:
    db = str(tmp_path / "h.db")
    first = serve("--port", "0", "--db", db)
    result = run_cli("serve", "--port", str(first.port), "--db", db)
    assert result.returncode == 1
    assert_one_error_line(result.stderr, "port is in use", str(first.port))


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("serve", "--tls-cert", "/nope.crt", "--tls-key", "/nope.key"), ("/nope.crt", "no such file")),
        (("connect", "--user", "bot", "--cafile", "/nope.pem"), ("/nope.pem", "no such file")),
        (("connect", "--user", "bot", "--password-file", "/nope.txt"), ("/nope.txt", "no such file")),
        (("send", "--user", "bot", "--password-file", "/tmp", "hi"), ("/tmp", "directory")),
    ],
)
def test_a_file_that_cannot_be_read_is_named(args: tuple[str, ...], words: tuple[str, ...]) -> None:
    result = run_cli(*args, "--port", str(free_port()))
    assert result.returncode == 1, result.stderr
    assert_one_error_line(result.stderr, *words)


def test_an_empty_password_is_never_sent(server: Any, tmp_path: Any) -> None:
    empty = tmp_path / "password"
    empty.write_text("\n")
    by_file = run_cli(
        "send", "--user", "bot", "--port", str(server.port), "--password-file", str(empty), "hi"
    )
    assert by_file.returncode == 1
    assert_one_error_line(by_file.stderr, "empty", str(empty))
    env = cli_env(MESSENGER_PASSWORD="")
    by_env = run_cli("connect", "--user", "bot", "--port", str(server.port), input="hi\n", env=env)
    assert by_env.returncode == 1
    assert_one_error_line(by_env.stderr, "MESSENGER_PASSWORD", "empty")


# ------------------------------------------------------------------------------------------------
# Prompts: Ctrl+C and Ctrl+D end the line and stop with status 0; an empty password is asked again
# ------------------------------------------------------------------------------------------------


def stop_at_prompt(child: pexpect.spawn, prompt: str, key: str) -> None:
    child.expect_exact(prompt, timeout=RUN_TIMEOUT)
    if key == "ctrl-c":
        child.sendintr()
    else:
        child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    # A newline, nothing else (the terminal itself may echo the ^C).
    assert (child.before or "").removeprefix("^C") == "\r\n", repr(child.before)


@pytest.mark.parametrize("key", ["ctrl-c", "ctrl-d"])
def test_stopping_at_the_username_prompt(server: Any, key: str) -> None:
    stop_at_prompt(spawn_in_terminal("connect", "--port", str(server.port)), "Enter your username: ", key)


@pytest.mark.parametrize("key", ["ctrl-c", "ctrl-d"])
def test_stopping_at_the_password_prompt(serve: Callable[..., ServeProcess], key: str) -> None:
    server = serve("--port", "0", "--password", "sesame")
    child = spawn_in_terminal("connect", "--port", str(server.port), "--user", "bot")
    stop_at_prompt(child, "Password for bot: ", key)


@pytest.mark.parametrize("prompt", ["New password for ann: ", "Again: "])
@pytest.mark.parametrize("key", ["ctrl-c", "ctrl-d"])
def test_stopping_at_the_users_add_prompts(tmp_path: Any, prompt: str, key: str) -> None:
    child = spawn_in_terminal("users", "add", "ann", "--db", str(tmp_path / "h.db"))
    if prompt == "Again: ":
        child.expect_exact("New password for ann: ", timeout=RUN_TIMEOUT)
        child.sendline("secret")
    stop_at_prompt(child, prompt, key)
    listed = run_cli("users", "list", "--db", str(tmp_path / "h.db"))
    assert "ann" not in listed.stdout  # nothing was changed


def test_an_empty_password_at_the_prompt_is_asked_again_not_sent(serve: Callable[..., ServeProcess]) -> None:
    server = serve("--port", "0", "--password", "sesame")
    child = spawn_in_terminal("connect", "--port", str(server.port), "--user", "bot")
    try:
        for _ in range(6):  # more than the failed logins that lock an address out
            child.expect_exact("Password for bot: ", timeout=RUN_TIMEOUT)
            child.sendline("")
            child.expect_exact("error: the password is empty")
        child.expect_exact("Password for bot: ")
        child.sendline("sesame")
        child.expect_exact("bot has joined the chat!")
        child.sendline("/quit")
        child.expect(pexpect.EOF)
    finally:
        if child.isalive():
            child.terminate(force=True)
    assert "too many" not in (child.before or "")


def test_users_commands_name_a_database_they_cannot_use(tmp_path: Any) -> None:
    missing = str(tmp_path / "nowhere" / "h.db")
    for command in ("list", "remove ann", "passwd ann", "role ann op", "audit"):
        result = run_cli("users", *command.split(), "--db", missing, input="pw\n")
        assert result.returncode == 1, result.stderr
        assert_one_error_line(result.stderr, missing, "no such file")
    assert not (tmp_path / "nowhere").exists()  # looking did not create it

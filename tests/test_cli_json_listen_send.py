"""The command line for scripts: ``connect --json`` (frames as JSON lines), ``connect --listen``
(print, never read) and ``send`` (one message, then leave).

Every wait is on an event (a line printed, a frame received, a process exiting) and has a
deadline; nothing sleeps.
"""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import threading
from collections.abc import Callable
from typing import Any

import pytest

from messenger.client import Client

from .clitools import (
    RUN_TIMEOUT,
    WAIT,
    StreamLines,
    assert_one_error_line,
    finish,
    free_port,
    messages_from,
    next_left,
    run_cli,
    start_connect,
    wait_for_joined,
)

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

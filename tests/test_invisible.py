"""No terminal shows a line whose order was changed by characters the reader cannot see: text-mode
lines (nc) and the terminal client drop bidi controls and invisible characters; JSON clients get
the text as it was sent."""

from __future__ import annotations

import io
import json
import socket
import threading
from collections.abc import Callable

import pytest

from messenger.client import Incoming
from messenger.protocol import (
    BadRoom,
    Error,
    Joined,
    Message,
    Pong,
    RoomInfo,
    RoomList,
    Users,
    Welcome,
    for_terminal,
    normalize_room,
    text_line,
)
from messenger.ui.render import ChatView, Renderer, make_console, render_prompt

from .clitools import run_cli
from .conftest import RawClient

TS = "2026-11-24T21:50:00.123Z"
REORDERING = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
INVISIBLE = "\u200b\u2060\ufeff\u00ad\u3164\u180e"
HOSTILE = f"abc\u202e{REORDERING}{INVISIBLE}def\x1b[2J"


def test_for_terminal_drops_what_reorders_or_hides() -> None:
    assert for_terminal(HOSTILE) == "abcdef[2J"
    for char in REORDERING + INVISIBLE:
        assert for_terminal(f"a{char}b") == "ab", hex(ord(char))


@pytest.mark.parametrize(
    "text",
    [
        "👨\u200d👩\u200d👧 family",  # ZWJ sequence
        "می\u200cخواهم",  # ZWNJ in Persian
        "क्\u200dष",  # ZWJ in Devanagari
        "❤\ufe0f and ❤\ufe0e",  # variation selectors: emoji and text style
        "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",  # England's flag
        "שלום עולם and مرحبا",  # right-to-left text reorders visibly, by itself
        "tab\there",
    ],
)
def test_for_terminal_keeps_what_text_needs(text: str) -> None:
    assert for_terminal(text) == text


@pytest.mark.parametrize(
    "frame",
    [
        Message(id=1, sender="eve", text=HOSTILE, ts=TS),
        Message(id=1, sender="eve", text=HOSTILE, ts=TS, to="bob", action=True),
        Message(id=1, sender="eve", text="x", ts=TS, room="#\u202eops"),
        Error(code="unknown_user", message=f"no user named '{HOSTILE}' is online"),
        Pong(token=HOSTILE),
        Users(users=("eve\u202e",), room="#a\u2066"),
        Welcome(user="eve", users=("eve", "\u202ebob"), server="s"),
        Joined(user="eve", ts=TS, room="#o\u200bps"),
        RoomList(rooms=(RoomInfo(room="#\u202eops", users=1),)),
    ],
)
def test_text_mode_lines_hold_nothing_that_reorders(frame: object) -> None:
    line = text_line(frame)  # type: ignore[arg-type]
    assert not set(line) & set(REORDERING + INVISIBLE + "\x1b"), repr(line)


def test_nc_gets_a_u202e_line_neutralised_and_json_gets_it_as_sent(raw: Callable[[], RawClient]) -> None:
    nc, json_client = raw(), raw()
    nc.send("bob\n")
    nc.until(lambda line: line.startswith("Welcome"))
    json_client.send_json({"type": "hello", "user": "alice"})
    assert json_client.frame()["type"] == "welcome"
    nc.until(lambda line: "alice has joined" in line)
    text = "I paid you \u202e001$ \u2066ok\u2069\u200b"
    json_client.send_json({"type": "say", "text": text})
    assert nc.until(lambda line: line.startswith("alice:"))[-1] == "alice: I paid you 001$ ok"
    echoed = json.loads(json_client.until(lambda line: '"message"' in line)[-1])
    assert echoed["text"] == text
    nc.send("/msg \u202ecarol hi\n")  # an error that quotes the input
    assert nc.until(lambda line: line.startswith("error:"))[-1] == "error: no user named 'carol' is online"


def test_room_names_refuse_invisible_characters_and_mixed_scripts() -> None:
    for room in ("#ops\ufe0f", "#o\u200bps", "#ops\u202e", "#\u043eps"):
        with pytest.raises(BadRoom):
            normalize_room(room)
    assert normalize_room("#\u043e\u043f\u0441") == "#\u043e\u043f\u0441"  # all Cyrillic


def shown(frame: object, me: str = "alice") -> str:
    out, err = io.StringIO(), io.StringIO()
    view = ChatView(make_console(out, "never"), make_console(err, "never"), Renderer(me=me))
    view.show(Incoming(line="", frame=frame))  # type: ignore[arg-type]
    view.notice(f"Not back yet: {HOSTILE}")
    view.error(HOSTILE)
    return out.getvalue() + err.getvalue()


@pytest.mark.parametrize(
    "frame",
    [
        Message(id=1, sender="eve\u202e", text=HOSTILE, ts=TS),
        Message(id=1, sender="eve", text=HOSTILE, ts=TS, to="alice", action=True),
        Message(id=1, sender="eve", text="x", ts=TS, room="#\u202eops"),
        Error(code="unknown_user", message=f"no user named '{HOSTILE}' is online"),
        Pong(token=HOSTILE),
        Users(users=("eve\u202e",), room="#a\u2066"),
        Welcome(user="alice", users=("alice", "\u202ebob"), server="s"),
        Joined(user="eve", ts=TS, room="#o\u200bps"),
        RoomList(rooms=(RoomInfo(room="#\u202eops", users=1),)),
    ],
)
def test_the_terminal_client_shows_nothing_that_reorders(frame: object) -> None:
    output = shown(frame)
    assert output.strip()
    assert not set(output) & set(REORDERING + INVISIBLE + "\x1b"), repr(output)


def test_the_prompt_shows_nothing_that_reorders() -> None:
    assert render_prompt("al\u202eice", online=True, room="#o\u2066ps").plain == "alice #ops> "


def test_the_client_shows_a_hostile_servers_login_error_neutralised() -> None:
    """``messenger connect`` prints a refused login's message; a server chose that text."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def refuse() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.makefile("rb").readline()  # the hello
                message = f"bad name \x1b[2J\u202eeman dab{INVISIBLE}"
                conn.sendall(json.dumps({"type": "error", "code": "bad_name", "message": message}).encode())
                conn.sendall(b"\n")

        thread = threading.Thread(target=refuse, daemon=True)
        thread.start()
        result = run_cli("connect", "--port", str(port), "--user", "alice")
        thread.join(timeout=5)
    assert result.returncode != 0
    assert "bad name [2Jeman dab" in result.stderr
    assert not set(result.stderr) & set(REORDERING + INVISIBLE + "\x1b"), repr(result.stderr)

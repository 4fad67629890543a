"""A hostile server must not crash the client: every kind of value in every field of every server
frame type, and any object, read by a real Client over a socket pair and rendered, in colour
and as text; the client gets a frame, skips an unknown type or raises ProtocolViolation."""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messenger.client import Client, ProtocolViolation
from messenger.protocol import MAX_INT, text_line
from messenger.ui.render import Renderer, make_console

from .conftest import READ_TIMEOUT
from .fuzzcases import FRAGMENTS, FUZZ, fragments

SERVER_FRAMES: dict[str, list[str]] = {
    "welcome": ["user", "users", "server", "protocol"],
    "joined": ["user", "ts", "room"],
    "left": ["user", "ts", "reason", "room"],
    "message": ["id", "from", "text", "ts", "to", "action", "history", "room"],
    "users": ["users", "room"],
    "rooms": ["rooms"],
    "nick": ["old", "new", "ts"],
    "pong": ["token"],
    "error": ["code", "message", "re"],
    "history_end": ["count", "more"],
    "shutdown": ["message"],
}
SERVER_BASE: dict[str, dict[str, str]] = {
    "welcome": {"user": '"me"', "users": '["me"]'},
    "joined": {"user": '"bob"'},
    "left": {"user": '"bob"'},
    "message": {"id": "1", "from": '"bob"', "text": '"hi me"', "ts": '"2026-11-24T21:50:00.123Z"'},
    "users": {"users": '["me"]'},
    "rooms": {"rooms": '[{"room":"#a","users":1}]'},
    "nick": {"old": '"a"', "new": '"b"'},
    "error": {"code": '"x"'},
    "history_end": {"count": "0"},
}
SERVER_FRAGMENTS = [
    *FRAGMENTS[::2],
    '["a",1]', '[{"room":"#a","users":-1}]', '[{"room":1,"users":1}]', "[1]",
    f'[{{"room":"#a","users":{MAX_INT + 1}}}]',
    '"0001-01-01T00:00:00+14:00"', '"9999-12-31T23:59:59-14:00"', '"2026-13-45T99:99:99Z"', '"now"',
]  # fmt: skip


def server_line(kind: str, field: str, value: str) -> str:
    fields = {"type": json.dumps(kind), **SERVER_BASE.get(kind, {}), field: value}
    return "{" + ",".join(f"{json.dumps(name)}:{text}" for name, text in fields.items()) + "}"


@pytest.fixture
def hostile() -> Iterator[tuple[Client, socket.socket]]:
    """A Client whose "server" is the test's end of a socket pair."""
    ours, theirs = socket.socketpair()
    client = Client(ours)
    yield client, theirs
    client.close()
    theirs.close()


def receive_and_show(client: Client, peer: socket.socket, line: str) -> None:
    """The client reads ``line`` from a hostile server: it gets a frame, skips an unknown type or
    raises ProtocolViolation, never anything else; what it got renders, in colour and in text."""
    peer.sendall(line.encode("utf-8", "surrogatepass") + b"\n")
    try:
        frame = client.receive_line(timeout=READ_TIMEOUT).frame
    except ProtocolViolation:
        return
    if frame is not None:
        out = io.StringIO()
        shown = Renderer(me="me", timestamps=True).render(frame)
        if shown is not None:
            make_console(out, color="always").print(shown)
        text_line(frame)


def test_every_fragment_in_every_field_from_a_hostile_server(hostile: tuple[Client, socket.socket]) -> None:
    client, peer = hostile
    for kind, fields in SERVER_FRAMES.items():
        for field in [*fields, "type", "x"]:
            for value in SERVER_FRAGMENTS:
                receive_and_show(client, peer, server_line(kind, field, value))


@FUZZ
@given(
    kind=st.sampled_from(sorted(SERVER_FRAMES)),
    fields=st.dictionaries(st.text(max_size=6), fragments, max_size=3),
)
def test_any_object_from_a_hostile_server(
    hostile: tuple[Client, socket.socket], kind: str, fields: dict[str, str]
) -> None:
    items = {
        "type": json.dumps(kind),
        **SERVER_BASE.get(kind, {}),
        **{json.dumps(k)[1:-1]: v for k, v in fields.items()},
    }
    receive_and_show(
        hostile[0], hostile[1], "{" + ",".join(f'"{name}":{text}' for name, text in items.items()) + "}"
    )

"""A message for many is encoded ahead only in the formats its readers use (server/modes.py,
outlet.FrameBytes): a server of text-mode readers spends nothing on JSON or WebSocket bytes, a
JSON reader that comes later gets JSON from then on, and a format asked for all the same is
encoded then.  Real sockets; the log's entries are read in the process to see what was made."""

from __future__ import annotations

import json
from collections.abc import Callable

from messenger.protocol.codec import encode
from messenger.protocol.frames import Message, Mode
from messenger.protocol.websocket import text_frame
from messenger.server.outlet import FrameBytes

from .conftest import RawClient, ServerThread


def text_user(raw: Callable[[], RawClient], name: str) -> RawClient:
    client = raw()
    client.send(name + "\n")
    client.until(lambda line: line == f"{name} has joined the chat!")
    return client


def modes_of_last_message(server: ServerThread) -> set[Mode]:
    """The Modes the log's newest chat message was encoded in ahead."""
    entries = [entry for entry in server.server.chat_log._entries if entry.message]
    return {mode for mode in entries[-1].data if isinstance(mode, Mode)}


def test_text_readers_only_then_a_json_reader(server: ServerThread, raw: Callable[[], RawClient]) -> None:
    ann, ben = text_user(raw, "ann"), text_user(raw, "ben")
    ann.send("only text here\n")
    ben.until(lambda line: line == "ann: only text here")
    assert modes_of_last_message(server) == {Mode.TEXT}
    joe = raw()
    joe.send_json({"type": "hello", "user": "joe"})
    joe.until(lambda line: '"welcome"' in line)
    ann.send("now json too\n")
    frame = json.loads(joe.until(lambda line: '"message"' in line)[-1])
    assert (frame["from"], frame["text"]) == ("ann", "now json too")
    assert modes_of_last_message(server) == {Mode.TEXT, Mode.JSON}


def test_a_format_asked_for_all_the_same_is_encoded_then() -> None:
    frame = Message(id=7, sender="ann", text="late \u00e9", ts="2026-11-30T00:00:00Z")
    data = FrameBytes(frame, False, (Mode.TEXT,))
    assert set(data) == {Mode.TEXT}
    assert data[Mode.JSON] == encode(frame)
    assert data[Mode.WEB] == text_frame(encode(frame)[:-1])
    assert set(data) == {Mode.TEXT, Mode.JSON, Mode.WEB}

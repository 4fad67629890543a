"""A round's window may start before a connection's mode existed: an IRC reader that logged in
after a broadcast sent while nobody used IRC must still get its own entries (a round once failed
with KeyError on that broadcast, cutting everyone's delivery for the round).

Batches built by hand from the log's own types: no sockets needed."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from messenger.protocol import Mode
from messenger.protocol.frames import Message
from messenger.protocol.irc.encode import variant_of
from messenger.server.ircout import IRCData, IRCMode
from messenger.server.outbox import Batches, Entry, Outbox, Snapshot
from messenger.server.outlet import FrameBytes


@pytest.fixture
def sockets() -> Iterator[list[socket.socket]]:
    made: list[socket.socket] = []
    yield made
    for sock in made:
        sock.close()


def outbox(sockets: list[socket.socket], mode: object, joined_at: int) -> Outbox:
    ours, theirs = socket.socketpair()
    sockets += [ours, theirs]
    box = Outbox(ours, mode, 1 << 20)  # type: ignore[arg-type]
    box.cursor = box.member_from = joined_at
    return box


def test_an_irc_reader_after_a_plain_broadcast_gets_its_own_entries(sockets) -> None:
    irc_mode = IRCMode(variant_of(()))
    early = outbox(sockets, Mode.JSON, 0)  # behind: the window starts at its cursor
    late = outbox(sockets, irc_mode, 1)  # came after the first broadcast
    plain = {Mode.JSON: b"j0\n", Mode.TEXT: b"t0\n", Mode.WEB: b"w0"}  # nobody used IRC yet
    later = IRCData({Mode.JSON: b"j2\n", Mode.TEXT: b"t2\n", Mode.WEB: b"w2", irc_mode: b"i2\r\n"}, None)
    entries = [
        Entry(plain, None),
        Entry({irc_mode: b"welcome\r\n"}, frozenset({late})),
        Entry(later, None),
    ]
    snapshot = Snapshot(entries, 0, [1], [])
    batches = Batches(snapshot, [early, late])
    assert batches.for_outbox(late) == b"welcome\r\ni2\r\n"
    assert batches.for_outbox(early) == b"j0\nj2\n"


def test_a_frame_for_many_made_before_any_irc_reader_is_nothing_in_irc(sockets) -> None:
    """The same with the bytes the outlet makes for a frame for many (outlet.FrameBytes, encoded
    only in the Modes in use): the round must not fail on the IRC key it lacks (it once raised
    KeyError there, and the IRC reader was closed as if its output could not be made)."""
    irc_mode = IRCMode(variant_of(()))
    early = outbox(sockets, Mode.TEXT, 0)
    late = outbox(sockets, irc_mode, 1)
    frame = Message(id=1, sender="alice", text="before", ts="2026-12-01T00:00:00.000Z")
    first = FrameBytes(frame, False, (Mode.TEXT,))  # the text readers' only: nobody used IRC yet
    later = IRCData({Mode.TEXT: b"t2\n", irc_mode: b"i2\r\n"}, None)
    entries = [Entry(first, None), Entry({irc_mode: b"welcome\r\n"}, frozenset({late})), Entry(later, None)]
    batches = Batches(Snapshot(entries, 0, [1], []), [early, late])
    assert batches.for_outbox(late) == b"welcome\r\ni2\r\n"
    assert batches.for_outbox(early) == b"alice: before\nt2\n"
    assert first[Mode.JSON].startswith(b'{"type":"message"')  # a Mode is still encoded on demand

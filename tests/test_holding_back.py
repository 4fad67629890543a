"""While broadcasts keep coming, the Flusher holds them back for the others until the next round
that visits everyone, but the connection whose line caused one gets it at once, and so does
every connection an entry names, each in the log's order.

Real ChatLog, real socket pairs.  The gathering time is set far beyond the tests' timeouts, so
that what is held back cannot arrive by chance while a test looks for it."""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator

import pytest

from messenger.protocol import Mode
from messenger.server.delivery import ChatLog, Outbox
from messenger.server.pending import ACTING

WAIT = 5.0
NEVER_DUE = 3600.0  # a gathering time no test lasts: held broadcasts go out only when visited


@pytest.fixture
def held_log() -> Iterator[ChatLog]:
    chat_log = ChatLog(gather=NEVER_DUE)
    yield chat_log
    chat_log.stop()


@pytest.fixture
def sockets() -> Iterator[list[socket.socket]]:
    made: list[socket.socket] = []
    yield made
    for sock in made:
        sock.close()


def member(chat_log: ChatLog, sockets: list[socket.socket]) -> tuple[Outbox, socket.socket]:
    ours, theirs = socket.socketpair()
    theirs.settimeout(WAIT)
    sockets += [ours, theirs]
    outbox = Outbox(ours, Mode.JSON, 1 << 20)
    chat_log.attach(outbox)
    chat_log.join(outbox)
    return outbox, theirs


def broadcast(chat_log: ChatLog, line: bytes, author: Outbox | None) -> None:
    ACTING.outbox = author
    try:
        chat_log.append({Mode.JSON: line})
    finally:
        ACTING.outbox = None


def read_lines(sock: socket.socket, count: int) -> list[bytes]:
    data = b""
    while data.count(b"\n") < count:
        chunk = sock.recv(4096)
        assert chunk, f"closed after {data!r}"
        data += chunk
    return data.splitlines(keepends=True)


def has_nothing(sock: socket.socket, wait: float = 0.3) -> bool:
    """Nothing arrived within ``wait`` (enough for a round; a held line would take an hour)."""
    readable, _, _ = select.select([sock], [], [], wait)
    return not readable


def test_the_first_broadcast_after_a_quiet_spell_goes_to_everyone_at_once(held_log, sockets) -> None:
    a, a_peer = member(held_log, sockets)
    _, b_peer = member(held_log, sockets)
    broadcast(held_log, b"one\n", a)
    assert read_lines(a_peer, 1) == [b"one\n"]
    assert read_lines(b_peer, 1) == [b"one\n"]


def test_the_author_gets_its_broadcast_at_once_the_others_when_visited(held_log, sockets) -> None:
    a, a_peer = member(held_log, sockets)
    b, b_peer = member(held_log, sockets)
    c, c_peer = member(held_log, sockets)
    broadcast(held_log, b"one\n", a)
    for peer in (a_peer, b_peer, c_peer):
        assert read_lines(peer, 1) == [b"one\n"]
    broadcast(held_log, b"two\n", a)  # within the gathering time of the round that sent "one"
    assert read_lines(a_peer, 1) == [b"two\n"]
    assert has_nothing(b_peer) and has_nothing(c_peer)
    # An answer to b makes the Flusher visit b: it gets what was held back first, in order.
    held_log.append({Mode.JSON: b"pong\n"}, [b])
    assert read_lines(b_peer, 2) == [b"two\n", b"pong\n"]
    assert has_nothing(c_peer)
    # c's broadcast: c gets everything up to it at once; a and b get theirs only later.
    broadcast(held_log, b"three\n", c)
    assert read_lines(c_peer, 2) == [b"two\n", b"three\n"]
    assert has_nothing(a_peer) and has_nothing(b_peer)


def test_closing_delivers_what_was_held_back(held_log, sockets) -> None:
    a, a_peer = member(held_log, sockets)
    b, b_peer = member(held_log, sockets)
    broadcast(held_log, b"one\n", a)
    broadcast(held_log, b"two\n", a)
    assert read_lines(a_peer, 2) == [b"one\n", b"two\n"]
    held_log.close(b)
    assert read_lines(b_peer, 2) == [b"one\n", b"two\n"]
    assert b_peer.recv(100) == b""  # then the socket is shut


def test_held_broadcasts_reach_everyone_when_due(sockets) -> None:
    chat_log = ChatLog(gather=0.05)
    try:
        a, a_peer = member(chat_log, sockets)
        peers = [member(chat_log, sockets)[1] for _ in range(5)]
        lines = [b"line %d\n" % i for i in range(100)]
        for line in lines:
            broadcast(chat_log, line, a)
        for peer in [a_peer, *peers]:
            assert read_lines(peer, len(lines)) == lines
    finally:
        chat_log.stop()


def test_a_broadcast_without_an_author_is_held_for_everyone(held_log, sockets) -> None:
    """The server's own broadcasts (a presence summary) have no author to hand them to."""
    _, a_peer = member(held_log, sockets)
    broadcast(held_log, b"one\n", None)
    assert read_lines(a_peer, 1) == [b"one\n"]
    broadcast(held_log, b"two\n", None)
    assert has_nothing(a_peer)

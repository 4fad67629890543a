"""A connection waiting for its socket is charged only for what is queued for it, and rounds
that carry only answers to a few connections still let the log be trimmed.

Real ChatLog, real socket pairs; a peer that stops reading is a socket whose kernel buffers
are full."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from messenger.protocol import Mode
from messenger.server.delivery import TRIM_EVERY, ChatLog, Outbox

WAIT = 5.0
LIMIT = 20_000  # a small --sendq
PONG = b'{"type":"pong"}\n' + b" " * 100  # an answer to someone else, about 120 bytes


@pytest.fixture
def chat_log() -> Iterator[ChatLog]:
    chat_log = ChatLog()
    yield chat_log
    chat_log.stop()


@pytest.fixture
def sockets() -> Iterator[list[socket.socket]]:
    made: list[socket.socket] = []
    yield made
    for sock in made:
        sock.close()


def connection(chat_log: ChatLog, sockets: list, on_overflow=None) -> tuple[Outbox, socket.socket]:
    ours, theirs = socket.socketpair()
    theirs.settimeout(WAIT)
    sockets += [ours, theirs]
    outbox = Outbox(ours, Mode.JSON, LIMIT, on_overflow)
    chat_log.attach(outbox)
    return outbox, theirs


def stall(chat_log: ChatLog, outbox: Outbox) -> None:
    """Fill the kernel buffers, then queue one line for it: the Flusher finds it waiting."""
    outbox.sock.setblocking(False)
    for size in (65536, 4096, 256, 16, 1):
        try:
            while True:
                outbox.sock.send(b"\0" * size)
        except BlockingIOError:
            pass
    outbox.sock.setblocking(True)
    chat_log.append({Mode.JSON: b"stuck\n"}, [outbox])


def read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        assert chunk, "closed early"
        data += chunk
    return data


def barrier(chat_log: ChatLog, outbox: Outbox, peer: socket.socket) -> None:
    """One more answer to ``outbox``, read: every earlier round (and its cut-offs) is over."""
    chat_log.append({Mode.JSON: b"barrier\n"}, [outbox])
    assert read_exactly(peer, len(b"barrier\n")) == b"barrier\n"


def test_answers_to_others_are_not_charged_to_a_waiting_connection(chat_log, sockets) -> None:
    cut = threading.Event()
    slow, _ = connection(chat_log, sockets, on_overflow=cut.set)
    chat_log.join(slow)
    other, peer = connection(chat_log, sockets)
    stall(chat_log, slow)
    barrier(chat_log, other, peer)  # the Flusher found ``slow`` waiting before the answers came
    count = 4 * LIMIT // len(PONG)  # four times the limit, all of it for ``other``
    for _ in range(count):
        chat_log.append({Mode.JSON: PONG}, [other])
    chat_log.append({Mode.JSON: b"hello\n"})  # a broadcast: every connection is looked at
    assert read_exactly(peer, count * len(PONG)) == PONG * count
    barrier(chat_log, other, peer)
    assert not cut.is_set()
    assert chat_log.unsent(slow) < LIMIT


def test_a_waiting_connection_is_still_cut_for_its_own_backlog(chat_log, sockets) -> None:
    cut = threading.Event()
    slow, _ = connection(chat_log, sockets, on_overflow=cut.set)
    chat_log.join(slow)
    stall(chat_log, slow)
    for _ in range(LIMIT // len(PONG) // 2):
        chat_log.append({Mode.JSON: PONG}, [slow])  # its own answers: half the limit
    for _ in range(LIMIT // len(PONG)):
        chat_log.append({Mode.JSON: PONG})  # and broadcasts while it is a member
    assert cut.wait(WAIT)
    assert chat_log.unsent(slow) > LIMIT


def test_the_log_is_trimmed_when_only_answers_to_one_connection_go_out(chat_log, sockets) -> None:
    idle, _ = connection(chat_log, sockets)
    chat_log.join(idle)  # a member that hears nothing: no broadcast is sent
    pinger, peer = connection(chat_log, sockets)
    for _ in range(3 * TRIM_EVERY):
        chat_log.append({Mode.JSON: PONG}, [pinger])
        assert read_exactly(peer, len(PONG)) == PONG  # one round per answer: pings one by one
    barrier(chat_log, pinger, peer)
    assert len(chat_log._entries) <= 2 * TRIM_EVERY

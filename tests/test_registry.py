"""The Outbox, the Flusher and the Registry over socketpairs: ordering, limits and cut-offs."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import pytest

from messenger.core.registry import Member, Registry
from messenger.protocol import Mode
from messenger.server.delivery import TRIM_EVERY, ChatLog, Outbox
from messenger.server.outlet import LogOutlet

WAIT = 5.0


@pytest.fixture
def chat_log() -> Iterator[ChatLog]:
    chat_log = ChatLog()
    yield chat_log
    chat_log.stop()


@pytest.fixture
def pairs() -> Iterator[list[tuple[socket.socket, socket.socket]]]:
    made: list[tuple[socket.socket, socket.socket]] = []
    yield made
    for ours, theirs in made:
        ours.close()
        theirs.close()


def pair(pairs: list) -> tuple[socket.socket, socket.socket]:
    ours, theirs = socket.socketpair()
    theirs.settimeout(WAIT)
    pairs.append((ours, theirs))
    return ours, theirs


def fill_kernel_buffers(sock: socket.socket) -> None:
    """Send until the kernel takes no more, as a peer that stopped reading would cause."""
    sock.setblocking(False)
    try:
        while True:
            sock.send(b"\0" * 65536)
    except BlockingIOError:
        pass
    sock.setblocking(True)


def read_until_eof(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def attached(chat_log: ChatLog, sock: socket.socket, limit: int = 10_000_000, **options) -> Outbox:
    outbox = Outbox(sock, options.get("mode", Mode.JSON), limit, options.get("on_overflow"))
    chat_log.attach(outbox)
    return outbox


def test_replies_arrive_in_order_then_close_shuts_the_socket(chat_log, pairs) -> None:
    ours, theirs = pair(pairs)
    outbox = attached(chat_log, ours)
    frames = [f"frame {i}\n".encode() for i in range(5000)]
    for frame in frames:
        chat_log.append({Mode.JSON: frame}, [outbox])
    chat_log.close(outbox)
    assert read_until_eof(theirs) == b"".join(frames)
    assert outbox.released.wait(WAIT)


def test_broadcasts_reach_members_only_between_join_and_leave(chat_log, pairs) -> None:
    ours, theirs = pair(pairs)
    outbox = attached(chat_log, ours)
    chat_log.append({Mode.JSON: b"before join\n"})
    chat_log.join(outbox)
    chat_log.append({Mode.JSON: b"member\n", Mode.TEXT: b"text member\n"})
    chat_log.leave(outbox)
    chat_log.append({Mode.JSON: b"after leave\n"})
    chat_log.append({Mode.JSON: b"still a reply\n"}, [outbox])
    chat_log.close(outbox)
    assert read_until_eof(theirs) == b"member\nstill a reply\n"


def test_pending_operations_apply_in_order_and_enter_the_log_at_commit(chat_log, pairs) -> None:
    """What a registry operation collects in a Pending takes its place in the log when it is
    committed, in the order collected: a join before an entry counts it in, a close after an
    entry lets it out first."""
    ours, theirs = pair(pairs)
    outbox = attached(chat_log, ours)
    out = chat_log.pending()
    out.join(outbox).append({Mode.JSON: b"member\n"}).leave(outbox).append({Mode.JSON: b"after leave\n"})
    out.append({Mode.JSON: b"for it\n"}, [outbox])
    chat_log.append({Mode.JSON: b"appended before the commit\n"}, [outbox])
    out.close(outbox)
    out.commit()
    assert read_until_eof(theirs) == b"appended before the commit\nmember\nfor it\n"
    assert outbox.released.wait(WAIT)


def test_an_outbox_over_its_limit_is_reported_once_and_abort_releases(chat_log, pairs) -> None:
    ours, _theirs = pair(pairs)
    fill_kernel_buffers(ours)
    overflowed = threading.Event()
    calls: list[int] = []

    def on_overflow() -> None:
        calls.append(1)
        overflowed.set()

    outbox = attached(chat_log, ours, limit=64 * 1024, on_overflow=on_overflow)
    chat_log.join(outbox)
    for _ in range(9):
        chat_log.append({Mode.JSON: b"x" * 8192})  # 72 KiB > 64 KiB
    assert overflowed.wait(WAIT)
    assert chat_log.unsent(outbox) >= 9 * 8192
    chat_log.abort(outbox)
    assert outbox.released.wait(WAIT)
    assert calls == [1]


def test_a_stalled_outbox_resumes_when_the_peer_reads(chat_log, pairs) -> None:
    ours, theirs = pair(pairs)
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    outbox = attached(chat_log, ours)
    payload = b"".join(f"{i:08d}\n".encode() for i in range(200_000))  # 1.8 MB
    chat_log.append({Mode.JSON: payload}, [outbox])
    chat_log.close(outbox)
    assert read_until_eof(theirs) == payload  # written in parts as the reader makes room


def test_the_log_is_trimmed_behind_the_slowest_cursor(chat_log, pairs) -> None:
    ours, theirs = pair(pairs)
    outbox = attached(chat_log, ours)
    chat_log.join(outbox)
    for index in range(3 * TRIM_EVERY):
        chat_log.append({Mode.JSON: f"{index}\n".encode()})
        if index % 1000 == 999:
            read_lines(theirs, 1000)
    read_lines(theirs, 3 * TRIM_EVERY % 1000)
    chat_log.append({Mode.JSON: b"last\n"})
    assert read_lines(theirs, 1) == [b"last"]
    assert len(chat_log._entries) <= TRIM_EVERY + 1


def read_lines(sock: socket.socket, count: int, buffer: dict = {}) -> list[bytes]:  # noqa: B006
    data = buffer.pop(sock, b"")
    while data.count(b"\n") < count:
        data += sock.recv(65536)
    lines = data.split(b"\n")
    buffer[sock] = b"\n".join(lines[count:])
    return lines[:count]


def make_member(registry: Registry, pairs: list, name: str, **options) -> Member:
    ours, theirs = pair(pairs)
    if options.get("stalled"):
        fill_kernel_buffers(ours)
    mode = options.get("mode", Mode.JSON)
    outbox = attached(registry.outlet.chat_log, ours, options.get("limit", 1_000_000), mode=mode)
    member = Member(link=outbox, address=name, shows_current_room=mode is Mode.TEXT)
    member.peer = theirs  # type: ignore[attr-defined]
    registry.join(member, name)
    return member


def lines(member: Member, count: int) -> list[bytes]:
    return read_lines(member.peer, count)  # type: ignore[attr-defined]


def test_a_slow_member_is_cut_and_announced_too_slow(chat_log, pairs) -> None:
    registry = Registry("test", LogOutlet(chat_log))
    fast = make_member(registry, pairs, "fast")
    slow = make_member(registry, pairs, "slow", limit=300, stalled=True)
    slow.link.on_overflow = lambda: registry.cut(slow)
    for index in range(5):
        registry.say(fast, f"message {index} " + "x" * 50)
    seen = [json.loads(line) for line in lines(fast, 9)]  # welcome, 2 joined, 5 messages, left
    assert [frame["text"][:9] for frame in seen if frame["type"] == "message"] == [
        f"message {index}" for index in range(5)
    ]
    # The Flusher may find the slow reader over its limit after any of the messages (whenever a
    # round runs), so the notice comes after the first few, not necessarily after all five.
    left = [(frame["user"], frame["reason"]) for frame in seen if frame["type"] == "left"]
    assert left == [("slow", "too_slow")]
    assert [frame["type"] for frame in seen[:3]] == ["welcome", "joined", "joined"]
    assert registry.users() == ("fast",)


def test_private_messages_and_modes(chat_log, pairs) -> None:
    registry = Registry("test", LogOutlet(chat_log))
    first = make_member(registry, pairs, "first")
    texter = make_member(registry, pairs, "texter", mode=Mode.TEXT)
    other = make_member(registry, pairs, "other")
    registry.say(first, "hi")
    registry.say(first, "psst", to="TEXTER")
    registry.say(other, "done")
    assert lines(texter, 6)[-3:] == [b"first: hi", b"[private to texter] first: psst", b"other: done"]
    assert [json.loads(line)["text"] for line in lines(other, 4)[-2:]] == ["hi", "done"]

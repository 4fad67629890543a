"""The Outbox and Registry without sockets: limits, ordering, and cut-offs."""

from __future__ import annotations

import json
import threading

from messenger.protocol import Mode
from messenger.registry import Member, Outbox, Registry


def test_outbox_counts_the_chunk_being_sent_as_unsent() -> None:
    outbox = Outbox(limit=100)
    assert outbox.put(b"a" * 60)
    assert outbox.take() == b"a" * 60  # the writer is now sending these 60 bytes
    assert outbox.pending == 60
    assert not outbox.put(b"b" * 41)  # 60 in flight + 41 queued > 100
    assert outbox.take() == b"b" * 41  # taking again means the previous chunk was sent
    assert outbox.pending == 41


def test_outbox_joins_everything_queued_into_one_chunk_and_drains_on_close() -> None:
    outbox = Outbox(limit=1000)
    for part in (b"one\n", b"two\n", b"three\n"):
        outbox.put(part)
    outbox.close()
    assert outbox.put(b"ignored\n")  # closed: nothing more is queued
    assert outbox.take() == b"one\ntwo\nthree\n"
    assert outbox.take() is None


def test_outbox_discard_drops_what_is_queued() -> None:
    outbox = Outbox(limit=1000)
    outbox.put(b"x" * 10)
    outbox.close(discard=True)
    assert outbox.take() is None
    assert outbox.pending == 0


def test_take_waits_for_data() -> None:
    outbox = Outbox(limit=1000)
    got: list[bytes | None] = []
    reader = threading.Thread(target=lambda: got.append(outbox.take()))
    reader.start()
    outbox.put(b"late\n")
    reader.join(timeout=5)
    assert got == [b"late\n"]


def make_member(registry: Registry, name: str, limit: int = 10_000, mode: Mode = Mode.JSON) -> Member:
    cut: list[str] = []
    member = Member(mode=mode, outbox=Outbox(limit), abort=lambda: cut.append(name), address=name)
    member.cut = cut  # type: ignore[attr-defined]
    registry.join(member, name)
    return member


def frames(member: Member) -> list[dict]:
    data = member.outbox.take() or b""
    return [json.loads(line) for line in data.splitlines()]


def test_a_member_over_its_limit_is_cut_and_announced_too_slow() -> None:
    registry = Registry("test")
    fast = make_member(registry, "fast")
    slow = make_member(registry, "slow", limit=300)
    frames(fast)
    for index in range(5):
        registry.say(fast, f"message {index} " + "x" * 50)
    assert slow.cut == ["slow"]  # type: ignore[attr-defined]
    seen = frames(fast)
    assert [frame["text"][:9] for frame in seen if frame["type"] == "message"] == [
        f"message {index}" for index in range(5)
    ]
    [left] = [frame for frame in seen if frame["type"] == "left"]
    assert (left["user"], left["reason"]) == ("slow", "too_slow")
    assert registry.users() == ("fast",)


def test_one_encoding_per_mode_is_shared_by_all_recipients() -> None:
    registry = Registry("test")
    first = make_member(registry, "first")
    second = make_member(registry, "second")
    texter = make_member(registry, "texter", mode=Mode.TEXT)
    for member in (first, second, texter):
        member.outbox.take()
    registry.say(first, "hi")
    one, two = first.outbox.take(), second.outbox.take()
    assert one == two and one is two  # the very same bytes object
    assert texter.outbox.take() == b"first: hi\n"

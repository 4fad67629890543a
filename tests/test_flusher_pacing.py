"""The Flusher's pacing: when it gathers before a round (server/pacing.py), and that gathering and
its idle bookkeeping lose nothing: every message of a stream arrives, in order, and a connection
that quits in the middle of one is still closed.  Counts and order only, never times."""

from __future__ import annotations

from collections.abc import Callable

from messenger.server import pacing
from messenger.server.pacing import Pacer

from .conftest import RawClient

MESSAGES = 300


def test_a_lone_wake_up_is_served_at_once() -> None:
    assert Pacer().gather_for(100.0) == 0.0


def test_wake_ups_in_a_stream_gather_within_the_budget() -> None:
    pacer = Pacer()
    pacer.gather_for(100.0)
    delay = pacer.gather_for(100.0 + pacing.STREAM_GAP / 4)
    assert 0 < delay <= pacing.GATHER_MAX <= pacing.LATENCY_BUDGET


def test_wake_ups_far_apart_are_not_a_stream() -> None:
    pacer = Pacer()
    pacer.gather_for(100.0)
    assert pacer.gather_for(100.0 + pacing.STREAM_GAP * 2) == 0.0


def test_long_rounds_leave_no_time_to_gather() -> None:
    """Where rounds alone use the budget (many connections), nothing is added to them."""
    pacer = Pacer()
    for _ in range(50):
        pacer.round_took(pacing.LATENCY_BUDGET)
    pacer.gather_for(100.0)
    assert pacer.gather_for(100.001) == 0.0


def log_in(raw: Callable[[], RawClient], name: str) -> RawClient:
    client = raw()
    client.send(name + "\n")
    client.until(lambda line: line == f"{name} has joined the chat!")
    return client


def test_a_stream_reaches_everyone_in_order_and_a_quitter_is_closed(raw: Callable[[], RawClient]) -> None:
    sender = log_in(raw, "sender")
    readers = [log_in(raw, f"reader{i}") for i in range(3)]
    quitter = log_in(raw, "quitter")
    for reader in [sender, *readers]:
        reader.until(lambda line: line == "quitter has joined the chat!")
    for number in range(MESSAGES):
        sender.send(f"m {number}\n")
        if number == MESSAGES // 2:
            quitter.send("/quit\n")
    assert quitter.closed()
    for reader in readers:
        lines = reader.until(lambda line: line == f"sender: m {MESSAGES - 1}")
        said = [line for line in lines if line.startswith("sender: m ")]
        assert said == [f"sender: m {number}" for number in range(MESSAGES)]

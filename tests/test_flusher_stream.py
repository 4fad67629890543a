"""The Flusher's idle bookkeeping (it sleeps on what its last round found, not on a walk of every
connection) loses nothing: every message of a stream arrives, in order, and a connection that
quits in the middle of one is still closed.  Counts and order only, never times."""

from __future__ import annotations

from collections.abc import Callable

from .conftest import RawClient

MESSAGES = 300


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

"""Broadcasts held back under load (``--gather``, server/hold.py): a message to everyone said
while a hold is on waits for its end, while answers (a pong) and private messages go out at
once, each with everything before it for its reader, in order.

The hold here is 3 s, far longer than any step of the test, so "not yet" is checked with a
short read that finds nothing, and everything else waits on lines, never on a clock."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator

import pytest

from .conftest import RawClient, ServerThread

HOLD = 3.0  # seconds: the server's gather in this test
NOT_YET = 0.3  # seconds a reader waits to see that nothing came


@pytest.fixture
def held(make_server: Callable[..., ServerThread]) -> ServerThread:
    return make_server(gather=HOLD)


@pytest.fixture
def people(held: ServerThread) -> Iterator[dict[str, RawClient]]:
    """alice, bob, carol and dave in the lobby (JSON mode), every one caught up."""
    clients = {name: RawClient(held.port) for name in ("alice", "bob", "carol", "dave")}
    for name, client in clients.items():
        client.send_json({"type": "hello", "user": name})
        client.until(lambda line: '"welcome"' in line)
    for client in clients.values():
        caught_up(client)
    yield clients
    for client in clients.values():
        client.close()


def caught_up(client: RawClient) -> list[dict]:
    """Ping and read up to the pong: the frames before it (a pong is never held back)."""
    client.send_json({"type": "ping"})
    frames = [json.loads(line) for line in client.until(lambda line: '"pong"' in line)]
    return frames[:-1]


def nothing_yet(client: RawClient) -> bool:
    """True if no byte arrives within NOT_YET seconds."""
    client.sock.settimeout(NOT_YET)
    try:
        data = client.sock.recv(65536, socket.MSG_PEEK)
    except TimeoutError:
        return not client.buffer
    return not data and not client.buffer


def said(frames: list[dict]) -> list[str]:
    return [frame["text"] for frame in frames if frame.get("type") == "message"]


@pytest.mark.timeout(30)
def test_a_broadcast_in_a_hold_waits_while_a_pong_brings_it_at_once(people: dict[str, RawClient]) -> None:
    alice, bob, dave = people["alice"], people["bob"], people["dave"]
    alice.send_json({"type": "say", "text": "one"})
    dave.until(lambda line: '"one"' in line)  # a round to everyone: the hold begins
    alice.send_json({"type": "say", "text": "two"})
    assert said(caught_up(bob)) == ["one", "two"]  # bob's pong brings "two" with it, in order
    assert nothing_yet(dave), "a broadcast in a hold went to everyone at once"
    assert said([json.loads(line) for line in dave.until(lambda line: '"two"' in line)])[-1] == "two"


@pytest.mark.timeout(30)
def test_a_private_message_in_a_hold_goes_at_once_after_what_was_said_before(
    people: dict[str, RawClient],
) -> None:
    alice, carol, dave = people["alice"], people["carol"], people["dave"]
    alice.send_json({"type": "say", "text": "one"})
    for reader in (carol, dave):
        reader.until(lambda line: '"one"' in line)
    alice.send_json({"type": "say", "text": "two"})
    alice.send_json({"type": "say", "text": "psst", "to": "dave"})
    frames = [json.loads(line) for line in dave.until(lambda line: '"psst"' in line)]
    assert said(frames) == ["two", "psst"]  # the held broadcast first, as it was said
    assert nothing_yet(carol), "the private message brought the broadcast to everyone"
    assert said(caught_up(carol)) == ["two"]

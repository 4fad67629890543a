"""``ping`` is a barrier on a cluster node as on one server: its ``pong`` comes after the echo of
every message the client sent before it, though each echo makes a trip through Redis first."""

from __future__ import annotations

from collections.abc import Callable

from messenger.client import Client
from messenger.protocol import Message, Pong

from ..clitools import WAIT, wait_for_joined
from ..conftest import RawClient
from .clustertools import Node, said

COUNT = 30


def test_a_pong_follows_the_echoes_of_the_messages_sent_before_it(
    nodes: Callable[..., Node], clients: Callable[[int, str], Client]
) -> None:
    one, two = nodes("one"), nodes("two")
    alice = clients(one.port, "alice")
    bob = clients(two.port, "bob")
    wait_for_joined(alice, "bob")
    for round_ in range(3):
        for i in range(COUNT):
            alice.say(f"r{round_} m{i}")
        alice.say("psst", to="bob")
        alice.ping(f"barrier {round_}")
        texts = []
        while not isinstance(frame := alice.receive(timeout=WAIT), Pong):
            if isinstance(frame, Message):
                texts.append(frame.text)
        assert frame.token == f"barrier {round_}"
        assert texts == [*(f"r{round_} m{i}" for i in range(COUNT)), "psst"]
    assert len(said(bob, 3 * (COUNT + 1))) == 3 * (COUNT + 1)  # the others got them too


def test_a_text_mode_ping_follows_the_echoes_too(nodes: Callable[..., Node]) -> None:
    one, _ = nodes("one"), nodes("two")
    carol = RawClient(one.port)
    try:
        carol.send("carol\n")
        carol.until(lambda line: "joined" in line and "carol" in line)
        carol.send("".join(f"line {i}\n" for i in range(COUNT)) + "/ping done\n")
        lines = carol.until(lambda line: line == "pong done")
        echoes = [line for line in lines if "carol: line " in line]
        assert len(echoes) == COUNT, lines
    finally:
        carol.close()

"""Several servers as one chat through Redis: messages, private messages, rooms, names, who."""

from __future__ import annotations

from collections.abc import Callable

from messenger.client import Client

from ..clitools import wait_for_joined
from .clustertools import Node, said


def test_two_nodes_chat_each_message_once_in_one_order(
    nodes: Callable[..., Node], clients: Callable[[int, str], Client]
) -> None:
    one, two = nodes("one"), nodes("two")
    alice = clients(one.port, "alice")
    bob = clients(two.port, "bob")
    wait_for_joined(alice, "bob")
    for i in range(5):
        alice.say(f"a{i}")
        bob.say(f"b{i}")
    seen_alice = said(alice, 10)
    seen_bob = said(bob, 10)
    assert [(m.sender, m.text, m.id) for m in seen_alice] == [(m.sender, m.text, m.id) for m in seen_bob]
    ids = [m.id for m in seen_alice]
    assert ids == sorted(ids) and len(set(ids)) == 10

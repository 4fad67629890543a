"""Nodes coming and going: a node stopping says so at once, a node cut off longer than the
heartbeat allows is declared dead and comes back, Redis losing its data is told as a gap."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from messenger.client import Client
from messenger.protocol import Joined, Left, Message, Users
from messenger.protocol.moderation import Notice

from ..clitools import WAIT, login, wait_for_joined
from .clustertools import Node, said
from .cutproxy import CutProxy
from .redistools import RedisServer

QUICK = 1.5  # dead after 1.5 s of silence (7 s in production): these tests wait for it


def next_about(client: Client, kind: type, user: str) -> object:
    """The next frame of ``kind`` about ``user``."""
    while True:
        frame = client.receive(timeout=WAIT)
        if isinstance(frame, kind) and getattr(frame, "user", None) == user:
            return frame


def test_a_node_stopping_shows_its_members_leaving_at_once(
    nodes: Callable[..., Node], clients: Callable[[int, str], Client]
) -> None:
    one, two = nodes("one"), nodes("two")
    bob = clients(two.port, "bob")
    alice = login(one.port, "alice")
    wait_for_joined(bob, "alice")
    one.stop()  # well within the 7 s a silent node is given: only its goodbye can do this
    left = next_about(bob, Left, "alice")
    assert isinstance(left, Left) and left.reason == "disconnected"
    alice.close()
    login(two.port, "alice").close()  # and the name is free


def test_a_node_cut_off_too_long_is_declared_dead_then_comes_back(
    nodes: Callable[..., Node], proxy: CutProxy, clients: Callable[[int, str], Client]
) -> None:
    one = nodes("one", url=proxy.url, dead_after=QUICK)
    two = nodes("two", dead_after=QUICK)
    back = threading.Event()
    one.cluster.bus.on_state = lambda up: back.set() if up else None
    alice, bob = clients(one.port, "alice"), clients(two.port, "bob")
    wait_for_joined(alice, "bob")
    proxy.cut()
    left = next_about(bob, Left, "alice")
    assert isinstance(left, Left) and left.reason == "disconnected"
    proxy.heal()
    assert back.wait(WAIT)
    next_about(bob, Joined, "alice")  # announced again
    alice.say("still here")
    assert [m.text for m in said(bob, 1)] == ["still here"]
    taken = Client.connect("127.0.0.1", two.port, timeout=WAIT)
    try:
        with pytest.raises(Exception, match="taken"):
            taken.login("alice")  # claimed again
    finally:
        taken.close()


def test_redis_losing_its_data_is_told_as_a_gap_and_the_chat_goes_on(
    clients: Callable[[int, str], Client],
) -> None:
    from .redistools import require_redis

    require_redis()
    volatile = RedisServer(appendonly=False)  # a restart loses everything
    started: list[Node] = []
    try:
        one, two = Node(volatile.url, "one"), Node(volatile.url, "two")
        started += [one, two]
        alice, bob = clients(one.port, "alice"), clients(two.port, "bob")
        wait_for_joined(alice, "bob")
        alice.say("before")
        said(bob, 1)
        volatile.restart()
        for client in (alice, bob):
            while not (isinstance(frame := client.receive(timeout=WAIT), Notice) and frame.re == "gap"):
                assert not isinstance(frame, Left), frame  # nobody is shown leaving
        alice.say("after")
        for client in (alice, bob):
            while not isinstance(frame := client.receive(timeout=WAIT), Message):
                assert not isinstance(frame, Left), frame
            assert frame.text == "after"
    finally:
        for node in started:
            node.stop()
        volatile.close()


def test_a_node_started_later_knows_the_members_and_their_rooms(
    nodes: Callable[..., Node], clients: Callable[[int, str], Client]
) -> None:
    one, two = nodes("one"), nodes("two")
    bob = clients(two.port, "bob")
    bob.join("#ops")
    alice = clients(one.port, "alice")
    alice.join("#dev")
    alice.join("#ops")
    alice.part("#ops")
    while not (isinstance(frame := bob.receive(timeout=WAIT), Left) and frame.room == "#ops"):
        pass  # once bob saw it, every change before it is in Redis too
    three = nodes("three")
    carol = clients(three.port, "carol")
    assert carol.welcome is not None and {"alice", "bob"} <= set(carol.welcome.users)
    carol.who("#dev")
    while not isinstance(answer := carol.receive(timeout=WAIT), Users):
        pass
    assert answer.users == ("alice",)
    carol.who("#ops")
    while not isinstance(answer := carol.receive(timeout=WAIT), Users):
        pass
    assert answer.users == ("bob",)

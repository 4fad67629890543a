"""Redis restarted in the middle of a conversation: nothing lost, nothing doubled, and each node's
own users chat on while it is gone."""

from __future__ import annotations

import threading
from collections.abc import Callable

from messenger.client import Client
from messenger.protocol import Message, Pong

from ..clitools import WAIT, wait_for_joined
from .clustertools import Node, said
from .redistools import RedisServer


def link_events(node: Node) -> dict[bool, threading.Event]:
    """Events set when ``node`` finds Redis gone (False) and back (True)."""
    events = {False: threading.Event(), True: threading.Event()}
    node.cluster.bus.on_state = lambda up: events[up].set()
    return events


def test_redis_restart_mid_conversation_loses_and_doubles_nothing(
    redis_server: RedisServer, nodes: Callable[..., Node], clients: Callable[[int, str], Client]
) -> None:
    one, two = nodes("one"), nodes("two")
    links = [link_events(one), link_events(two)]
    alice, bob = clients(one.port, "alice"), clients(two.port, "bob")
    wait_for_joined(alice, "bob")
    alice.say("a0")
    bob.say("b0")
    assert sorted(m.text for m in said(alice, 2)) == sorted(m.text for m in said(bob, 2)) == ["a0", "b0"]

    redis_server.stop()
    alice.say("a1")  # may be sent before the node notices: it then waits in the queue
    for events in links:
        assert events[False].wait(WAIT)
    alice.say("a2")
    bob.say("b1")
    # Local users chat on while Redis is gone: alice gets her own, bob his own, at once.  But a1
    # may have been sent in the instant Redis went away: then it is in doubt (it may be in the
    # stream) and comes once Redis is back, as a late message.
    early = said_until(alice, "a2")
    assert [m.text for m in early] in (["a1", "a2"], ["a2"])
    own = said(bob, 1)
    assert [m.text for m in own] == ["b1"]
    redis_server.restart()
    for events in links:
        assert events[True].wait(WAIT * 2)
    alice.say("a3")
    bob.say("b2")
    # The rest, each once, each sender's in the order sent (with what each saw already), but
    # for a1 in doubt, which came after a2 here; live ids never go back.
    seen = {"alice": early, "bob": own}
    for client in (alice, bob):
        assert client.user is not None
        seen[client.user] += said(client, 5 - len(seen[client.user]), timeout=WAIT * 2)
    for frames in seen.values():
        texts = [m.text for m in frames]
        assert sorted(texts) == ["a1", "a2", "a3", "b1", "b2"], texts
        assert [t for t in texts if t.startswith("b")] == ["b1", "b2"]
        if len(early) == 2:  # a1 was not in doubt: alice's in the order she sent them too
            assert [t for t in texts if t.startswith("a")] == ["a1", "a2", "a3"]
        ids = [m.id for m in frames if not m.history]
        assert ids == sorted(ids), frames  # live ids never go back
    alice.ping("done")  # nothing more comes: no message twice
    bob.ping("done")
    for client in (alice, bob):
        assert said_until_pong(client) == []


def said_until(client: Client, text: str) -> list[Message]:
    """The chat messages ``client`` receives up to the one saying ``text``."""
    seen: list[Message] = []
    while not seen or seen[-1].text != text:
        seen += said(client, 1)
    return seen


def said_until_pong(client: Client) -> list[str]:
    """The chat messages ``client`` receives before its pong."""
    texts: list[str] = []
    while not isinstance(frame := client.receive(timeout=WAIT), Pong):
        if isinstance(frame, Message):
            texts.append(frame.text)
    return texts

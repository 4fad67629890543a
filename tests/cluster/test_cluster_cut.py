"""One node cut from Redis while the others keep it: its users chat on; once back, it catches up
from the last entry it read (every message once, in order), or says that history has a gap."""

from __future__ import annotations

from collections.abc import Callable

import redis

from messenger.client import Client
from messenger.cluster import keys
from messenger.protocol import Message
from messenger.protocol.moderation import Notice

from ..clitools import WAIT
from .clustertools import Node, cut_pair, said
from .cutproxy import CutProxy
from .redistools import RedisServer


def test_a_node_cut_from_redis_catches_up_in_order_exactly_once(
    nodes: Callable[..., Node], proxy: CutProxy, clients: Callable[[int, str], Client]
) -> None:
    _, link, alice, bob = cut_pair(nodes, proxy, clients)
    proxy.cut()
    assert link[False].wait(WAIT)
    for i in range(20):
        bob.say(f"b{i}")  # the other node goes on; one misses all of this for now
    alice.say("a0")
    assert [m.text for m in said(alice, 1)] == ["a0"]  # its own users chat on
    bob_saw = [m.text for m in said(bob, 20)]
    assert bob_saw == [f"b{i}" for i in range(20)]
    proxy.heal()
    assert link[True].wait(WAIT * 2)
    assert [m.text for m in said(alice, 20)] == [f"b{i}" for i in range(20)]  # in order, once
    assert [m.text for m in said(bob, 1)] == ["a0"]
    bob.say("after")
    assert [m.text for m in said(alice, 1)] == ["after"]


def test_a_stream_trimmed_past_a_cut_node_is_told_as_a_gap(
    redis_server: RedisServer,
    nodes: Callable[..., Node],
    proxy: CutProxy,
    clients: Callable[[int, str], Client],
) -> None:
    _, link, alice, bob = cut_pair(nodes, proxy, clients)
    proxy.cut()
    assert link[False].wait(WAIT)
    for i in range(5):
        bob.say(f"lost{i}")
    said(bob, 5)
    direct = redis.Redis.from_url(redis_server.url)
    direct.xtrim(keys.STREAM, maxlen=0)  # as MAXLEN would, had far more been said meanwhile
    direct.close()
    bob.say("kept")
    said(bob, 1)
    proxy.heal()
    frames = []
    while not (frames and isinstance(frames[-1], Message) and frames[-1].text == "kept"):
        frames.append(alice.receive(timeout=WAIT * 2))
    gaps = [f for f in frames if isinstance(f, Notice) and f.re == "gap"]
    assert len(gaps) == 1 and "gap" in gaps[0].text
    assert not [f for f in frames if isinstance(f, Message) and f.text.startswith("lost")]

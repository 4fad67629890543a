"""A cluster node's figures count every chat message, also when one read of the stream
delivers many at once (a node back from a cut)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from messenger.client import Client

from ..clitools import WAIT
from .clustertools import Node, cut_pair, said
from .cutproxy import CutProxy

pytestmark = pytest.mark.timeout(25)


def test_messages_read_in_one_go_are_each_counted(
    nodes: Callable[..., Node], proxy: CutProxy, clients: Callable[[int, str], Client]
) -> None:
    one, link, alice, bob = cut_pair(nodes, proxy, clients)
    stats = one.thread.server.chat_log.stats
    before = stats.messages
    proxy.cut()
    assert link[False].wait(WAIT)
    for i in range(20):
        bob.say(f"b{i}")
    said(bob, 20)
    proxy.heal()
    assert link[True].wait(WAIT * 2)
    assert [m.text for m in said(alice, 20)] == [f"b{i}" for i in range(20)]  # in one read, or few
    assert stats.messages - before == 20

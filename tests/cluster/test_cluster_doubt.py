"""A publish whose answer never came: the entry may be in the stream or not.  The node must not
deliver it here on its own meanwhile (it would arrive twice once Redis is back); it sends it
again when Redis is back, and the readers drop the repeat."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from messenger.client import Client
from messenger.protocol import Message

from ..clitools import WAIT
from .clustertools import Node, cut_pair, said
from .cutproxy import CutProxy

pytestmark = pytest.mark.timeout(25)


def test_a_message_whose_publish_went_unanswered_arrives_once_everywhere(
    nodes: Callable[..., Node], proxy: CutProxy, clients: Callable[[int, str], Client]
) -> None:
    _, link, alice, bob = cut_pair(nodes, proxy, clients)
    proxy.deaf = True  # redis-server adds the entry; node one never hears that it did
    alice.say("in doubt")
    assert [m.text for m in said(bob, 1)] == ["in doubt"]  # it is in the stream
    proxy.cut()
    assert link[False].wait(WAIT)
    proxy.deaf = False
    alice.say("while cut")
    proxy.heal()
    assert link[True].wait(WAIT * 2)
    bob.say("after")
    seen: list[str] = []
    while "after" not in seen:
        frame = alice.receive(timeout=WAIT)
        if isinstance(frame, Message):
            seen.append(frame.text)
    assert sorted(seen) == ["after", "in doubt", "while cut"], seen  # each once
    assert sorted(m.text for m in said(bob, 2)) == ["after", "while cut"]  # (said at once)

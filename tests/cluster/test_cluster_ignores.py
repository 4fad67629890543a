"""An account's ignores are the cluster's: logging in on any node takes them up."""

from __future__ import annotations

from collections.abc import Callable

from messenger.client import Client
from messenger.protocol import Message
from messenger.protocol.moderation import Ignore, IgnoredList, IgnoredRequest, Unignore

from ..clitools import WAIT
from .clustertools import Node, next_of
from .sharedtools import PASSWORD, heard, login_as, settle


def test_an_accounts_ignores_follow_it_to_every_node(
    nodes: Callable[..., Node], clients: Callable[[int, str], Client]
) -> None:
    one, two = nodes("one"), nodes("two")
    one.accounts.add("alice", PASSWORD)
    troll, listener = clients(one.port, "troll"), clients(two.port, "listener")
    alice = login_as(one.port, "alice", PASSWORD)
    alice.send(Ignore(user="troll"))
    assert next_of(alice, IgnoredList).users == ("troll",)
    settle(alice, listener)  # two has read the ignore
    alice.close()
    alice = login_as(two.port, "alice", PASSWORD)
    alice.send(IgnoredRequest())
    assert next_of(alice, IgnoredList).users == ("troll",)
    troll.say("noise")
    settle(troll, listener)  # two has delivered the noise (to whoever does not ignore troll)
    listener.say("signal")
    while not (isinstance(frame := alice.receive(timeout=WAIT), Message) and frame.text == "signal"):
        assert not (isinstance(frame, Message) and frame.sender == "troll"), frame
    alice.send(Unignore(user="troll"))
    assert next_of(alice, IgnoredList).users == ()
    three = nodes("three")  # started later: the unignore holds there too
    settle(alice, clients(three.port, "dave"))  # whether three read it at start or from the stream
    alice.close()
    alice = login_as(three.port, "alice", PASSWORD)
    alice.send(IgnoredRequest())
    assert next_of(alice, IgnoredList).users == ()
    troll.say("hello again")
    assert heard(alice, "hello again").sender == "troll"
    alice.close()


def test_ignoring_an_account_holds_for_its_sessions_on_other_nodes_under_any_name(
    nodes: Callable[..., Node], clients: Callable[[int, str], Client]
) -> None:
    """As on one server: ignoring a registered name ignores that account under whatever name
    it logs in (an ignore follows the person), whichever node it is on."""
    one, two = nodes("one"), nodes("two")
    one.accounts.add("troll", PASSWORD)
    alice, listener = clients(two.port, "alice"), clients(two.port, "listener")
    alice.send(Ignore(user="troll"))
    assert next_of(alice, IgnoredList).users == ("troll",)
    troll = login_as(one.port, "trolly", PASSWORD, account="troll")
    settle(troll, listener)  # two knows trolly and its account
    troll.say("noise")
    settle(troll, listener)  # two has delivered the noise (to whoever does not ignore troll)
    listener.say("signal")
    while not (isinstance(frame := alice.receive(timeout=WAIT), Message) and frame.text == "signal"):
        assert not (isinstance(frame, Message) and frame.text == "noise"), frame
    troll.close()

"""A registered user logging in on one node while their session is on another takes the name over
as on one server: the old session is told ``replaced`` and closed, then the new one gets the name;
never both, and never while the nodes cannot agree (a node cut from Redis)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from messenger.client import Client, NameTaken, ServerClosed
from messenger.protocol import Error, Joined, Left, Message

from ..clitools import WAIT
from .clustertools import Node, next_of, said
from .cutproxy import CutProxy
from .sharedtools import PASSWORD, login_as, settle


def replaced(client: Client) -> None:
    """``client`` is told it was replaced, then its connection closes."""
    error = next_of(client, Error)
    assert error.code == "replaced"
    with pytest.raises(ServerClosed):
        while True:
            client.receive(timeout=WAIT)


def test_a_login_on_another_node_takes_the_name_over(
    nodes: Callable[..., Node], clients: Callable[[int, str], Client]
) -> None:
    one, two = nodes("one"), nodes("two")
    one.accounts.add("alice", PASSWORD)
    watcher, listener = clients(one.port, "watcher"), clients(two.port, "listener")
    old = login_as(one.port, "alice", PASSWORD)
    settle(old, listener)  # two knows alice is on one
    new = login_as(two.port, "alice", PASSWORD)
    replaced(old)
    left = next_of(watcher, Left)  # the old session leaves before the new one arrives
    assert (left.user, left.reason) == ("alice", "replaced")
    assert next_of(watcher, Joined).user == "alice"
    new.say("here now")
    [message] = said(watcher, 1)
    assert (message.sender, message.text) == ("alice", "here now")
    new.close()


def test_a_renamed_session_of_the_account_is_taken_over_and_no_one_elses(
    nodes: Callable[..., Node], clients: Callable[[int, str], Client]
) -> None:
    one, two = nodes("one"), nodes("two")
    one.accounts.add("alice", PASSWORD)
    one.accounts.add("bob", PASSWORD)
    listener = clients(two.port, "listener")
    ghost = login_as(one.port, "alice", PASSWORD)
    ghost.nick("ally")
    settle(ghost, listener)  # two knows ally, alice's session, is on one
    with pytest.raises(NameTaken):  # bob's password does not take alice's session's name
        login_as(two.port, "ally", PASSWORD, account="bob")
    back = login_as(two.port, "ally", PASSWORD, account="alice")
    replaced(ghost)
    assert back.user == "ally"
    back.close()


def test_no_takeover_while_either_node_is_cut_from_redis(
    nodes: Callable[..., Node], proxy: CutProxy, clients: Callable[[int, str], Client]
) -> None:
    """A node cut from Redis refuses a login whose name another node holds (it cannot ask that
    node); a node asking one that is cut gives up, and the session there stays."""
    one = nodes("one", url=proxy.url, dead_after=30)  # not declared dead during the cut
    two = nodes("two", dead_after=30)
    down = threading.Event()
    one.cluster.bus.on_state = lambda up: None if up else down.set()
    one.accounts.add("alice", PASSWORD)
    one.accounts.add("bob", PASSWORD)
    bob = login_as(one.port, "bob", PASSWORD)
    settle(bob, clients(two.port, "probe"))  # two has read the accounts
    alice, listener = login_as(two.port, "alice", PASSWORD), clients(one.port, "listener")
    settle(alice, listener)
    settle(bob, alice)
    proxy.cut()
    assert down.wait(WAIT)
    with pytest.raises(NameTaken):  # one cannot reach Redis: alice stays on two
        login_as(one.port, "alice", PASSWORD)
    with pytest.raises(NameTaken):  # two cannot reach bob's node: bob stays on one
        login_as(two.port, "bob", PASSWORD)
    proxy.heal()
    settle(alice, listener)  # one has read the stream since the cut: two's takeover of bob too
    bob.say("still here")
    while not (isinstance(frame := alice.receive(timeout=WAIT), Message) and frame.text == "still here"):
        assert not (isinstance(frame, Left) and frame.user == "bob"), frame
    alice.close()
    bob.close()

"""Roles are the cluster's: given or taken on one node, they hold on every node at once, for
sessions already connected there and for nodes started later; ranks count across nodes."""

from __future__ import annotations

import threading
from collections.abc import Callable

from messenger.client import Client
from messenger.core.roles import Role
from messenger.protocol import Left
from messenger.protocol.moderation import Kick, Mute, Notice

from ..clitools import WAIT
from .clustertools import Node, next_of
from .cutproxy import CutProxy
from .redistools import RedisServer
from .sharedtools import PASSWORD, answer, json_login, login_as, next_error, settle


def test_a_role_given_on_one_node_holds_for_a_session_on_another_at_once(
    nodes: Callable[..., Node], clients: Callable[[int, str], Client]
) -> None:
    one, two = nodes("one"), nodes("two")
    one.accounts.add("ada", PASSWORD, Role.ADMIN)
    one.accounts.add("olive", PASSWORD)
    watcher = clients(one.port, "watcher")
    settle(watcher, clients(two.port, "listener"))  # two has read the accounts
    olive = login_as(two.port, "olive", PASSWORD)  # connected before the role is given
    troll = clients(one.port, "troll")
    ada = json_login(one.port, "ada", PASSWORD)
    settle(watcher, olive)
    olive.send(Kick(user="troll"))
    assert next_error(olive).code == "not_operator"
    ada.send_json({"type": "role", "user": "olive", "role": "op"})
    assert answer(ada, "role")["type"] == "notice"
    settle(watcher, olive)  # olive's node has read the change
    olive.send(Kick(user="troll", reason="out"))
    left = next_of(troll, Left)
    assert (left.user, left.reason, left.by) == ("troll", "kicked", "olive")
    ada.send_json({"type": "role", "user": "olive", "role": "user"})
    assert answer(ada, "role")["type"] == "notice"
    settle(watcher, olive)
    olive.send(Kick(user="watcher"))
    assert next_error(olive).code == "not_operator"
    ada.send_json({"type": "role", "user": "otto", "role": "op"})  # not registered anywhere
    assert answer(ada, "role")["code"] == "not_registered"
    olive.close()
    ada.close()


def test_a_node_started_later_knows_the_roles(
    nodes: Callable[..., Node], clients: Callable[[int, str], Client]
) -> None:
    one = nodes("one")
    one.accounts.add("otto", PASSWORD)
    one.accounts.set_role("otto", Role.OP)
    two = nodes("two")
    troll = clients(one.port, "troll")
    otto = login_as(two.port, "otto", PASSWORD)
    otto.send(Kick(user="troll"))
    assert next_of(troll, Left).by == "otto"
    otto.close()


def test_an_operator_cannot_mute_or_kick_an_admin_on_another_node(
    nodes: Callable[..., Node], clients: Callable[[int, str], Client]
) -> None:
    """The rank of a member of another node is its account's (not a plain user's)."""
    one, two = nodes("one"), nodes("two")
    one.accounts.add("ada", PASSWORD, Role.ADMIN)
    one.accounts.add("olive", PASSWORD, Role.OP)
    watcher = clients(two.port, "watcher")
    olive = login_as(one.port, "olive", PASSWORD)
    settle(olive, watcher)  # two has read the accounts
    ada = login_as(two.port, "ada", PASSWORD)
    settle(ada, olive)  # olive's node knows ada is online
    olive.send(Mute(user="ada", duration="10m"))
    assert next_error(olive).code == "not_permitted"
    olive.send(Kick(user="ada"))
    assert next_error(olive).code == "not_permitted"
    olive.send(Mute(user="watcher", duration="10m"))  # a plain user: allowed
    assert next_of(olive, Notice).re == "mute"
    ada.close()
    olive.close()


def test_a_node_cut_from_redis_lets_no_operator_act(
    nodes: Callable[..., Node], clients: Callable[[int, str], Client], redis_server: RedisServer
) -> None:
    """Its copy of the roles may be old (a role taken meanwhile), and what an operator does
    there would reach every node once it is back: refused until Redis is back."""
    proxy = CutProxy(redis_server.port)
    try:
        one = nodes("one", url=proxy.url, dead_after=30)
        link = {False: threading.Event(), True: threading.Event()}
        one.cluster.bus.on_state = lambda up: link[up].set()
        one.accounts.add("olive", PASSWORD, Role.OP)
        olive, troll = login_as(one.port, "olive", PASSWORD), clients(one.port, "troll")
        proxy.cut()
        assert link[False].wait(WAIT)
        olive.send(Kick(user="troll"))
        assert next_error(olive).code == "not_operator"
        proxy.heal()
        assert link[True].wait(WAIT)
        olive.send(Kick(user="troll"))
        assert next_of(troll, Left).by == "olive"
        olive.close()
    finally:
        proxy.close()

"""Moderation across nodes: a ban made on one node holds on every node, an operator kicks a member
of another node."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from messenger.client import Client, LoginError
from messenger.core.roles import Role
from messenger.protocol import Error, Left, Message
from messenger.protocol.moderation import Notice

from ..clitools import WAIT, wait_for_joined
from ..conftest import RawClient
from .clustertools import Node

PASSWORD = "olive's password"


def operator(node: Node) -> RawClient:
    """olive, an operator of the cluster, logged in on ``node`` (JSON frames)."""
    node.accounts.add("olive", PASSWORD, Role.OP)
    olive = RawClient(node.port)
    olive.send_json({"type": "hello", "user": "olive", "password": PASSWORD, "history": 0})
    assert json.loads(olive.line())["type"] == "welcome"
    return olive


def next_left(client: Client) -> Left:
    while not isinstance(frame := client.receive(timeout=WAIT), Left):
        pass
    return frame


def test_a_ban_on_one_node_refuses_a_login_on_another(
    nodes: Callable[..., Node], clients: Callable[[int, str], Client], tmp_path: Path
) -> None:
    one, two = nodes("one", db=tmp_path / "one.db"), nodes("two", db=tmp_path / "two.db")
    olive = operator(one)
    bob, carol = clients(two.port, "bob"), clients(two.port, "carol")
    wait_for_joined(bob, "carol")
    olive.send_json({"type": "ban", "target": "bob", "reason": "spam"})
    left = next_left(carol)  # bob, on the other node, is removed there
    assert (left.user, left.reason, left.by, left.message) == ("bob", "banned", "olive", "spam")
    again = Client.connect("127.0.0.1", two.port, timeout=WAIT)
    try:
        again.login("Bob")
        raise AssertionError("a banned name logged in on another node")
    except LoginError as exc:
        assert exc.code == "banned"
    finally:
        again.close()
        bob.close()
        olive.close()
    three = nodes("three", db=tmp_path / "three.db")  # a node started later knows the ban too
    late = Client.connect("127.0.0.1", three.port, timeout=WAIT)
    try:
        late.login("bob")
        raise AssertionError("a banned name logged in on a node started after the ban")
    except LoginError as exc:
        assert exc.code == "banned"
    finally:
        late.close()


def test_an_operator_kicks_a_member_of_another_node(
    nodes: Callable[..., Node], clients: Callable[[int, str], Client], tmp_path: Path
) -> None:
    one, two = nodes("one", db=tmp_path / "one.db"), nodes("two", db=tmp_path / "two.db")
    watcher = clients(one.port, "watcher")
    olive = operator(one)
    dave = clients(two.port, "dave")
    wait_for_joined(watcher, "dave")
    olive.send_json({"type": "kick", "user": "dave", "reason": "calm down"})
    for client in (dave, watcher):
        left = next_left(client)
        assert (left.user, left.reason, left.by, left.message) == ("dave", "kicked", "olive", "calm down")
    olive.close()


def test_a_mute_on_one_node_silences_the_name_on_another(
    nodes: Callable[..., Node], clients: Callable[[int, str], Client], tmp_path: Path
) -> None:
    one, two = nodes("one", db=tmp_path / "one.db"), nodes("two", db=tmp_path / "two.db")
    olive = operator(one)
    bob = clients(two.port, "bob")
    olive.send_json({"type": "mute", "user": "bob", "duration": "10m", "reason": "shouting"})
    while not (isinstance(frame := bob.receive(timeout=WAIT), Notice) and frame.re == "mute"):
        pass
    assert "olive muted you" in frame.text and "shouting" in frame.text
    bob.say("LOUD")
    while not isinstance(frame := bob.receive(timeout=WAIT), Error):
        assert not isinstance(frame, Message), frame
    assert frame.code == "muted"
    olive.send_json({"type": "unmute", "user": "bob"})
    while not (isinstance(frame := bob.receive(timeout=WAIT), Notice) and frame.re == "unmute"):
        pass
    bob.say("quiet now")
    while not isinstance(frame := bob.receive(timeout=WAIT), Message):
        assert not isinstance(frame, Error), frame
    assert frame.text == "quiet now"
    olive.close()

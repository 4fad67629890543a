"""Several servers as one chat through Redis: messages, private messages, rooms, names, who."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from messenger.client import Client
from messenger.protocol import Joined, Left, Message, Renamed, Users
from messenger.protocol.moderation import Topic, TopicRequest, Whois, WhoisRequest

from ..clitools import wait_for_joined
from ..webclient import WsClient
from .clustertools import Node, next_of, said

T = TypeVar("T")


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


def test_three_nodes_one_order_ids_increasing(
    nodes: Callable[..., Node], clients: Callable[[int, str], Client]
) -> None:
    ports = [nodes(name).port for name in ("one", "two", "three")]
    people = [clients(port, name) for port, name in zip(ports, ("ann", "ben", "cat"), strict=True)]
    for person in people:
        for other in ("ann", "ben", "cat"):
            if other != person.user:
                wait_for_joined_or_listed(person, other)
    for i in range(10):
        for person in people:
            person.say(f"{person.user}{i}")
    seen = [[(m.id, m.sender, m.text) for m in said(person, 30)] for person in people]
    assert seen[0] == seen[1] == seen[2]
    ids = [entry[0] for entry in seen[0]]
    assert ids == sorted(set(ids))
    for name in ("ann", "ben", "cat"):  # each sender's messages in the order sent
        assert [text for _, sender, text in seen[0] if sender == name] == [f"{name}{i}" for i in range(10)]


def wait_for_joined_or_listed(client: Client, user: str) -> None:
    """``user`` is online for ``client``: in its welcome's list, or a ``joined`` later."""
    if client.welcome is not None and user in client.welcome.users:
        return
    wait_for_joined(client, user)


def test_private_messages_actions_rooms_topics_who_and_whois_across_nodes(
    nodes: Callable[..., Node], clients: Callable[[int, str], Client]
) -> None:
    one, two = nodes("one"), nodes("two")
    alice = clients(one.port, "alice")
    bob = clients(two.port, "bob")
    wait_for_joined(alice, "bob")
    alice.say("psst", to="bob")
    for client in (alice, bob):
        message = next_of(client, Message)
        assert (message.sender, message.to, message.text) == ("alice", "bob", "psst")
    bob.me("waves")
    for client in (alice, bob):
        message = next_of(client, Message)
        assert (message.sender, message.action, message.text) == ("bob", True, "waves")
    bob.join("#dev")
    alice.join("#dev")
    while (joined := next_of(bob, Joined)).user != "alice":
        pass
    assert joined.room == "#dev"
    alice.send(TopicRequest(room="#dev", text="shipping"))
    topic = next_of(bob, Topic)
    assert (topic.room, topic.text, topic.by) == ("#dev", "shipping", "alice")
    bob.say("in dev", room="#dev")
    for client in (alice, bob):
        message = next_of(client, Message)
        assert (message.room, message.text) == ("#dev", "in dev")
    bob.send(WhoisRequest(user="alice"))
    whois = next_of(bob, Whois)
    assert whois.user == "alice" and "#dev" in whois.rooms
    alice.who("#dev")
    assert next_of(alice, Users).users == ("alice", "bob")
    alice.part("#dev")
    left = next_of(bob, Left)
    assert (left.user, left.room, left.reason) == ("alice", "#dev", "part")
    alice.nick("alicia")
    renamed = next_of(bob, Renamed)
    assert (renamed.old, renamed.new) == ("alice", "alicia")
    bob.who()
    assert next_of(bob, Users).users == ("alicia", "bob")


def test_a_web_member_on_one_node_chats_with_a_tcp_member_on_another(
    nodes: Callable[..., Node], clients: Callable[[int, str], Client]
) -> None:
    one, two = nodes("one"), nodes("two")
    web = two.thread.server.open_web(("127.0.0.1", 0), ())
    alice = clients(one.port, "alice")
    page = WsClient(web.port)
    try:
        page.login("webby")
        wait_for_joined(alice, "webby")
        page.send_json({"type": "say", "text": "from the page"})
        message = next_of(alice, Message)
        assert (message.sender, message.text) == ("webby", "from the page")
        alice.say("to the page")
        while (frame := page.until("message"))["from"] != "alice":
            pass
        assert frame["text"] == "to the page" and frame["id"] > message.id
    finally:
        page.close()

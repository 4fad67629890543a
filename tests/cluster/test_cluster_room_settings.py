"""A room's settings are the cluster's: a moderated or invite-only room, its allowed names and its
topic hold on every node, nodes started later included."""

from __future__ import annotations

from collections.abc import Callable

from messenger.client import Client
from messenger.core.roles import Role
from messenger.protocol import Joined
from messenger.protocol.moderation import Allow, ModeRequest, Notice, RoomMode, Topic, TopicRequest

from ..clitools import WAIT
from .clustertools import Node, next_of
from .sharedtools import PASSWORD, heard, login_as, next_error, settle


def joined(client: Client, room: str) -> None:
    client.join(room)
    while not (
        isinstance(frame := client.receive(timeout=WAIT), Joined)
        and frame.user == client.user
        and frame.room == room
    ):
        pass


def test_modes_allowed_names_and_topics_hold_on_every_node(
    nodes: Callable[..., Node], clients: Callable[[int, str], Client]
) -> None:
    one, two = nodes("one"), nodes("two")
    one.accounts.add("olive", PASSWORD, Role.OP)
    olive = login_as(one.port, "olive", PASSWORD)
    bob, carol = clients(two.port, "bob"), clients(two.port, "carol")
    joined(olive, "#den")
    joined(bob, "#den")
    olive.send(ModeRequest(room="#den", moderated=True))
    mode = next_of(bob, RoomMode)  # told on its own node
    assert (mode.room, mode.moderated, mode.by) == ("#den", True, "olive")
    bob.say("may I?", room="#den")
    assert next_error(bob).code == "moderated"
    olive.send(Allow(user="bob", room="#den"))
    assert next_of(olive, Notice).re == "allow"
    settle(olive, bob)
    bob.say("thank you", room="#den")
    assert heard(olive, "thank you").sender == "bob"
    olive.send(ModeRequest(room="#vault", invite_only=True))
    next_of(olive, RoomMode)
    olive.send(TopicRequest(room="#den", text="quiet please"))
    assert next_of(bob, Topic).text == "quiet please"
    carol.join("#vault")
    assert next_error(carol).code == "invite_only"
    three = nodes("three")  # started later: knows the modes, names and topic
    dave = clients(three.port, "dave")
    dave.join("#vault")
    assert next_error(dave).code == "invite_only"
    dave.join("#den")
    topic = next_of(dave, Topic)
    assert (topic.room, topic.text, topic.by) == ("#den", "quiet please", "olive")
    dave.say("hello?", room="#den")
    assert next_error(dave).code == "moderated"
    olive.send(Allow(user="dave", room="#vault"))
    assert next_of(olive, Notice).re == "allow"
    settle(olive, dave)
    joined(dave, "#vault")
    olive.close()


def modes_of(client: Client, room: str) -> tuple[bool, bool]:
    client.send(ModeRequest(room=room))
    mode = next_of(client, RoomMode)
    return mode.invite_only, mode.moderated


def test_two_operators_changing_one_room_at_once_leave_it_the_same_everywhere(
    nodes: Callable[..., Node],
) -> None:
    """Each change is merged in Redis and every node takes the merged record in the stream's
    order: one operator's +i and another's +m at the same instant make the room +i+m on both."""
    one, two = nodes("one"), nodes("two")
    one.accounts.add("olive", PASSWORD, Role.OP)
    one.accounts.add("oscar", PASSWORD, Role.OP)
    olive, oscar = login_as(one.port, "olive", PASSWORD), login_as(two.port, "oscar", PASSWORD)
    for on in (True, False, True, False, True, False):
        olive.send(ModeRequest(room="#den", invite_only=on))
        oscar.send(ModeRequest(room="#den", moderated=on))
        settle(olive, oscar)
        settle(oscar, olive)  # each node has applied both changes
        assert modes_of(olive, "#den") == modes_of(oscar, "#den") == (on, on)
    olive.close()
    oscar.close()

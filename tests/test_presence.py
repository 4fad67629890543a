"""Presence and rooms' settings over real sockets: away, whois, ignore, reply, topics, invite-only
and moderated rooms, the message of the day."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from messenger.core.roles import Role

from .conftest import RawClient, ServerThread, stored_server
from .test_moderation import error_of, frame_of

OLIVE = "olive's password"
DAVE = "dave's password"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerThread]:
    started = stored_server(tmp_path / "chat.db")
    started.accounts.add("olive", OLIVE, Role.OP)
    started.accounts.add("dave", DAVE)
    yield started
    started.stop()


@pytest.fixture
def login(server: ServerThread) -> Iterator[Callable[..., RawClient]]:
    opened: list[RawClient] = []

    def open_json(name: str, **extra: Any) -> RawClient:
        client = RawClient(server.port)
        opened.append(client)
        client.send_json({"type": "hello", "user": name, "history": 0, **extra})
        frame_of(client, "joined")
        return client

    yield open_json
    for client in opened:
        client.close()


def test_away_shows_in_who_and_to_private_senders_only(login) -> None:
    alice, bob = login("alice"), login("bob")
    bob.send_json({"type": "away", "text": "lunch"})
    assert frame_of(bob, "away") == {"type": "away", "user": "bob", "text": "lunch"}
    alice.send_json({"type": "who"})
    assert frame_of(alice, "users") == {"type": "users", "users": ["alice", "bob"], "away": {"bob": "lunch"}}
    alice.send_json({"type": "say", "text": "hi all"})
    alice.send_json({"type": "say", "text": "psst", "to": "bob"})
    seen = [json.loads(line) for line in alice.until(lambda line: '"type":"away"' in line)]
    assert [frame["type"] for frame in seen] == ["message", "message", "away"]
    assert seen[-1] == {"type": "away", "user": "bob", "text": "lunch"}
    bob.send_json({"type": "away"})
    assert frame_of(bob, "away") == {"type": "away", "user": "bob"}
    alice.send_json({"type": "who"})
    assert "away" not in frame_of(alice, "users")


def test_whois_tells_an_address_only_to_operators(login) -> None:
    alice, bob = login("alice"), login("bob")
    olive = login("olive", password=OLIVE)
    bob.send_json({"type": "join", "room": "#ops"})
    bob.send_json({"type": "away", "text": "brb"})
    frame_of(bob, "away")
    alice.send_json({"type": "whois", "user": "BOB"})
    about = frame_of(alice, "whois")
    assert (about["user"], about["registered"], about["role"], about["rooms"]) == (
        "bob",
        False,
        "user",
        ["#lobby", "#ops"],
    )
    assert about["away"] == "brb" and about["idle"] >= 0 and about["since"].endswith("Z")
    assert "address" not in about
    olive.send_json({"type": "whois", "user": "bob"})
    assert frame_of(olive, "whois")["address"] == "127.0.0.1"
    alice.send_json({"type": "whois", "user": "olive"})
    about_olive = frame_of(alice, "whois")
    assert (about_olive["registered"], about_olive["role"]) == (True, "op")
    alice.send_json({"type": "whois", "user": "nobody"})
    assert error_of(alice)["code"] == "unknown_user"


def test_ignore_stops_messages_and_private_messages_silently(login) -> None:
    alice, bob, carol = login("alice"), login("bob"), login("carol")
    alice.send_json({"type": "ignore", "user": "Bob"})
    assert frame_of(alice, "ignored") == {"type": "ignored", "users": ["bob"]}
    bob.send_json({"type": "say", "text": "one"})
    bob.send_json({"type": "me", "text": "two"})
    bob.send_json({"type": "say", "text": "three", "to": "alice"})
    assert [json.loads(line).get("text") for line in bob.until(lambda line: '"three"' in line)][-3:] == [
        "one",
        "two",
        "three",
    ]
    carol.send_json({"type": "say", "text": "marker"})
    got = [json.loads(line) for line in alice.until(lambda line: '"marker"' in line)]
    assert [frame.get("text") for frame in got if frame["type"] == "message"] == ["marker"]
    assert carol.until(lambda line: '"two"' in line)  # everyone else still gets bob
    alice.send_json({"type": "unignore", "user": "bob"})
    assert frame_of(alice, "ignored") == {"type": "ignored", "users": []}
    bob.send_json({"type": "say", "text": "four"})
    assert alice.until(lambda line: '"four"' in line)
    alice.send_json({"type": "ignore", "user": "alice"})
    assert error_of(alice)["code"] == "not_permitted"


def test_an_ignore_follows_a_rename(login) -> None:
    alice, bob, carol = login("alice"), login("bob"), login("carol")
    alice.send_json({"type": "ignore", "user": "bob"})
    frame_of(alice, "ignored")
    bob.send_json({"type": "nick", "user": "robert"})
    bob.send_json({"type": "say", "text": "new name, same me"})
    bob.send_json({"type": "say", "text": "psst", "to": "alice"})
    bob.until(lambda line: '"psst"' in line)
    carol.send_json({"type": "say", "text": "marker"})
    got = [json.loads(line) for line in alice.until(lambda line: '"marker"' in line)]
    assert [frame["text"] for frame in got if frame["type"] == "message"] == ["marker"]
    alice.send_json({"type": "ignored"})
    assert frame_of(alice, "ignored")["users"] == ["bob", "robert"]


def test_a_registered_users_ignores_are_remembered(login, server) -> None:
    dave = login("dave", password=DAVE)
    dave.send_json({"type": "ignore", "user": "bob"})
    frame_of(dave, "ignored")
    dave.send_json({"type": "bye"})
    assert dave.closed()
    again = login("dave", password=DAVE)
    again.send_json({"type": "ignored"})
    assert frame_of(again, "ignored")["users"] == ["bob"]
    bob, carol = login("bob"), login("carol")
    bob.send_json({"type": "say", "text": "hello dave"})
    carol.send_json({"type": "say", "text": "marker"})
    got = [json.loads(line) for line in again.until(lambda line: '"marker"' in line)]
    assert [frame["text"] for frame in got if frame["type"] == "message"] == ["marker"]


def test_reply_answers_the_last_private_message(login) -> None:
    alice, bob = login("alice"), login("bob")
    bob.send_json({"type": "reply", "text": "to whom?"})
    assert error_of(bob)["code"] == "no_reply"
    alice.send_json({"type": "say", "text": "ping me", "to": "bob"})
    frame_of(bob, "message")
    bob.send_json({"type": "reply", "text": "pong"})
    answer = frame_of(alice, "message")
    while answer["text"] != "pong":
        answer = frame_of(alice, "message")
    assert (answer["from"], answer["to"]) == ("bob", "alice")


def test_topics_are_shown_on_join_and_in_the_welcome(login) -> None:
    alice, bob = login("alice"), login("bob")
    alice.send_json({"type": "join", "room": "#dev"})
    alice.send_json({"type": "topic", "room": "#dev", "text": "release at 5"})
    topic = frame_of(alice, "topic")
    assert (topic["room"], topic["text"], topic["by"]) == ("#dev", "release at 5", "alice")
    bob.send_json({"type": "join", "room": "#dev"})
    joined_then_topic = [
        json.loads(line)["type"] for line in bob.until(lambda line: '"type":"topic"' in line)
    ]
    assert joined_then_topic[-2:] == ["joined", "topic"]
    bob.send_json({"type": "topic", "text": "lobby news"})
    assert frame_of(alice, "topic")["text"] == "lobby news"
    alice.send_json({"type": "rooms"})
    assert frame_of(alice, "rooms")["rooms"] == [
        {"room": "#dev", "users": 2, "topic": "release at 5"},
        {"room": "#lobby", "users": 2, "topic": "lobby news"},
    ]
    carol = RawClient(alice.sock.getpeername()[1])
    carol.send_json({"type": "hello", "user": "carol"})
    assert carol.frame()["topic"] == "lobby news"
    text = RawClient(alice.sock.getpeername()[1])
    text.send("tess\n")
    assert text.line().startswith("Welcome, tess!")
    assert text.line() == "Topic of #lobby: lobby news"


def test_invite_only_and_moderated_rooms(login) -> None:
    olive, bob, carol = login("olive", password=OLIVE), login("bob"), login("carol")
    olive.send_json({"type": "join", "room": "#staff"})
    olive.send_json({"type": "mode", "room": "#staff", "invite_only": True})
    assert frame_of(olive, "mode") == {
        "type": "mode",
        "room": "#staff",
        "invite_only": True,
        "moderated": False,
        "by": "olive",
    }
    bob.send_json({"type": "join", "room": "#staff"})
    assert error_of(bob)["code"] == "invite_only"
    bob.send_json({"type": "mode", "room": "#staff", "invite_only": False})
    assert error_of(bob)["code"] == "not_operator"
    olive.send_json({"type": "allow", "room": "#staff", "user": "bob"})
    assert frame_of(olive, "notice")["text"] == "bob may now join and speak in #staff"
    bob.send_json({"type": "join", "room": "#staff"})
    assert frame_of(bob, "mode")["invite_only"] is True
    olive.send_json({"type": "mode", "moderated": True})  # the lobby
    frame_of(carol, "mode")
    carol.send_json({"type": "say", "text": "can I?"})
    assert error_of(carol)["code"] == "moderated"
    carol.send_json({"type": "topic", "text": "mine now"})
    assert error_of(carol)["code"] == "moderated"
    olive.send_json({"type": "say", "text": "ops may"})
    assert carol.until(lambda line: '"ops may"' in line)
    olive.send_json({"type": "mode", "room": "#lobby", "invite_only": True})
    assert error_of(olive)["code"] == "not_permitted"


def test_text_mode_presence_commands(server, login) -> None:
    login("bob")
    tess = RawClient(server.port)
    tess.send("tess\n/away lunch\n/who\n/whois bob\n/topic\n/ignore bob\n/ignored\n/back\n")
    lines = tess.until(lambda line: line == "tess is back")
    assert "tess is away: lunch" in lines
    assert "Online (2): bob, tess; away: tess (lunch)" in lines
    assert any(line.startswith("bob: not registered; role user; in #lobby; idle ") for line in lines)
    assert "#lobby has no topic" in lines
    assert lines.count("Ignored (1): bob") == 2


def test_the_message_of_the_day_follows_the_welcome(make_server) -> None:
    started = make_server()
    started.server.registry.motd = "Be kind.\nNo spam."
    json_client = RawClient(started.port)
    json_client.send_json({"type": "hello", "user": "ann"})
    assert json_client.frame()["type"] == "welcome"
    assert json_client.frame() == {"type": "motd", "text": "Be kind.\nNo spam."}
    text = RawClient(started.port)
    text.send("tom\n")
    assert text.line().startswith("Welcome, tom!")
    assert [text.line(), text.line()] == ["- Be kind.", "- No spam."]


def test_away_changes_reach_those_who_asked_to_follow_presence(login) -> None:
    """A client that says ``presence`` in its hello hears everyone's away and back; one that
    does not (a version 1 client) hears nothing new."""
    follower, plain = login("fay", presence=True), login("pat")
    bob = login("bob")
    bob.send_json({"type": "away", "text": "lunch"})
    assert frame_of(follower, "away") == {"type": "away", "user": "bob", "text": "lunch"}
    bob.send_json({"type": "away"})
    assert frame_of(follower, "away") == {"type": "away", "user": "bob"}
    bob.send_json({"type": "say", "text": "marker"})
    seen = [json.loads(line)["type"] for line in plain.until(lambda line: '"marker"' in line)]
    assert "away" not in seen

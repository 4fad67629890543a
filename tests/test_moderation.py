"""Operators over real sockets: kick, ban (names, addresses, networks), mute, roles, and every path
to an operator's privilege or around a ban: login, rename, account login, reconnect, text mode."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from messenger.core.roles import Role

from .conftest import RawClient, ServerThread, stored_server

PASSWORDS = {"root": "root's password", "olive": "olive's password", "oscar": "oscar's password"}


class Clock:
    """The moderation's clock, moved by the test: bans and mutes expire without sleeping."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server(tmp_path: Path, clock: Clock) -> Iterator[ServerThread]:
    """root is an admin, olive and oscar operators; everyone else is unregistered."""
    started = stored_server(tmp_path / "chat.db", clock=clock)
    started.accounts.add("root", PASSWORDS["root"], Role.ADMIN)
    started.accounts.add("olive", PASSWORDS["olive"], Role.OP)
    started.accounts.add("oscar", PASSWORDS["oscar"], Role.OP)
    yield started
    started.stop()


@pytest.fixture
def login(server: ServerThread) -> Iterator[Callable[..., RawClient]]:
    opened: list[RawClient] = []

    def open_json(name: str, **extra: Any) -> RawClient:
        client = RawClient(server.port)
        opened.append(client)
        hello = {"type": "hello", "user": name, "history": 0, **extra}
        if name in PASSWORDS and "password" not in extra:
            hello["password"] = PASSWORDS[name]
        client.send_json(hello)
        first = client.frame()
        if first["type"] == "welcome":
            client.until(lambda line: json.loads(line).get("type") == "joined" and name in line)
        else:
            client.first = first  # type: ignore[attr-defined]
        return client

    yield open_json
    for client in opened:
        client.close()


def frame_of(client: RawClient, kind: str) -> dict[str, Any]:
    """The next frame of type ``kind`` (others before it are skipped)."""
    lines = client.until(lambda line: json.loads(line)["type"] == kind)
    return json.loads(lines[-1])


def error_of(client: RawClient) -> dict[str, Any]:
    return frame_of(client, "error")


def test_an_operator_kicks_and_everyone_sees_who_why(login) -> None:
    olive, bob, carol = login("olive"), login("bob"), login("carol")
    olive.send_json({"type": "kick", "user": "BOB", "reason": "spam"})
    assert frame_of(olive, "notice")["text"] == "bob was kicked"
    seen = frame_of(carol, "left")
    assert (seen["user"], seen["reason"], seen["by"], seen["message"]) == ("bob", "kicked", "olive", "spam")
    own = frame_of(bob, "left")
    assert (own["user"], own["reason"], own["by"]) == ("bob", "kicked", "olive")
    assert bob.closed()
    carol.send_json({"type": "who"})
    assert frame_of(carol, "users")["users"] == ["carol", "olive"]


def test_nobody_unregistered_is_an_operator_whatever_the_name(login, server) -> None:
    """Every request of an operator's is refused to someone without an operator's account: by
    an unregistered user, by one that renamed itself to look like an operator, by an
    operator's name taken while its owner is away (refused: it is registered)."""
    mallory, bob = login("mallory"), login("bob")
    requests = [
        {"type": "kick", "user": "bob"},
        {"type": "ban", "target": "bob"},
        {"type": "unban", "target": "bob"},
        {"type": "bans"},
        {"type": "mute", "user": "bob"},
        {"type": "unmute", "user": "bob"},
        {"type": "mode", "room": "#lobby", "moderated": True},
        {"type": "allow", "user": "mallory"},
        {"type": "role", "user": "mallory", "role": "admin"},
    ]
    for request in requests:
        mallory.send_json(request)
        assert error_of(mallory)["code"] == "not_operator", request
    mallory.send_json({"type": "nick", "user": "olive"})
    assert error_of(mallory)["code"] == "name_registered"
    mallory.send_json({"type": "nick", "user": "0live"})  # a lookalike: still olive's
    assert error_of(mallory)["code"] == "name_registered"
    bob.send_json({"type": "who"})
    assert frame_of(bob, "users")["users"] == ["bob", "mallory"]


def test_an_operator_cannot_touch_another_operator_but_an_admin_can(login) -> None:
    olive, oscar, root = login("olive"), login("oscar"), login("root")
    on_oscar = (
        {"type": "kick", "user": "oscar"},
        {"type": "ban", "target": "oscar"},
        {"type": "mute", "user": "oscar"},
    )
    for request in on_oscar:
        olive.send_json(request)
        assert error_of(olive)["code"] == "not_permitted", request
    olive.send_json({"type": "ban", "target": "root"})
    assert error_of(olive)["code"] == "not_permitted"
    olive.send_json({"type": "kick", "user": "olive"})
    assert error_of(olive)["code"] == "not_permitted"
    root.send_json({"type": "ban", "target": "oscar", "duration": "1h", "reason": "rogue"})
    assert frame_of(root, "notice")["text"].startswith("oscar is banned for 1h")
    assert frame_of(oscar, "left")["reason"] == "banned"


def test_a_banned_name_cannot_come_back_by_any_path(login, server) -> None:
    """Login, case and lookalikes, text mode, rename, and logging in to the account under
    another name: all refused with ``banned``."""
    olive, bob = login("olive"), login("bob")
    server.accounts.add("dave", "dave's password")
    olive.send_json({"type": "ban", "target": "bob", "reason": "spam"})
    frame_of(olive, "notice")
    assert frame_of(bob, "left")["reason"] == "banned"
    olive.send_json({"type": "ban", "target": "dave"})
    frame_of(olive, "notice")
    for name in ("bob", "BOB", "b0b"):
        again = login(name)
        assert again.first["code"] == "banned", name  # type: ignore[attr-defined]
    text = RawClient(server.port)
    text.send("Bob\n")
    assert text.line().startswith("error: bob is banned until lifted: spam")
    carol = login("carol")
    carol.send_json({"type": "nick", "user": "Bob"})
    assert error_of(carol)["code"] == "banned"
    sneaky = login("davey", account="dave", password="dave's password")
    assert sneaky.first["code"] == "banned"  # type: ignore[attr-defined]


def test_bans_expire_on_time_and_survive_a_restart(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "chat.db"
    first = stored_server(path, clock=clock)
    first.accounts.add("olive", PASSWORDS["olive"], Role.OP)
    olive = RawClient(first.port)
    olive.send_json({"type": "hello", "user": "olive", "password": PASSWORDS["olive"], "history": 0})
    olive.send_json({"type": "ban", "target": "bob", "duration": "2h"})
    olive.send_json({"type": "ban", "target": "eve"})
    olive.until(lambda line: "eve is banned" in line)
    olive.close()
    first.stop()
    second = stored_server(path, clock=clock)
    try:
        for name in ("bob", "eve"):
            client = RawClient(second.port)
            client.send_json({"type": "hello", "user": name})
            assert client.frame()["code"] == "banned"
        clock.now += 2 * 3600 + 1
        client = RawClient(second.port)
        client.send_json({"type": "hello", "user": "bob"})
        assert client.frame()["type"] == "welcome"
        client = RawClient(second.port)
        client.send_json({"type": "hello", "user": "eve"})
        assert client.frame()["code"] == "banned"
    finally:
        second.stop()


def test_a_banned_address_is_refused_at_accept_with_one_line(login, server) -> None:
    """bob connects from 127.0.0.2; the operator, from 127.0.0.1, bans it: bob is removed, and a
    new connection from there gets one line and is closed, before any login."""
    olive = login("olive")
    bob = RawClient(server.port, source="127.0.0.2")
    bob.send_json({"type": "hello", "user": "bob", "history": 0})
    frame_of(bob, "joined")
    olive.send_json({"type": "ban", "target": "127.0.0.2", "reason": "flood"})
    assert frame_of(olive, "notice")["text"] == "127.0.0.2 is banned until lifted"
    assert frame_of(bob, "left")["reason"] == "banned"
    refused = RawClient(server.port, source="127.0.0.2")
    assert json.loads(refused.line()) == {
        "type": "error",
        "code": "banned",
        "message": "your address is banned from this server",
    }
    assert refused.closed()
    elsewhere = RawClient(server.port, source="127.0.0.3")
    elsewhere.send_json({"type": "hello", "user": "bob"})
    assert elsewhere.frame()["type"] == "welcome"
    olive.send_json({"type": "unban", "target": "127.0.0.2"})
    assert frame_of(olive, "notice")["text"] == "127.0.0.2 is no longer banned"
    again = RawClient(server.port, source="127.0.0.2")
    again.send_json({"type": "hello", "user": "carol"})
    assert again.frame()["type"] == "welcome"


def test_an_address_ban_spares_the_operator_and_those_it_may_not_ban(login, server) -> None:
    olive, root = login("olive"), login("root")
    olive.send_json({"type": "ban", "target": "127.0.0.1"})
    assert error_of(olive)["message"] == "that would ban your own address"
    away = RawClient(server.port, source="127.0.0.9")
    away.send_json({"type": "hello", "user": "oscar", "password": PASSWORDS["oscar"]})
    frame_of(away, "welcome")
    olive.send_json({"type": "ban", "target": "127.0.0.9"})
    assert error_of(olive)["code"] == "not_permitted"
    root.send_json({"type": "ban", "target": "127.0.0.0/16"})
    assert error_of(root)["message"] == "that would ban your own address"


def test_bans_list_and_bad_targets_and_durations(login) -> None:
    olive = login("olive")
    olive.send_json({"type": "ban", "target": "eve", "duration": "10m", "reason": "spam"})
    frame_of(olive, "notice")
    olive.send_json({"type": "bans"})
    (ban,) = frame_of(olive, "bans")["bans"]
    assert (ban["target"], ban["kind"], ban["by"], ban["reason"]) == ("eve", "name", "olive", "spam")
    assert ban["until"] > ban["since"]
    for request, code in (
        ({"type": "ban", "target": "eve", "duration": "forever"}, "bad_duration"),
        ({"type": "ban", "target": "eve", "duration": "400d"}, "bad_duration"),
        ({"type": "ban", "target": "10.0.0.0/8"}, "bad_target"),  # too wide for an operator
        ({"type": "ban", "target": "not a name!"}, "bad_target"),
        ({"type": "unban", "target": "nobody"}, "not_banned"),
        ({"type": "unmute", "user": "nobody"}, "not_muted"),
    ):
        olive.send_json(request)
        assert error_of(olive)["code"] == code, request


def test_a_muted_user_reads_but_cannot_send_until_it_ends(login, clock: Clock) -> None:
    olive, bob, carol = login("olive"), login("bob"), login("carol")
    olive.send_json({"type": "mute", "user": "bob", "duration": "10m", "reason": "calm down"})
    assert frame_of(olive, "notice")["text"] == "bob is muted for 10m more"
    assert "muted you for 10m more: calm down" in frame_of(bob, "notice")["text"]
    for request in (
        {"type": "say", "text": "hi"},
        {"type": "me", "text": "waves"},
        {"type": "say", "text": "psst", "to": "carol"},
    ):
        bob.send_json(request)
        assert error_of(bob)["code"] == "muted"
    carol.send_json({"type": "say", "text": "still here?"})
    assert frame_of(bob, "message")["text"] == "still here?"
    clock.now += 601
    bob.send_json({"type": "say", "text": "back"})
    assert carol.until(lambda line: '"text":"back"' in line)


def test_an_admin_gives_roles_and_they_apply_at_once(login, server) -> None:
    root, olive, bob = login("root"), login("olive"), login("bob")
    server.accounts.add("dave", "dave's password")
    dave = login("dave", password="dave's password")
    olive.send_json({"type": "role", "user": "dave", "role": "op"})
    assert error_of(olive)["code"] == "not_operator"
    root.send_json({"type": "role", "user": "bob", "role": "op"})
    assert error_of(root)["code"] == "not_registered"
    root.send_json({"type": "role", "user": "dave", "role": "wizard"})
    assert error_of(root)["code"] == "bad_target"
    root.send_json({"type": "role", "user": "dave", "role": "op"})
    assert frame_of(root, "notice")["text"] == "dave is now op"
    dave.send_json({"type": "kick", "user": "bob"})
    assert frame_of(dave, "notice")["text"] == "bob was kicked"
    root.send_json({"type": "role", "user": "olive", "role": "user"})
    frame_of(root, "notice")
    olive.send_json({"type": "bans"})
    assert error_of(olive)["code"] == "not_operator"
    assert bob.closed()


def test_moderation_in_text_mode(server, login) -> None:
    bob = login("bob")
    olive = RawClient(server.port)
    olive.send(f"olive {PASSWORDS['olive']}\n")
    olive.until(lambda line: line.startswith("olive has joined"))
    olive.send("/kick bob flooding the room\n")
    assert "*** bob was kicked" in olive.until(lambda line: line.startswith("***"))
    assert frame_of(bob, "left")["message"] == "flooding the room"
    olive.send("/ban eve 2h\n/bans\n")
    assert olive.until(lambda line: line.startswith("Bans"))[-1].startswith(
        "Bans (1): eve (name, by olive until "
    )
    olive.send("/ban\n")
    usage = "error: usage: /ban NAME|ADDRESS|CIDR [DURATION] [REASON]"
    assert olive.until(lambda line: line.startswith("error"))[-1] == usage


def test_every_action_is_in_the_audit_trail(login, server) -> None:
    olive = login("olive")
    login("bob")
    olive.send_json({"type": "kick", "user": "bob", "reason": "spam"})
    olive.send_json({"type": "ban", "target": "eve", "duration": "1h"})
    olive.send_json({"type": "mute", "user": "carol"})
    olive.send_json({"type": "unmute", "user": "carol"})
    olive.send_json({"type": "mode", "room": "#Dev", "invite_only": True, "moderated": False})
    olive.send_json({"type": "allow", "room": "#dev", "user": "bob"})
    olive.until(lambda line: "bob may now join" in line)
    trail = [(e.actor, e.action, e.target, e.reason, e.duration) for e in server.moderation.audit.recent(10)]
    assert trail == [
        ("olive", "kick", "bob", "spam", None),
        ("olive", "ban", "eve", "", 3600),
        ("olive", "mute", "carol", "", None),
        ("olive", "unmute", "carol", "", None),
        ("olive", "mode +i-m", "#dev", "", None),
        ("olive", "allow #dev", "bob", "", None),
    ]


def test_a_mute_cannot_be_shaken_off_by_renaming_or_spoken_through_a_topic(login) -> None:
    olive, bob = login("olive"), login("bob")
    olive.send_json({"type": "mute", "user": "bob"})
    frame_of(olive, "notice")
    bob.send_json({"type": "nick", "user": "bobby"})
    assert error_of(bob)["code"] == "muted"
    bob.send_json({"type": "topic", "text": "look at me"})
    assert error_of(bob)["code"] == "muted"
    bob.send_json({"type": "reply", "text": "x"})
    assert error_of(bob)["code"] == "no_reply"
    olive.send_json({"type": "say", "text": "hi bob", "to": "bob"})
    assert frame_of(bob, "message")["text"] == "hi bob"  # bob has someone to reply to now
    bob.send_json({"type": "reply", "text": "let me speak"})
    assert error_of(bob)["code"] == "muted"


def test_a_role_taken_away_applies_to_every_operators_request_at_once(login, server) -> None:
    """Kick and ban read the role from the database; so do room modes, allow and whois's
    address, which also need an operator."""
    olive = login("olive")
    login("bob")
    server.accounts.set_role("olive", Role.USER)
    olive.send_json({"type": "whois", "user": "bob"})  # before any request that refreshes it
    assert "address" not in frame_of(olive, "whois")
    for request in (
        {"type": "mode", "room": "#lobby", "moderated": True},
        {"type": "allow", "user": "bob"},
        {"type": "kick", "user": "bob"},
    ):
        olive.send_json(request)
        assert error_of(olive)["code"] == "not_operator", request


def test_a_mute_in_a_moderated_room_wins_over_being_allowed(login) -> None:
    olive, bob, carol = login("olive"), login("bob"), login("carol")
    olive.send_json({"type": "mode", "moderated": True})
    olive.send_json({"type": "allow", "user": "bob"})
    olive.send_json({"type": "mute", "user": "bob"})
    olive.until(lambda line: "bob is muted" in line)
    bob.send_json({"type": "say", "text": "allowed but muted"})
    assert error_of(bob)["code"] == "muted"
    carol.send_json({"type": "say", "text": "not allowed"})
    assert error_of(carol)["code"] == "moderated"
    olive.send_json({"type": "unmute", "user": "bob"})
    olive.until(lambda line: "bob is no longer muted" in line)
    bob.send_json({"type": "say", "text": "now I speak"})
    assert carol.until(lambda line: '"now I speak"' in line)


def test_roles_survive_a_restart(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "chat.db"
    first = stored_server(path, clock=clock)
    first.accounts.add("olive", PASSWORDS["olive"], Role.OP)
    first.stop()
    second = stored_server(path, clock=clock)
    try:
        olive = RawClient(second.port)
        olive.send_json({"type": "hello", "user": "olive", "password": PASSWORDS["olive"], "history": 0})
        olive.send_json({"type": "bans"})
        assert frame_of(olive, "bans") == {"type": "bans", "bans": []}
    finally:
        second.stop()

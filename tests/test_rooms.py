"""Rooms: joining, parting, isolation of traffic, text mode's current room, and v1 clients.

Real servers on loopback; JSON clients through the library, text clients as raw sockets.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from messenger.client import Client
from messenger.protocol import (
    Join,
    Joined,
    Left,
    Message,
    Part,
    RoomInfo,
    RoomList,
    Rooms,
    Users,
    Who,
    normalize_room,
)

from .clitools import assert_one_error_line, run_cli
from .conftest import RawClient, ServerThread, stored_server
from .historytools import log_in, page

WAIT = 5.0


def next_of(client: Client, kind: type, predicate: Callable[[Any], bool] = lambda frame: True) -> Any:
    """The next frame of ``kind`` matching ``predicate`` (others are skipped)."""
    while True:
        frame = client.receive(timeout=WAIT)
        if isinstance(frame, kind) and predicate(frame):
            return frame


def join(client: Client, room: str) -> Joined:
    client.send(Join(room=room))
    return next_of(client, Joined, lambda f: f.user == client.user and f.room == normalize_room(room))


def barrier(client: Client) -> list[Any]:
    """Everything ``client`` receives until the server has answered all it sent (ping/pong)."""
    client.ping("barrier")
    frames = []
    while (frame := client.receive(timeout=WAIT)).TYPE != "pong":
        frames.append(frame)
    return frames


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("#ops", "#ops"), ("#Ops", "#ops"), ("  #OPS ", "#ops"), ("#ｏｐｓ", "#ops"), ("#dev-2_x", "#dev-2_x")],
)
def test_room_names_are_compared_case_insensitively(raw: str, expected: str) -> None:
    assert normalize_room(raw) == expected


@pytest.mark.parametrize("raw", ["ops", "#", "#a b", "#a.b", "#" + "x" * 33, "#a\u200bb", "##x"])
def test_bad_room_names(raw: str) -> None:
    with pytest.raises(ValueError):
        normalize_room(raw)


def test_rooms_isolate_traffic(server: ServerThread, connect: Any) -> None:
    alice, bob, carol = connect("alice"), connect("bob"), connect("carol")
    for client in (alice, bob):
        join(client, "#ops")
    next_of(alice, Joined, lambda f: f.user == "bob" and f.room == "#ops")
    alice.say("deploying", room="#OPS")
    message = next_of(bob, Message)
    assert (message.text, message.room, message.sender) == ("deploying", "#ops", "alice")
    alice.say("lunch?")  # the lobby: everyone
    assert next_of(carol, Message).text == "lunch?"
    assert next_of(bob, Message).text == "lunch?"
    # carol, not in #ops, got nothing from it, and did not see bob and alice join it.
    frames = barrier(carol)
    assert not [f for f in frames if getattr(f, "room", None) == "#ops"]


def test_join_and_part_notices_go_to_the_room_only(server: ServerThread, connect: Any) -> None:
    alice, bob, carol = connect("alice"), connect("bob"), connect("carol")
    join(alice, "#ops")
    join(bob, "#ops")
    assert next_of(alice, Joined, lambda f: f.user == "bob").room == "#ops"
    bob.part("#ops")
    left = next_of(alice, Left, lambda f: f.user == "bob")
    assert (left.room, left.reason) == ("#ops", "part")
    assert next_of(bob, Left, lambda f: f.user == "bob").room == "#ops"  # the parter sees it too
    assert not [f for f in barrier(carol) if isinstance(f, (Joined, Left)) and f.user in ("alice", "bob")]
    # Leaving the server: a left per shared room, each to that room's members.
    alice.close()
    lefts = [next_of(bob, Left, lambda f: f.user == "alice")]
    assert lefts[0].room is None and lefts[0].reason == "disconnected"


def test_room_list_and_room_members(server: ServerThread, connect: Any) -> None:
    alice, bob = connect("alice"), connect("bob")
    join(alice, "#ops")
    join(bob, "#dev")
    join(bob, "#ops")
    bob.send(Rooms())
    assert next_of(bob, RoomList).rooms == (RoomInfo("#dev", 1), RoomInfo("#lobby", 2), RoomInfo("#ops", 2))
    bob.send(Who(room="#OPS"))
    assert next_of(bob, Users) == Users(users=("alice", "bob"), room="#ops")
    bob.send(Who())
    assert next_of(bob, Users) == Users(users=("alice", "bob"))
    bob.send(Part(room="#dev"))
    next_of(bob, Left)
    bob.send(Rooms())
    assert [info.room for info in next_of(bob, RoomList).rooms] == ["#lobby", "#ops"]  # empty rooms go


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"type": "join", "room": "ops"}, "bad_room"),
        ({"type": "say", "text": "x", "room": "#nowhere"}, "not_in_room"),
        ({"type": "me", "text": "x", "room": "#nowhere"}, "not_in_room"),
        ({"type": "part", "room": "#nowhere"}, "not_in_room"),
        ({"type": "part", "room": "#lobby"}, "last_room"),
        ({"type": "history", "room": "#nowhere"}, "not_in_room"),
        ({"type": "join"}, "bad_frame"),
    ],
)
def test_room_errors(raw: Callable[[], RawClient], frame: dict[str, Any], code: str) -> None:
    client = raw()
    client.send_json({"type": "hello", "user": "alice"})
    client.until(lambda line: '"joined"' in line)
    client.send_json(frame)
    error = client.frame()
    assert (error["type"], error["code"], error.get("re")) == ("error", code, frame["type"])
    client.send_json({"type": "say", "text": "still fine"})
    assert client.frame()["text"] == "still fine"


def test_v1_clients_stay_in_the_lobby_and_see_v1_frames(server: ServerThread, connect: Any) -> None:
    """A client that knows nothing of rooms: its frames have no "room" field and it never
    hears of other rooms."""
    old = RawClient(server.port)
    try:
        old.send_json({"type": "hello", "user": "old"})
        old.until(lambda line: '"joined"' in line)
        alice = connect("alice")
        join(alice, "#ops")
        alice.say("in ops", room="#ops")
        alice.say("in the lobby")
        next_of(alice, Message, lambda f: f.text == "in the lobby")  # handled before old speaks
        old.send_json({"type": "say", "text": "hello from v1"})
        lines = old.until(lambda line: "hello from v1" in line)
        frames = [json.loads(line) for line in lines]
        assert all("room" not in frame for frame in frames), frames
        assert [f["text"] for f in frames if f["type"] == "message"] == ["in the lobby", "hello from v1"]
        assert next_of(alice, Message, lambda f: f.sender == "old").room is None
    finally:
        old.close()


def test_text_mode_current_room_and_prefixes(server: ServerThread, connect: Any) -> None:
    alice = connect("alice")
    text = RawClient(server.port)
    try:
        text.send("tom\n")
        text.until(lambda line: line == "tom has joined the chat!")
        text.send("/join #Ops\n")
        assert text.line() == "tom has joined #ops"
        text.send("hello ops\n")  # goes to the current room, #ops
        assert text.line() == "tom: hello ops"
        alice.say("hello lobby")  # another room: prefixed
        assert text.line() == "[#lobby] alice: hello lobby"
        join(alice, "#ops")
        assert text.line() == "alice has joined #ops"
        alice.say("welcome", room="#ops")
        assert text.line() == "alice: welcome"
        text.send("/who #ops\n")
        assert text.line() == "Online in #ops (2): alice, tom"
        text.send("/rooms\n")
        assert text.line() == "Rooms: #lobby (2), #ops (2)"
        text.send("/join #lobby\n")  # already in: switch back
        assert text.line() == "tom has joined #lobby"
        alice.say("ops again", room="#ops")
        assert text.line() == "[#ops] alice: ops again"
        text.send("/part #ops\n")
        assert text.line() == "tom has left #ops"
        text.send("/part\n")  # the current room, #lobby, is the last one
        assert text.line().startswith("error: #lobby is your only room")
        text.send("/join nope\n")
        assert text.line().startswith("error: bad room name: a room name starts with '#'")
    finally:
        text.close()


def test_room_history_is_replayed_on_join_and_paged(tmp_path: Path) -> None:
    server = stored_server(tmp_path / "h.db", history=10)
    try:
        alice, _ = log_in(server.port, "alice")
        join(alice, "#ops")
        for number in range(3):
            alice.say(f"ops {number}", room="#ops")
            next_of(alice, Message)
        alice.say("lobby talk")
        next_of(alice, Message)
        bob, received = log_in(server.port, "bob")
        assert [m.text for m in received if isinstance(m, Message)] == ["lobby talk"]  # the lobby's only
        bob.send(Join(room="#ops"))
        replay = []
        while not isinstance(frame := bob.receive(timeout=WAIT), Joined):
            replay.append(frame)
        assert [(m.text, m.room, m.history) for m in replay] == [(f"ops {n}", "#ops", True) for n in range(3)]
        bob.history(limit=2, room="#ops")
        messages, end = page(bob)
        assert [m.text for m in messages] == ["ops 1", "ops 2"] and end.more
    finally:
        server.stop()


def test_rooms_survive_many_members_joining_and_leaving(make_server: Callable[..., ServerThread]) -> None:
    server = make_server()
    clients = []
    try:
        for number in range(20):
            client = Client.connect("127.0.0.1", server.port, timeout=WAIT)
            client.login(f"u{number}")
            clients.append(client)
            join(client, f"#r{number % 3}")
        for client in clients[::2]:
            client.close()
        watcher = clients[1]
        gone = {f"u{number}" for number in range(0, 20, 2)}
        while gone:  # every departure, as the lobby hears of it
            gone.discard(next_of(watcher, Left, lambda f: f.room is None).user)
        watcher.send(Rooms())
        counts = {info.room: info.users for info in next_of(watcher, RoomList).rooms}
        assert counts["#lobby"] == 10 and sum(v for k, v in counts.items() if k != "#lobby") == 10
    finally:
        for client in clients:
            client.close()


def test_piped_lines_after_a_join_go_to_that_room(server: ServerThread, connect: Any) -> None:
    """A script's lines follow its /join at once, without waiting for the server's answer."""
    alice = connect("alice")
    join(alice, "#ops")
    lines = "/join #Ops\nin ops\n/join #lobby\nin the lobby\n/join bad name\n"
    result = run_cli("connect", "--port", str(server.port), "--user", "bot", input=lines)
    assert result.returncode == 1  # the bad room name was refused
    assert_one_error_line(result.stderr, "bad room name")
    first = next_of(alice, Message, lambda f: f.sender == "bot")
    second = next_of(alice, Message, lambda f: f.sender == "bot")
    assert [(first.text, first.room), (second.text, second.room)] == [
        ("in ops", "#ops"),
        ("in the lobby", None),
    ]
    # Shown with its room's name when the client had already moved on to the lobby.
    assert [line for line in result.stdout.splitlines() if line.endswith("bot: in ops")]


def test_text_mode_room_history_reads_like_the_room(tmp_path: Path) -> None:
    server = stored_server(tmp_path / "h.db", history=10)
    text = RawClient(server.port)
    try:
        alice, _ = log_in(server.port, "alice")
        join(alice, "#ops")
        alice.say("ops talk", room="#ops")
        next_of(alice, Message)
        text.send("tom\n")
        text.until(lambda line: line == "tom has joined the chat!")
        text.send("/join #ops\n")
        assert text.until(lambda line: line == "tom has joined #ops") == [
            "[history] alice: ops talk",
            "tom has joined #ops",
        ]
        text.send("/history\n")
        assert text.until(lambda line: line.startswith("End of history")) == [
            "[history] alice: ops talk",
            "End of history (1 message).",
        ]
    finally:
        text.close()
        server.stop()

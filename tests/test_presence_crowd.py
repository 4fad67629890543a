"""Presence in a crowd, over real sockets: above the crowd size a welcome carries a count and some
names, and joins and leaves are told in one ``presence`` summary per room per interval, in JSON,
text mode and over WebSocket; small rooms are as before; kicks stay single; nothing a client
receives contradicts the summaries before it.

The servers here run with a low crowd size and an interval long enough never to pass during a
test: the test calls ``Registry.announce_presence`` itself, as the accept loop does once a
second, so what one interval holds is decided by the test, not by timing.  One test lets the
server's own loop send the summary.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from messenger.core.roles import Role

from .conftest import RawClient, ServerThread, stored_server
from .webclient import WsClient

NEVER = 3600.0  # a presence interval no test lasts


def kind(line: str) -> str:
    return json.loads(line)["type"]


class Chat:
    """Logs clients in to one server (JSON, text mode, WebSocket) and closes them all."""

    def __init__(self, server: ServerThread) -> None:
        self.server = server
        self.opened: list[RawClient | WsClient] = []

    def json(self, name: str, **extra: Any) -> tuple[RawClient, dict[str, Any]]:
        client = RawClient(self.server.port)
        self.opened.append(client)
        client.send_json({"type": "hello", "user": name, "history": 0, **extra})
        welcome = client.frame()
        assert welcome["type"] == "welcome", welcome
        own = client.frame()
        assert own["type"] == "joined" and own["user"] == name, own
        return client, welcome

    def text(self, name: str) -> tuple[RawClient, str]:
        client = RawClient(self.server.port)
        self.opened.append(client)
        client.send(name + "\n")
        welcome = client.line()
        assert client.line() == f"{name} has joined the chat!"
        return client, welcome

    def web(self, name: str) -> WsClient:
        assert self.server.server.web is not None
        client = WsClient(self.server.server.web.port)
        self.opened.append(client)
        client.login(name)
        return client

    def announce(self) -> None:
        """What the accept loop does once per interval."""
        self.server.server.registry.announce_presence()

    def close(self) -> None:
        for client in self.opened:
            client.close()


@pytest.fixture
def chat(make_server: Callable[..., ServerThread]) -> Iterator[Callable[..., Chat]]:
    chats: list[Chat] = []

    def start(**config: Any) -> Chat:
        config.setdefault("presence_interval", NEVER)
        started = make_server(**config)
        started.server.open_web(("127.0.0.1", 0))
        chats.append(Chat(started))
        return chats[-1]

    yield start
    for opened in chats:
        opened.close()


def quiet(client: RawClient, text: bool = False) -> list[str]:
    """Every line before the answer to a ping (``/ping`` in text mode): what the client
    received meanwhile."""
    if text:
        client.send("/ping q\n")
        return client.until(lambda line: line == "pong q")[:-1]
    client.send_json({"type": "ping", "token": "q"})
    return client.until(lambda line: line == '{"type":"pong","token":"q"}')[:-1]


def test_up_to_the_crowd_size_everything_is_as_before(chat: Callable[..., Chat]) -> None:
    room = chat(crowd=3)
    ann, welcome = room.json("ann")
    assert "count" not in welcome
    room.json("bob")
    _, welcome = room.json("cid")  # three: not more than the crowd size
    assert welcome["users"] == ["ann", "bob", "cid"] and "count" not in welcome
    assert [json.loads(line)["user"] for line in quiet(ann)] == ["bob", "cid"]
    room.json("dan")  # four: a crowd
    assert quiet(ann) == []
    room.announce()
    summary = ann.frame()
    assert summary["type"] == "presence" and summary["joined"] == ["dan"] and summary["count"] == 4


def test_a_welcome_in_a_crowd_has_a_count_and_some_names(chat: Callable[..., Chat]) -> None:
    room = chat(crowd=3)
    for name in ("ann", "bob", "cid", "dan"):
        room.json(name)
    _, welcome = room.json("zed")
    assert welcome["count"] == 5
    assert welcome["users"] == ["ann", "bob", "zed"]  # the first in sort order, and oneself
    _, welcome = room.json("abe")
    assert welcome["count"] == 6 and welcome["users"] == ["abe", "ann", "bob"]
    _, line = room.text("eve")
    assert line == "Welcome, eve! 7 people online: abe, ann, eve and 4 more. Type /help for commands."


def test_joins_and_leaves_come_in_one_summary_in_json_text_and_web(chat: Callable[..., Chat]) -> None:
    room = chat(crowd=3)
    ann, _ = room.json("ann")
    bob, _ = room.text("bob")
    web = room.web("cat")
    quiet(ann), quiet(bob, text=True)
    newcomers = [room.json(f"u{n}")[0] for n in range(5)]
    newcomers[4].send_json({"type": "bye"})
    assert newcomers[4].closed()
    assert quiet(ann) == [] and quiet(bob, text=True) == []
    room.announce()
    summary = ann.frame()
    assert summary == {
        "type": "presence",
        "joined": ["u0", "u1", "u2", "u3"],
        "left": ["u4"],
        "joins": 4,
        "leaves": 1,
        "count": 7,
        "ts": summary["ts"],
    }
    assert bob.line() == "4 people joined the chat: u0, u1, u2, u3; 1 left: u4 (7 online)"
    assert {key: value for key, value in web.until("presence").items() if key != "ts"} == {
        key: value for key, value in summary.items() if key != "ts"
    }
    room.announce()  # nothing new: no summary
    assert quiet(ann) == []


def test_a_summary_names_twenty_and_counts_the_rest(chat: Callable[..., Chat]) -> None:
    room = chat(crowd=2)
    ann, _ = room.json("ann")
    room.json("bob")
    quiet(ann)
    names = [f"n{n:02}" for n in range(25)]
    for name in names:
        room.json(name)
    room.announce()
    summary = ann.frame()
    assert summary["joined"] == names[:20] and summary["joins"] == 25 and summary["count"] == 27


def test_someone_who_came_and_went_within_one_interval_is_told_once(chat: Callable[..., Chat]) -> None:
    room = chat(crowd=3)
    watchers = [room.json(name)[0] for name in ("ann", "bob", "cid")]
    quiet(watchers[0])
    ghost, _ = room.json("ghost")
    ghost.send_json({"type": "bye"})
    assert ghost.closed()
    room.json("dan")
    room.announce()
    summary = watchers[0].frame()
    assert (summary["joined"], summary["left"], summary["joins"], summary["leaves"]) == (
        ["dan"],
        ["ghost"],
        1,
        1,
    )
    assert summary["count"] == 4
    # and someone who left and came back is in ``joined`` only
    quiet(watchers[0])
    watchers[2].send_json({"type": "bye"})
    assert watchers[2].closed()
    room.json("cid")
    room.announce()
    summary = watchers[0].frame()
    assert (summary["joined"], summary["left"], summary["count"]) == (["cid"], [], 4)


def test_a_message_never_comes_before_its_senders_arrival(chat: Callable[..., Chat]) -> None:
    room = chat(crowd=3)
    ann, _ = room.json("ann")
    room.json("bob"), room.json("cid")
    quiet(ann)
    for name in ("dan", "eve"):
        room.json(name)
    eve = room.opened[-1]
    assert isinstance(eve, RawClient)
    eve.send_json({"type": "say", "text": "hi"})
    summary, message = ann.frame(), ann.frame()
    assert summary["type"] == "presence" and summary["joined"] == ["eve", "dan"]  # the speaker first
    assert message["type"] == "message" and message["from"] == "eve"


def test_a_rename_comes_after_the_arrival_it_renames(chat: Callable[..., Chat]) -> None:
    room = chat(crowd=3)
    ann, _ = room.json("ann")
    room.json("bob"), room.json("cid")
    quiet(ann)
    dan, _ = room.json("dan")
    dan.send_json({"type": "nick", "user": "dora"})
    summary, renamed = ann.frame(), ann.frame()
    assert summary["type"] == "presence" and summary["joined"] == ["dan"]
    assert (renamed["type"], renamed["old"], renamed["new"]) == ("nick", "dan", "dora")


def test_rooms_are_crowded_on_their_own_and_a_part_is_told_to_the_one_leaving(
    chat: Callable[..., Chat],
) -> None:
    room = chat(crowd=2)
    clients = [room.json(name)[0] for name in ("ann", "bob", "cid")]
    ann, _, cid = clients
    quiet(ann)
    for client in clients:  # one after the other
        client.send_json({"type": "join", "room": "#r"})
        own = [json.loads(line) for line in quiet(client) if kind(line) == "joined"]
        assert own[-1]["room"] == "#r"
    joins = [json.loads(line) for line in quiet(ann) if kind(line) == "joined"]
    assert [frame["user"] for frame in joins] == ["bob"]  # cid's is in the summary
    room.announce()
    summary = ann.until(lambda line: kind(line) == "presence" and '"room"' in line)[-1]
    assert json.loads(summary) | {"ts": ""} == {
        "type": "presence",
        "joined": ["cid"],
        "left": [],
        "joins": 1,
        "leaves": 0,
        "count": 3,
        "ts": "",
        "room": "#r",
    }
    cid.send_json({"type": "part", "room": "#r"})
    left = json.loads(quiet(cid)[-1])
    assert (left["type"], left["user"], left["room"]) == ("left", "cid", "#r")
    room.announce()
    assert [json.loads(line)["left"] for line in quiet(ann) if kind(line) == "presence"] == [["cid"]]


def test_who_answers_everyone_in_a_crowd(chat: Callable[..., Chat]) -> None:
    room = chat(crowd=2)
    for name in ("ann", "bob", "cid", "dan"):
        client, _ = room.json(name)
    client.send_json({"type": "who"})
    answer = json.loads(client.until(lambda line: kind(line) == "users")[-1])
    assert answer["users"] == ["ann", "bob", "cid", "dan"]


def test_the_server_sends_the_summary_by_itself(chat: Callable[..., Chat]) -> None:
    room = chat(crowd=1, presence_interval=0.05)
    ann, _ = room.json("ann")
    room.json("bob")
    summary = json.loads(ann.until(lambda line: kind(line) == "presence")[-1])
    assert summary["joined"] == ["bob"] and summary["count"] == 2


@pytest.fixture
def moderated(tmp_path: Path) -> Iterator[ServerThread]:
    started = stored_server(tmp_path / "chat.db", crowd=2, presence_interval=NEVER)
    started.accounts.add("olive", "olive's password", Role.OP)
    yield started
    started.stop()


def test_a_kick_in_a_crowd_stays_a_single_left_after_the_summary(moderated: ServerThread) -> None:
    chat = Chat(moderated)
    try:
        olive, _ = chat.json("olive", password="olive's password")
        chat.json("ann")
        quiet(olive)
        chat.json("bob")
        olive.send_json({"type": "kick", "user": "bob", "reason": "spam"})
        summary, left = olive.frame(), olive.frame()
        assert summary["type"] == "presence" and summary["joined"] == ["bob"]
        assert (left["type"], left["user"], left["reason"], left["by"], left["message"]) == (
            "left",
            "bob",
            "kicked",
            "olive",
            "spam",
        )
        chat.announce()
        assert [kind(line) for line in quiet(olive)] == ["notice"]  # "bob was kicked"; told once
    finally:
        chat.close()


def test_the_terminal_client_keeps_its_list_and_shows_one_line(chat: Callable[..., Chat]) -> None:
    from messenger.protocol.frames import Presence
    from messenger.ui.render import Renderer

    from .test_session import WAIT, start_link

    room = chat(crowd=2)
    room.json("ann")
    room.json("bob")
    link, view = start_link(room.server.port, "cat")  # the third: a crowd
    try:
        dan, _ = room.json("dan")
        dan.send_json({"type": "bye"})
        assert dan.closed()
        room.json("eve")
        room.announce()
        summary = view.next_frame(lambda frame: isinstance(frame, Presence))
        # its welcome named two of three (bob was cut); the summary added eve and took dan
        assert sorted(link.users()) == ["ann", "cat", "eve"]
        line = Renderer().render(summary)
        assert (
            line is not None
            and line.body.plain == "2 people joined the chat: cat, eve; 1 left: dan (4 online)"
        )
        welcome = Renderer().render(link_welcome(room))
        assert welcome is not None and welcome.body.plain == "Online (5): abe, ann and 3 more"
    finally:
        link.leave()
        assert link.ended.wait(WAIT)


def link_welcome(room: Chat) -> Any:
    """The welcome of one more login, as the client library reads it."""
    from messenger.client import Client

    client = Client.connect("127.0.0.1", room.server.port, timeout=5.0)
    try:
        return client.login("abe")
    finally:
        client.close()

"""ChatLink, the session shared by every front end, against real servers on loopback."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from messenger.client import Client, Incoming
from messenger.client.backoff import BACKOFF_FIRST, BACKOFF_LONGEST, Backoff
from messenger.client.session import (
    ChatLink,
    LinkOptions,
    open_client,
)
from messenger.client.submit import Outcome, submit_line
from messenger.protocol import Joined, Message, Nick, Renamed, Say, Welcome
from messenger.server import ChatServer, ServerConfig

from .clitools import next_left
from .conftest import ServerThread

WAIT = 5.0


class RecordingView:
    """A view that queues what it is given, for the test to wait on."""

    def __init__(self) -> None:
        self.frames: queue.Queue[Incoming] = queue.Queue()
        self.notices: queue.Queue[str] = queue.Queue()
        self.status_changes = 0

    def show(self, incoming: Incoming) -> None:
        self.frames.put(incoming)

    def notice(self, message: str) -> None:
        self.notices.put(message)

    def status_changed(self) -> None:
        self.status_changes += 1

    def next_frame(self, predicate: Callable[[Any], bool]) -> Any:
        while True:
            frame = self.frames.get(timeout=WAIT).frame
            if predicate(frame):
                return frame

    def next_notice(self, text: str) -> str:
        while True:
            notice = self.notices.get(timeout=WAIT)
            if text in notice:
                return notice


def start_link(port: int, user: str, reconnect: bool = False) -> tuple[ChatLink, RecordingView]:
    view = RecordingView()
    options = LinkOptions("127.0.0.1", port, timeout=WAIT, reconnect=reconnect)
    client, welcome = open_client(options, user)
    link = ChatLink(options, view)
    link.start(client, welcome)
    return link, view


def test_backoff_doubles_from_one_second_to_thirty_and_resets() -> None:
    backoff = Backoff()
    delays = [backoff.next_delay() for _ in range(8)]
    assert delays == [1, 2, 4, 8, 16, 30, 30, 30]
    assert (BACKOFF_FIRST, BACKOFF_LONGEST) == (1.0, 30.0)
    backoff.reset()
    assert backoff.next_delay() == 1


def test_the_link_keeps_the_online_list_and_its_own_name(server: ServerThread, connect: Any) -> None:
    link, view = start_link(server.port, "carol")
    assert link.users() == ["carol"]
    bob = connect("bob")
    view.next_frame(lambda f: isinstance(f, Joined) and f.user == "bob")
    assert sorted(link.users()) == ["bob", "carol"]
    bob.nick("robert")
    view.next_frame(lambda f: isinstance(f, Renamed))
    assert sorted(link.users()) == ["carol", "robert"]
    assert link.send(Nick(user="caroline"))
    view.next_frame(lambda f: isinstance(f, Renamed) and f.new == "caroline")
    assert link.name == "caroline"
    bob.close()
    view.next_frame(lambda f: getattr(f, "user", None) == "robert" and not isinstance(f, Joined))
    assert link.users() == ["caroline"]
    link.leave()
    assert link.ended.wait(WAIT)
    assert link.lost is None and link.shutdown is None


def test_flush_returns_once_every_line_sent_was_answered(server: ServerThread) -> None:
    link, view = start_link(server.port, "carol")
    for number in range(200):
        assert submit_line(link, f"line {number}").outcome is Outcome.SENT
    assert link.flush()
    echoes = []
    while not view.frames.empty():
        frame = view.frames.get_nowait().frame
        if isinstance(frame, Message):
            echoes.append(frame.text)
    assert echoes == [f"line {number}" for number in range(200)]  # all there before flush returned
    link.leave()


def test_lines_are_read_as_the_text_protocol_reads_them(server: ServerThread) -> None:
    link, view = start_link(server.port, "carol")
    assert submit_line(link, "   ").outcome is Outcome.SKIPPED
    assert submit_line(link, "/help").outcome is Outcome.HELP
    assert submit_line(link, "/quit").outcome is Outcome.QUIT
    invalid = submit_line(link, "/bogus")
    assert invalid.outcome is Outcome.INVALID and "unknown command" in invalid.message
    assert submit_line(link, "/me waves").outcome is Outcome.SENT
    assert submit_line(link, "/me literal", literal=True).outcome is Outcome.SENT
    action = view.next_frame(lambda f: isinstance(f, Message))
    literal = view.next_frame(lambda f: isinstance(f, Message))
    assert (action.text, action.action) == ("waves", True)
    assert (literal.text, literal.action) == ("/me literal", False)
    link.leave()


def test_the_link_reconnects_under_the_same_name_when_the_server_comes_back() -> None:
    first = ServerThread(ServerConfig(max_rate=0))
    port = first.port
    link, view = start_link(port, "carol", reconnect=True)
    first.stop()
    view.next_frame(lambda f: f.__class__.__name__ == "Shutdown")
    view.next_notice("Reconnecting")
    assert not link.online
    assert submit_line(link, "anyone?").outcome is Outcome.OFFLINE

    second = ChatServer(("127.0.0.1", port), ServerConfig(max_rate=0))
    thread = threading.Thread(target=second.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        welcome = view.next_frame(lambda f: isinstance(f, Welcome))
        assert welcome.user == "carol"
        assert link.online
        with Client.connect("127.0.0.1", port, timeout=WAIT) as alice:
            alice.login("alice")
            assert link.send(Say(text="back"))
            while not (isinstance(frame := alice.receive(timeout=WAIT), Message) and frame.sender == "carol"):
                pass
            assert frame.text == "back"
        link.leave()
        assert link.ended.wait(WAIT)
    finally:
        second.stop()
        thread.join(WAIT)


def test_a_refused_login_on_reconnect_ends_the_link(server: ServerThread, connect: Any) -> None:
    watcher = connect("watcher")
    link, view = start_link(server.port, "carol", reconnect=True)
    [handler] = [h for h in server.server.connections() if h.member and h.member.name == "carol"]
    handler.abort()
    view.next_notice("Reconnecting")  # the first retry is a second away
    assert next_left(watcher).user == "carol"  # the name is free once the departure is processed
    impostor = connect("carol")
    assert link.ended.wait(WAIT + BACKOFF_FIRST)
    assert link.refused is not None and link.refused.code == "name_taken"
    assert impostor.user == "carol" and watcher.user == "watcher"


def test_the_link_follows_its_rooms_and_rejoins_them_after_a_reconnect() -> None:
    first = ServerThread(ServerConfig(max_rate=0))
    port = first.port
    link, view = start_link(port, "carol", reconnect=True)
    assert link.current_room == "#lobby"
    assert submit_line(link, "/join #ops").outcome is Outcome.SENT
    view.next_frame(lambda f: isinstance(f, Joined) and f.room == "#ops")
    assert (link.current_room, link.rooms()) == ("#ops", ["#lobby", "#ops"])
    assert submit_line(link, "/join #dev").outcome is Outcome.SENT
    view.next_frame(lambda f: isinstance(f, Joined) and f.room == "#dev")
    assert submit_line(link, "/join #ops").outcome is Outcome.SENT  # switch back
    view.next_frame(lambda f: isinstance(f, Joined) and f.room == "#ops")
    assert link.current_room == "#ops"
    first.stop()
    second = ChatServer(("127.0.0.1", port), ServerConfig(max_rate=0))
    thread = threading.Thread(target=second.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        view.next_frame(lambda f: isinstance(f, Welcome))
        view.next_frame(lambda f: isinstance(f, Joined) and f.room == "#ops")
        assert link.rooms() == ["#lobby", "#dev", "#ops"] and link.current_room == "#ops"
        with Client.connect("127.0.0.1", port, timeout=WAIT) as alice:
            alice.login("alice")
            alice.join("#ops")
            view.next_frame(lambda f: isinstance(f, Joined) and f.user == "alice" and f.room == "#ops")
            assert submit_line(link, "still in ops").outcome is Outcome.SENT
            while not (isinstance(frame := alice.receive(timeout=WAIT), Message) and frame.sender == "carol"):
                pass
            assert (frame.text, frame.room) == ("still in ops", "#ops")
        assert submit_line(link, "/part").outcome is Outcome.SENT  # a bare /part: the current room
        view.next_frame(lambda f: f.__class__.__name__ == "Left" and f.user == "carol")
        assert link.current_room == "#dev"
        link.leave()
    finally:
        second.stop()
        thread.join(WAIT)


def test_a_listener_added_after_the_end_is_called_at_once(server: ServerThread) -> None:
    link, _ = start_link(server.port, "carol")
    link.leave()
    assert link.ended.wait(WAIT)
    called = threading.Event()
    link.on_end(called.set)
    assert called.is_set()

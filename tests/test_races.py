"""Delivery races: each client's frames come in one order that agrees with the order of the
server's state changes, so an answer reflects exactly the state after everything already
delivered to that client.

Threads are made to switch every microsecond (``switchy``), which turns the rare interleavings
these tests look for into frequent ones; each test fails within a few runs on code that lets
them happen.
"""

from __future__ import annotations

import logging
import random
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from messenger.core.store import SQLiteStore, StoredMessage
from messenger.protocol import Mode
from messenger.server.delivery import ChatLog, Outbox

from .conftest import RawClient, ServerThread, stored_server

ROUNDS = 40


@pytest.fixture
def switchy() -> Iterator[None]:
    """Make the interpreter switch threads every microsecond, for this test only."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


class View:
    """A JSON client that keeps, from the frames it receives, who is online and in which of its
    rooms, and checks every answer against that."""

    def __init__(self, port: int, name: str, history: int = 0) -> None:
        self.client = RawClient(port)
        self.name = name
        self.client.send_json({"type": "hello", "user": name, "history": history})
        welcome = self.client.frame()
        assert welcome["type"] == "welcome", f"{name}: a frame before the welcome: {welcome}"
        self.online = set(welcome["users"])
        self.rooms: dict[str, set[str]] = {}
        self.live_ids: list[int] = []

    def next(self) -> dict[str, Any]:
        """The next frame, after updating the view with it."""
        frame = self.client.frame()
        kind, room = frame["type"], frame.get("room")
        if kind == "joined":
            (self.online if room is None else self.rooms.setdefault(room, set())).add(frame["user"])
        elif kind == "left":
            (self.online if room is None else self.rooms.setdefault(room, set())).discard(frame["user"])
        elif kind == "message":
            self.live_ids.append(frame["id"])
        return frame

    def until(self, kind: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Frames up to the next one of type ``kind``, and that one."""
        before = []
        while (frame := self.next())["type"] != kind:
            before.append(frame)
        return before, frame

    def ask(self, frame: dict[str, Any], kind: str) -> dict[str, Any]:
        self.client.send_json(frame)
        return self.until(kind)[1]

    def close(self) -> None:
        self.client.close()


def churn(
    port: int, prefix: str, stop: threading.Event, room: str | None = None, logins: int | None = None
) -> None:
    """Log in, maybe join ``room``, leave; again and again under new names, until ``stop`` (or
    ``logins`` times).  Without a ``prefix``, always as ``target``, each time after the last
    session is over."""
    count = 0
    while not stop.is_set() and count != logins:
        count += 1
        client = RawClient(port)
        client.send_json({"type": "hello", "user": f"{prefix}{count}" if prefix else "target", "history": 0})
        assert client.frame()["type"] == "welcome"
        if room is not None:
            client.send_json({"type": "join", "room": room})
        if count % 2 or not prefix:
            client.send_json({"type": "bye"})
        if not prefix:
            assert client.closed()  # after a bye, its end means the name is free again
        client.close()


def with_churn(
    port: int, body: Callable[[], None], room: str | None = None, prefixes: tuple[str, ...] = ("a", "b", "c")
) -> None:
    """Run ``body`` while a thread per prefix logs users in and out."""
    stop = threading.Event()
    failures: list[BaseException] = []

    def run(prefix: str) -> None:
        try:
            churn(port, prefix, stop, room)
        except BaseException as exc:  # reported by the test, not lost in a thread
            failures.append(exc)

    workers = [threading.Thread(target=run, args=(prefix,), daemon=True) for prefix in prefixes]
    for worker in workers:
        worker.start()
    try:
        body()
    finally:
        stop.set()
        for worker in workers:
            worker.join(10)
    assert not failures, failures


@pytest.fixture
def history_server(tmp_path: Path) -> Iterator[ServerThread]:
    """A server with a history store, so a login reads the store between its welcome and its
    ``joined``: the widest gap a login has."""
    server = stored_server(tmp_path / "chat.db", max_per_ip=0, conn_rate=0)
    yield server
    server.stop()


def test_a_login_is_announced_before_any_later_answer(history_server, switchy) -> None:
    """Once a newcomer has its welcome, everyone's next answer comes after its ``joined``: the
    welcome and the announcement enter the log together."""
    watcher = View(history_server.port, "watcher")
    for index in range(ROUNDS * 5):
        name = f"new{index}"
        newcomer = RawClient(history_server.port)
        newcomer.send_json({"type": "hello", "user": name, "history": 1})
        assert newcomer.frame()["type"] == "welcome"
        watcher.ask({"type": "ping", "token": name}, "pong")
        assert name in watcher.online, f"pong before {name}'s joined"
        newcomer.close()
    watcher.close()


def test_private_messages_reach_sender_and_recipient_only_while_others_log_in(
    history_server, switchy
) -> None:
    """The pattern of test_server_session's test of private messages, many times: each login's
    ``joined`` is in everyone's stream before their next answer."""
    port = history_server.port
    watcher = View(port, "watcher")
    for index in range(ROUNDS):
        alice, bob, carol = (View(port, f"{who}{index}", history=1) for who in ("alice", "bob", "carol"))
        for view in (alice, bob, carol):
            view.ask({"type": "ping", "token": "ready"}, "pong")
        alice.client.send_json({"type": "say", "text": "psst", "to": bob.name})
        echo = alice.next()
        assert echo["type"] == "message" and echo["to"] == bob.name, echo
        assert bob.next() == echo
        carol.client.send_json({"type": "ping", "token": "after"})
        assert carol.until("pong")[0] == []  # carol saw nothing
        for view in (alice, bob, carol):
            view.client.send_json({"type": "bye"})
            view.close()
        # Their departures are out before the next round (online alone is not enough: the
        # watcher may not have read their arrivals yet either).
        gone: set[str] = set()
        while gone != {alice.name, bob.name, carol.name}:
            frame = watcher.next()
            if frame["type"] == "left":
                gone.add(frame["user"])
    watcher.close()


def test_who_agrees_with_the_frames_delivered_before_it(make_server, switchy) -> None:
    server = make_server(max_per_ip=0, conn_rate=0)
    watcher = View(server.port, "watcher")

    def ask_who() -> None:
        for _ in range(ROUNDS * 3):
            answer = watcher.ask({"type": "who"}, "users")
            assert set(answer["users"]) == watcher.online

    with_churn(server.port, ask_who)
    watcher.close()


def test_room_answers_agree_with_the_frames_delivered_before_them(make_server, switchy) -> None:
    server = make_server(max_per_ip=0, conn_rate=0)
    watcher = View(server.port, "watcher")
    watcher.client.send_json({"type": "join", "room": "#r"})
    while "#r" not in watcher.rooms:
        watcher.next()
    assert watcher.rooms == {"#r": {"watcher"}}

    def ask() -> None:
        for _ in range(ROUNDS * 5):
            answer = watcher.ask({"type": "who", "room": "#r"}, "users")
            assert set(answer["users"]) == watcher.rooms["#r"]
            listed = watcher.ask({"type": "rooms"}, "rooms")["rooms"]
            assert {"room": "#r", "users": len(watcher.rooms["#r"])} in listed

    with_churn(server.port, ask, room="#r")
    watcher.close()


def test_a_refused_private_message_agrees_with_the_frames_before_it(make_server, switchy) -> None:
    """``unknown_user`` comes only when the frames delivered before it say the user is gone, and
    a private message goes out only to someone they say is online."""
    server = make_server(max_per_ip=0, conn_rate=0)
    watcher = View(server.port, "watcher")

    def send_privately() -> None:
        for index in range(ROUNDS * 20):
            watcher.client.send_json({"type": "say", "text": f"m{index}", "to": "target"})
            frame = watcher.next()
            while frame["type"] not in ("message", "error"):
                frame = watcher.next()
            if frame["type"] == "error":
                assert frame["code"] == "unknown_user"
                assert "target" not in watcher.online, "unknown_user for a user shown online"
            else:
                assert "target" in watcher.online, "a private message to a user shown gone"

    with_churn(server.port, send_privately, prefixes=("",))
    watcher.close()


def test_after_bye_the_connection_ends_only_once_the_name_is_free(make_server, switchy) -> None:
    """A client that saw its connection end after ``bye`` may log in again under the same name
    at once: the departure is announced before the connection closes."""
    server = make_server(max_per_ip=0, conn_rate=0)
    done = threading.Event()
    again = ROUNDS * 6
    with_churn(server.port, lambda: churn(server.port, "", done, logins=again), prefixes=("a", "b", "c", "d"))


def test_a_history_page_holds_every_message_delivered_before_it(tmp_path: Path, switchy) -> None:
    server: ServerThread = stored_server(tmp_path / "chat.db", max_per_ip=0, conn_rate=0)
    try:
        reader = View(server.port, "reader")
        talker = View(server.port, "talker")
        stop = threading.Event()

        def talk() -> None:  # one message at a time, reading its echo: never cut off as slow
            while not stop.is_set():
                talker.ask({"type": "say", "text": "x"}, "message")

        thread = threading.Thread(target=talk, daemon=True)
        thread.start()
        try:
            reader.until("message")
            for _ in range(ROUNDS * 3):
                reader.client.send_json({"type": "history", "limit": 5})
                before, end = reader.until("history_end")
                page = [frame["id"] for frame in before[len(before) - end["count"] :]]
                live = reader.live_ids[: len(reader.live_ids) - end["count"]]
                assert live and max(page) >= live[-1], "a page without a message delivered before it"
        finally:
            stop.set()
            thread.join(5)
        reader.close()
        talker.close()
    finally:
        server.stop()


def test_concurrent_appends_never_fail_a_flusher_round(caplog, switchy) -> None:
    """Broadcasts and entries for a few connections, appended from several threads at once
    while the Flusher works through hundreds of outboxes, all arrive, in each thread's order,
    and no Flusher round fails.  Rounds of appends go on for a second and a half (or until a
    round fails): enough for many thousands of Flusher rounds."""
    caplog.set_level(logging.ERROR, logger="messenger.server.delivery")
    chat_log = ChatLog()
    pairs = [socket.socketpair() for _ in range(BYSTANDERS + WATCHED)]
    outboxes = [Outbox(ours, Mode.JSON, 1 << 30) for ours, _ in pairs]
    for outbox in outboxes:
        chat_log.attach(outbox)  # the bystanders only lengthen each round: nothing is for them
    watched = outboxes[:WATCHED]
    for outbox in watched:
        chat_log.join(outbox)
    try:
        deadline = time.monotonic() + 1.5
        phase = 0
        while time.monotonic() < deadline and not failed_rounds(caplog):
            phase += 1
            expected = append_from_threads(chat_log, watched, phase)
            for number, (_, theirs) in enumerate(pairs[:WATCHED]):
                chat_log.append({Mode.JSON: b"end\n"}, [watched[number]])
                assert received_until_end(theirs) == expected[number]
    finally:
        chat_log.stop()
        for ours, theirs in pairs:
            ours.close()
            theirs.close()
    assert not failed_rounds(caplog)


BYSTANDERS, WATCHED, WRITERS, PER_WRITER = 300, 4, 4, 1000


def failed_rounds(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if "flusher round failed" in record.getMessage()]


def append_from_threads(chat_log: ChatLog, watched: list[Outbox], phase: int) -> list[dict[int, list[bytes]]]:
    """Append from WRITERS threads at once: each line for everyone or for some watched outboxes.
    Returns what each watched outbox must get: per writer, its lines in order."""
    expected: list[dict[int, list[bytes]]] = [{writer: [] for writer in range(WRITERS)} for _ in watched]
    plans = []
    for writer in range(WRITERS):
        rng = random.Random(phase * WRITERS + writer)
        plan = []
        for index in range(PER_WRITER):
            line = f"{writer}:{index}\n".encode()
            targets = None if rng.random() < 0.3 else rng.sample(range(len(watched)), rng.randint(1, 3))
            plan.append((line, None if targets is None else [watched[n] for n in targets]))
            for number in range(len(watched)) if targets is None else targets:
                expected[number][writer].append(line)
        plans.append(plan)

    def write(plan: list[tuple[bytes, list[Outbox] | None]]) -> None:
        for line, targets in plan:
            chat_log.append({Mode.JSON: line}, targets)

    threads = [threading.Thread(target=write, args=(plan,), daemon=True) for plan in plans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return expected


def received_until_end(sock: socket.socket) -> dict[int, list[bytes]]:
    """The lines that arrive before ``end``, per writer, in the order they arrived."""
    sock.settimeout(5)
    data = b""
    while not data.endswith(b"end\n"):
        chunk = sock.recv(65536)
        assert chunk, "connection closed before the end marker"
        data += chunk
    found: dict[int, list[bytes]] = {writer: [] for writer in range(WRITERS)}
    for line in data.splitlines(keepends=True)[:-1]:
        found[int(line.split(b":")[0])].append(line)
    return found


def test_a_stored_message_is_readable_while_the_writer_commits_it(tmp_path: Path, switchy) -> None:
    """Every message is in the history from the moment it is added, also while the writer
    thread moves it from its queue into the database."""
    store = SQLiteStore(tmp_path / "chat.db")
    try:
        deadline = time.monotonic() + 1.0
        number = 0
        ts = "2026-01-01T00:00:00.000Z"
        while time.monotonic() < deadline:
            number += 1
            store.add(StoredMessage(id=number, ts=ts, sender="a", sender_key="a", text="x"))
            assert [message.id for message in store.recent("a", 1)] == [number]
    finally:
        store.close()

"""Message history over the wire: replay on login between welcome and joined, history pages,
private history, text mode, and history and ids continuing after a restart and a kill -9.

Every test uses a real SQLite file in a temporary directory and real servers on loopback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from messenger.client import Client
from messenger.protocol import Joined, Message, Welcome

from .clitools import RUN_TIMEOUT, WAIT, ServeProcess
from .conftest import RawClient, ServerThread
from .conftest import stored_server as server_with_history
from .historytools import log_in, page, say_and_wait

# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def stored_server(tmp_path: Path) -> Iterator[Callable[..., ServerThread]]:
    started: list[ServerThread] = []

    def start(path: Path | None = None, **config: Any) -> ServerThread:
        server = server_with_history(path or tmp_path / "history.db", **config)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


# ------------------------------------------------------------------------------------------------
# Replay on login and history pages
# ------------------------------------------------------------------------------------------------


def test_login_replays_history_between_welcome_and_joined(stored_server: Callable[..., ServerThread]) -> None:
    server = stored_server(history=3)
    alice, _ = log_in(server.port, "alice")
    sent = say_and_wait(alice, "one", "two", "three", "four")
    bob, received = log_in(server.port, "bob")
    assert isinstance(received[0], Welcome)
    replayed = received[1:-1]
    assert [m.text for m in replayed] == ["two", "three", "four"]
    assert all(isinstance(m, Message) and m.history for m in replayed)
    assert [m.id for m in replayed] == [m.id for m in sent[1:]]
    assert received[-1] == Joined("bob", received[-1].ts)
    # Live traffic follows, no longer marked as history.
    alice.say("live")
    while not (isinstance(frame := bob.receive(timeout=WAIT), Message)):
        pass
    assert (frame.text, frame.history) == ("live", False)
    assert frame.id == sent[-1].id + 1


def test_a_client_can_opt_out_or_ask_for_more(stored_server: Callable[..., ServerThread]) -> None:
    server = stored_server(history=2)
    alice, _ = log_in(server.port, "alice")
    say_and_wait(alice, *[f"m{n}" for n in range(10)])
    _, none = log_in(server.port, "bot", history=0)
    assert [type(f).__name__ for f in none] == ["Welcome", "Joined"]
    _, many = log_in(server.port, "reader", history=6)
    assert [m.text for m in many[1:-1]] == ["m4", "m5", "m6", "m7", "m8", "m9"]


def test_private_history_is_replayed_to_its_two_ends_only(stored_server: Callable[..., ServerThread]) -> None:
    """Private history belongs to whoever proved who they are: bob's account gets it back on
    its next login; whoever later holds an unregistered name does not (see test_accounts)."""
    server = stored_server()
    server.accounts.add("bob", "bob's password")
    alice, _ = log_in(server.port, "alice")
    bob, _ = log_in(server.port, "bob", password="bob's password")
    say_and_wait(alice, "for bob only", to="bob")
    say_and_wait(alice, "for everyone")
    alice.close()
    bob.close()
    _, carol_sees = log_in(server.port, "carol")
    _, bob_sees = log_in(server.port, "BOB", password="bob's password")  # the same user, any case
    assert [m.text for m in carol_sees if isinstance(m, Message)] == ["for everyone"]
    assert [(m.text, m.to) for m in bob_sees if isinstance(m, Message)] == [
        ("for bob only", "bob"),
        ("for everyone", None),
    ]


def test_history_pages_go_back_with_before(stored_server: Callable[..., ServerThread]) -> None:
    server = stored_server()
    alice, _ = log_in(server.port, "alice", history=0)
    sent = say_and_wait(alice, *[f"m{n}" for n in range(12)])
    alice.history(limit=5)
    first, end = page(alice)
    assert [m.text for m in first] == ["m7", "m8", "m9", "m10", "m11"]
    assert (end.count, end.more) == (5, True)
    alice.history(limit=5, before=first[0].id)
    second, end = page(alice)
    assert [m.text for m in second] == ["m2", "m3", "m4", "m5", "m6"]
    alice.history(limit=5, before=second[0].id)
    third, end = page(alice)
    assert [m.text for m in third] == ["m0", "m1"]
    assert (end.count, end.more) == (2, False)
    assert [m.id for m in third + second + first] == [m.id for m in sent]


def test_a_history_page_never_gets_its_reader_cut_off(stored_server: Callable[..., ServerThread]) -> None:
    """200 long messages are more than --sendq: the page is cut to fit and says there is more."""
    server = stored_server(sendq=256 * 1024, max_line=16 * 1024)
    alice, _ = log_in(server.port, "alice", history=0)
    long = "x" * 8000
    for _ in range(200):
        say_and_wait(alice, long)
    alice.history(limit=200)
    messages, end = page(alice)
    assert 0 < len(messages) < 200 and end.more
    assert sum(len(m.text) for m in messages) <= 128 * 1024
    alice.ping("still here")  # and the connection is still up
    while alice.receive(timeout=WAIT).TYPE != "pong":
        pass


def test_text_mode_shows_history_and_pages_it(stored_server: Callable[..., ServerThread]) -> None:
    server = stored_server(history=2)
    alice, _ = log_in(server.port, "alice")
    say_and_wait(alice, "one", "two", "three")
    say_and_wait(alice, "psst", to="alice")
    raw = RawClient(server.port)
    try:
        raw.send("carol\n")
        lines = raw.until(lambda line: line == "carol has joined the chat!")
        assert lines[0].startswith("Welcome, carol!")
        assert lines[1:] == ["[history] alice: two", "[history] alice: three", "carol has joined the chat!"]
        raw.send("/history 10\n")
        lines = raw.until(lambda line: line.startswith("End of history"))
        assert lines == [
            "[history] alice: one",
            "[history] alice: two",
            "[history] alice: three",
            "End of history (3 messages).",
        ]
        raw.send("/history x\n")
        assert raw.line() == "error: usage: /history [N]"
    finally:
        raw.close()


# ------------------------------------------------------------------------------------------------
# Restarts
# ------------------------------------------------------------------------------------------------


def test_history_and_ids_continue_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    first = server_with_history(path)
    try:
        alice, _ = log_in(first.port, "alice")
        sent = say_and_wait(alice, "before the restart", "and this too")
        alice.close()
    finally:
        first.stop()
    second = server_with_history(path)
    try:
        bob, received = log_in(second.port, "bob")
        assert [m.text for m in received if isinstance(m, Message)] == ["before the restart", "and this too"]
        [new] = say_and_wait(bob, "after")
        assert new.id == sent[-1].id + 1
    finally:
        second.stop()


def test_kill_9_keeps_every_message_echoed_a_second_before(
    serve: Callable[..., ServeProcess], tmp_path: Path
) -> None:
    db = str(tmp_path / "history.db")
    first = serve("--port", "0", "--db", db, "--max-rate", "0")
    with Client.connect("127.0.0.1", first.port, timeout=WAIT) as alice:
        alice.login("alice", history=0)
        sent = say_and_wait(alice, *[f"durable {n}" for n in range(300)])
        # The promise covers echoes received at least 1 s before the kill: wait that second,
        # on an event that cannot come (nothing else is sent to alice).
        with pytest.raises(TimeoutError):
            alice.receive(timeout=1.0)
        first.proc.kill()
        first.proc.wait(WAIT)
    second = serve("--port", "0", "--db", db, "--history", "500")
    with Client.connect("127.0.0.1", second.port, timeout=RUN_TIMEOUT) as bob:
        bob.login("bob")
        replayed = []
        while not isinstance(frame := bob.receive(timeout=WAIT), Joined):
            replayed.append(frame)
        assert [m.text for m in replayed] == [m.text for m in sent]
        assert [m.id for m in replayed] == [m.id for m in sent]
        bob.say("after the crash")
        while not isinstance(frame := bob.receive(timeout=WAIT), Message):
            pass
        assert frame.id == sent[-1].id + 1

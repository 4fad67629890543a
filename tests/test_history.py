"""Message history: the SQLite store, replay on login, history pages, restarts and kill -9.

Every test uses a real SQLite file in a temporary directory and real servers on loopback.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from messenger.client import Client
from messenger.core import store as store_module
from messenger.core.store import Retention, SQLiteStore, StoredMessage, StoreError
from messenger.protocol import HistoryEnd, Joined, Message, Welcome

from .clitools import RUN_TIMEOUT, WAIT, ServeProcess, assert_one_error_line, run_cli
from .conftest import RawClient, ServerThread
from .conftest import stored_server as server_with_history

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


def log_in(port: int, user: str, **login: Any) -> tuple[Client, list[Any]]:
    """A client logged in as ``user`` and everything it received up to its own ``joined``."""
    client = Client.connect("127.0.0.1", port, timeout=WAIT)
    received: list[Any] = [client.login(user, **login)]
    while not (isinstance(received[-1], Joined) and received[-1].user == client.user):
        received.append(client.receive(timeout=WAIT))
    return client, received


def say_and_wait(client: Client, *texts: str, to: str | None = None) -> list[Message]:
    """Send each text and wait for its echo."""
    echoes = []
    for text in texts:
        client.say(text, to=to)
        while not (
            isinstance(frame := client.receive(timeout=WAIT), Message) and frame.sender == client.user
        ):
            pass
        echoes.append(frame)
    return echoes


def page(client: Client) -> tuple[list[Message], HistoryEnd]:
    """The messages of one history answer and its end frame."""
    messages = []
    while not isinstance(frame := client.receive(timeout=WAIT), HistoryEnd):
        if isinstance(frame, Message) and frame.history:
            messages.append(frame)
    return messages, frame


def stored(number: int, sender: str = "alice", **fields: Any) -> StoredMessage:
    return StoredMessage(
        id=number, ts=f"2026-11-24T21:50:{number % 60:02d}.000Z", sender=sender, sender_key=sender,
        text=f"message {number}", **fields,
    )  # fmt: skip


# ------------------------------------------------------------------------------------------------
# The store
# ------------------------------------------------------------------------------------------------


def test_a_message_is_in_the_history_as_soon_as_it_is_added(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "h.db")
    try:
        for number in range(1, 101):
            store.add(stored(number))
            # Read at once, before the writer can have committed it: served from the queue.
            assert store.recent("bob", 1)[-1].id == number
        assert [m.id for m in store.recent("bob", 5)] == [96, 97, 98, 99, 100]
        assert [m.id for m in store.recent("bob", 3, before=50)] == [47, 48, 49]
    finally:
        store.close()


def test_ids_and_messages_survive_reopening(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "h.db")
    for number in range(1, 11):
        store.add(stored(number))
    store.close()
    again = SQLiteStore(tmp_path / "h.db")
    try:
        assert again.last_id() == 10
        assert [m.text for m in again.recent("x", 2)] == ["message 9", "message 10"]
    finally:
        again.close()


def test_private_messages_are_visible_to_sender_and_recipient_only(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "h.db")
    try:
        store.add(stored(1))
        store.add(stored(2, recipient="bob", recipient_key="bob"))
        store.add(stored(3))
        store.flush()
        store.add(stored(4, sender="bob", recipient="carol", recipient_key="carol"))  # still queued
        assert [m.id for m in store.recent("alice", 10)] == [1, 2, 3]
        assert [m.id for m in store.recent("bob", 10)] == [1, 2, 3, 4]
        assert [m.id for m in store.recent("carol", 10)] == [1, 3, 4]
        assert [m.id for m in store.recent("dave", 10)] == [1, 3]
    finally:
        store.close()


def test_retention_by_count_and_by_age_keeps_ids_increasing(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    store = SQLiteStore(path)
    for number in range(1, 21):
        store.add(stored(number))
    store.close()
    with sqlite3.connect(path) as db:  # two messages from long ago
        db.execute("UPDATE messages SET ts = '2020-01-01T00:00:00.000Z' WHERE id IN (19, 20)")
    by_count = SQLiteStore(path, Retention(messages=5))
    by_count.close()
    by_age = SQLiteStore(path, Retention(days=30))
    try:
        assert [m.id for m in by_age.recent("x", 100)] == [16, 17, 18]
        assert by_age.last_id() == 20  # the deleted newest ids are not handed out again
    finally:
        by_age.close()


def test_a_damaged_database_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    garbage = b"this is not a database, and it must survive being opened\n" * 100
    path.write_bytes(garbage)
    with pytest.raises(StoreError, match="damaged"):
        SQLiteStore(path)
    assert path.read_bytes() == garbage


def test_one_server_per_database(tmp_path: Path) -> None:
    first = SQLiteStore(tmp_path / "h.db")
    try:
        with pytest.raises(StoreError, match="in use by another messenger server"):
            SQLiteStore(tmp_path / "h.db")
    finally:
        first.close()
    SQLiteStore(tmp_path / "h.db").close()  # free again once the first is closed


def test_a_database_locked_by_another_program_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    SQLiteStore(path).close()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # e.g. someone's sqlite3 shell in the middle of a change
    try:
        with pytest.raises(StoreError, match="locked"):
            SQLiteStore(path)
    finally:
        other.execute("ROLLBACK")
        other.close()


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


# ------------------------------------------------------------------------------------------------
# messenger serve and connect
# ------------------------------------------------------------------------------------------------


def test_serve_refuses_a_damaged_database_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    path.write_bytes(b"\x00garbage" * 1000)
    result = run_cli("serve", "--port", "0", "--db", str(path), input=None)
    assert result.returncode == 1
    assert_one_error_line(result.stderr, "damaged", str(path))
    assert path.read_bytes() == b"\x00garbage" * 1000


def test_serve_refuses_a_database_another_server_uses(
    serve: Callable[..., ServeProcess], tmp_path: Path
) -> None:
    db = str(tmp_path / "history.db")
    serve("--port", "0", "--db", db)
    result = run_cli("serve", "--port", "0", "--db", db, input=None)
    assert result.returncode == 1
    assert_one_error_line(result.stderr, "in use by another messenger server")


def test_serve_keeps_history_in_the_data_directory_by_default(tmp_path: Path) -> None:
    server = ServeProcess("--port", "0", env={"XDG_DATA_HOME": str(tmp_path)}, memory_db=False)
    try:
        with Client.connect("127.0.0.1", server.port, timeout=WAIT) as alice:
            alice.login("alice")
            say_and_wait(alice, "kept")
    finally:
        server.stop()
    assert (tmp_path / "messenger" / "history.db").exists()


def test_connect_shows_history_and_can_opt_out(serve: Callable[..., ServeProcess], tmp_path: Path) -> None:
    server = serve("--port", "0", "--db", str(tmp_path / "h.db"))
    with Client.connect("127.0.0.1", server.port, timeout=WAIT) as alice:
        alice.login("alice")
        say_and_wait(alice, "earlier")
    port = str(server.port)
    listen = run_cli("connect", "--port", port, "--user", "bot", "--history", "5", input="/quit\n")
    assert "[history] alice: earlier" in listen.stdout.splitlines()
    quiet = run_cli("connect", "--port", port, "--user", "bot", input="/quit\n")
    assert "earlier" not in quiet.stdout  # piped: no replay unless asked for
    opted_out = run_cli(
        "connect", "--port", port, "--user", "bot", "--no-history", "--history", "5", input=""
    )
    assert "earlier" not in opted_out.stdout


def test_serve_applies_retention_at_start(serve: Callable[..., ServeProcess], tmp_path: Path) -> None:
    db = str(tmp_path / "history.db")
    first = serve("--port", "0", "--db", db)
    with Client.connect("127.0.0.1", first.port, timeout=WAIT) as alice:
        alice.login("alice", history=0)
        sent = say_and_wait(alice, *[f"m{n}" for n in range(5)])
    first.proc.terminate()
    first.proc.wait(WAIT)
    second = serve("--port", "0", "--db", db, "--retain-messages", "2")
    _, received = log_in(second.port, "bob")
    assert [m.text for m in received if isinstance(m, Message)] == ["m3", "m4"]
    with Client.connect("127.0.0.1", second.port, timeout=WAIT) as carol:
        carol.login("carol", history=0)
        [new] = say_and_wait(carol, "after")
        assert new.id == sent[-1].id + 1


# ------------------------------------------------------------------------------------------------
# A database that cannot be written
# ------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def immutable(path: Path) -> Iterator[None]:
    """``chattr +i``: unwritable even for root (permission bits are not, and tests may run as
    root), until the block ends."""
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed: no way to make a file unwritable for root")
    made = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"this file system does not take chattr +i: {made.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_serve_refuses_a_database_it_cannot_write(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    SQLiteStore(path).close()  # an existing history, schema and all
    with immutable(path):
        result = run_cli("serve", "--port", "0", "--db", str(path), input=None)
    assert result.returncode == 1, result.stderr
    assert_one_error_line(result.stderr, "cannot be written", str(path))


def test_a_write_failure_is_said_once_and_the_messages_wait_in_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "RETRY_INTERVAL", 0.01)
    caplog.set_level(logging.INFO, logger="messenger.core.store")
    path = tmp_path / "h.db"
    store = SQLiteStore(path)
    try:
        store.add(stored(1))
        store.flush()
        with immutable(Path(f"{path}-wal")):  # where WAL mode writes: the disk "fills up" now
            store.add(stored(2))
            store.add(stored(3))
            deadline = time.monotonic() + WAIT
            while store._failed_tries < 5:  # several tries fail meanwhile
                assert time.monotonic() < deadline, "the writer did not retry"
                time.sleep(0.01)
            assert [m.id for m in store.recent("bob", 10)] == [1, 2, 3]  # served from memory
        store.flush()  # written once the file can be written again
    finally:
        store.close()
    records = [r for r in caplog.records if r.name == "messenger.core.store"]
    assert not any(r.exc_info for r in records), "a traceback was logged"
    assert [r.levelname for r in records] == ["ERROR", "INFO"], [r.getMessage() for r in records]
    assert "cannot write" in records[0].getMessage() and "can be written again" in records[1].getMessage()
    reopened = SQLiteStore(path)
    try:
        assert [m.id for m in reopened.recent("bob", 10)] == [1, 2, 3]
    finally:
        reopened.close()


def test_users_add_to_a_database_that_cannot_be_written_says_so(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    assert run_cli("users", "add", "ann", "--db", str(path), input="pw\n").returncode == 0
    with immutable(path):
        result = run_cli("users", "add", "bob", "--db", str(path), input="pw\n")
    assert result.returncode == 1, result.stderr
    assert_one_error_line(result.stderr, "cannot change the accounts", str(path))

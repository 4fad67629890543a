"""Message history: the SQLite store itself (reads served at once, private messages, retention,
reopening), and databases it must refuse or survive: damaged, in use, locked, unwritable.

Every test uses a real SQLite file in a temporary directory.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from messenger.core import store as store_module
from messenger.core.store import Retention, SQLiteStore, StoreError

from .clitools import WAIT, assert_one_error_line, run_cli
from .historytools import stored

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

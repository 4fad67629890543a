"""Message history: a small store interface and its SQLite implementation.

The registry hands every chat message to ``MessageStore.add`` while it holds its lock, so the
call must never wait for a disk: ``SQLiteStore`` queues the message and a writer thread commits
what is queued every ``COMMIT_INTERVAL`` (at once when a batch is full), one transaction a
batch.  Readers (history replayed on login, ``history`` requests) see the database plus whatever
is still queued, so a message is in the history from the moment it is broadcast.

Durability: the database runs in WAL mode with ``synchronous=NORMAL``; a committed message
survives the server process being killed (``kill -9``), and the writer commits within
``COMMIT_INTERVAL`` of the broadcast.  An operating-system crash or power cut may lose the last
commits before the WAL is checkpointed.  See docs/operations.md.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import itertools
import logging
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO

from ..protocol.frames import LOBBY
from .history import MessageStore, StoredMessage
from .rekey import rekey_database

log = logging.getLogger(__name__)

MEMORY = ":memory:"
# The writer wakes at least this often while messages wait: the promise to senders is that a
# message echoed 1 s before a kill -9 is on disk, and this leaves most of that second spare.
COMMIT_INTERVAL = 0.05
# A batch is written in one transaction; bounded so one commit never holds the database long.
BATCH_MAX = 2000
# Rows per INSERT statement: one statement of many rows costs about 7 µs a row against 11.5 for
# a statement per row (executemany); 9 values a row stays within the oldest SQLite's limit of 999
# values per statement.
ROWS_PER_INSERT = 100
# Retention is applied at start and then this often.
RETENTION_EVERY = 3600.0
# While the database cannot be written: how often to try again, and how many messages to keep
# meanwhile (each at most --max-line, 16 KiB by default: 160 MiB at worst with the default).
RETRY_INTERVAL = 1.0
PENDING_MAX = 10_000
# Waiting for another process's lock at start before calling the file locked.
LOCK_TIMEOUT = 2.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: ids are never reused, even after deletes
    ts TEXT NOT NULL,
    room TEXT NOT NULL,
    sender TEXT NOT NULL,
    sender_key TEXT NOT NULL,
    recipient TEXT,
    recipient_key TEXT,
    text TEXT NOT NULL,
    action INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS messages_room_id ON messages (room, id);
"""


class StoreError(Exception):
    """The history database cannot be used; ``str()`` says why and what to do."""


@dataclass(frozen=True)
class WriterFigures:
    """The writer's state for the server's metrics: messages waiting to be committed, the age
    of the oldest of them (0 when none wait; an upper bound when more than a batch waited),
    messages committed, given up while the file could not be written, and failed writes."""

    queued: int
    lag: float
    written: int
    dropped: int
    failures: int


@dataclass(frozen=True)
class Retention:
    """How much history to keep: at most ``days`` old and/or the newest ``messages``."""

    days: float | None = None
    messages: int | None = None


def default_db_path() -> Path:
    """``$XDG_DATA_HOME/messenger/history.db``, by default ``~/.local/share/messenger/history.db``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "messenger" / "history.db"


class SQLiteStore:
    """History in one SQLite file (or ``:memory:``), written by a background thread."""

    def __init__(self, path: str | Path, retention: Retention | None = None) -> None:
        self.path = str(path)
        self.retention = retention or Retention()
        self._lock_file: IO[bytes] | None = None
        self._db_lock = threading.Lock()  # the connection: writer commits, reader queries
        # ``add`` (per message, under the registry's lock) takes the Condition's lock itself: a
        # ``with`` on the Condition is a Python call more each way.
        self._queue_lock = threading.Lock()
        self._pending_lock = threading.Condition(self._queue_lock)
        self._pending: list[StoredMessage] = []
        self._written = 0  # how many added messages are committed (for flush)
        self._added = 0
        self._closing = False
        self._failing: str | None = None  # why writing fails, while it does (said once)
        self._dropped = 0  # unsaved messages given up while writing failed
        self._failed_tries = 0
        self._oldest_at = 0.0  # when the oldest queued message was added (under the queue lock)
        self._db = self._open()
        self._last_id = self._read_last_id()
        self._next_retention = 0.0
        self._apply_retention()
        self._writer = threading.Thread(target=self._write_loop, name="history-writer", daemon=True)
        self._writer.start()

    # -- opening --------------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        if self.path != MEMORY:
            self._lock_exclusively()
        try:
            db = sqlite3.connect(
                self.path, timeout=LOCK_TIMEOUT, check_same_thread=False, isolation_level=None
            )
        except sqlite3.Error as exc:
            self._release_lock_file()
            raise StoreError(f"cannot open the history database {self.path}: {exc}") from None
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(SCHEMA)
            rekey_database(db)
            db.execute("BEGIN IMMEDIATE")  # fails now, not later, if someone else holds a write lock
            # SQLite opens a file it cannot write (read-only, immutable) read-only without a word;
            # a real write, rolled back, finds out now rather than at the first message.
            db.execute(
                "INSERT INTO messages (id, ts, room, sender, sender_key, text) VALUES (0, '', '', '', '', '')"
            )
            db.execute("ROLLBACK")
        except sqlite3.DatabaseError as exc:
            db.close()
            self._release_lock_file()
            raise StoreError(self._explain(exc)) from None
        return db

    def _explain(self, exc: sqlite3.DatabaseError) -> str:
        message = str(exc)
        if "locked" in message or "busy" in message:
            return f"the history database {self.path} is locked by another program; close it and try again"
        if "readonly" in message or "read-only" in message:
            return (
                f"the history database {self.path} cannot be written ({message}); make it and its "
                "directory writable (check chattr -i too), or give another file with --db"
            )
        if "not a database" in message or "malformed" in message or "corrupt" in message:
            return (
                f"the history database {self.path} is damaged ({message}); it was left as it is: "
                "move it away to start a new history, or repair it with the sqlite3 '.recover' command"
            )
        return f"cannot use the history database {self.path}: {message}"

    def _lock_exclusively(self) -> None:
        """One server per database: two would hand out the same message ids."""
        directory = Path(self.path).parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._lock_file = open(self.path + ".lock", "ab")  # noqa: SIM115 - held while open
        except OSError as exc:
            raise StoreError(f"cannot open the history database {self.path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._release_lock_file()
            raise StoreError(
                f"the history database {self.path} is in use by another messenger server; "
                "stop it, or give this one another file with --db"
            ) from None

    def _release_lock_file(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def _read_last_id(self) -> int:
        with self._db_lock:
            row = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'messages'").fetchone()
            highest = self._db.execute("SELECT MAX(id) FROM messages").fetchone()
        return max(row[0] if row else 0, highest[0] or 0)

    # -- the interface --------------------------------------------------------------------------

    def last_id(self) -> int:
        return self._last_id

    def add(self, message: StoredMessage) -> None:
        with self._queue_lock:
            if not self._pending:
                self._oldest_at = time.monotonic()
            self._pending.append(message)
            self._added += 1
            self._last_id = max(self._last_id, message.id)
            # The writer wakes by itself every COMMIT_INTERVAL; waking it for every message
            # would make every message a transaction of its own at everyday rates (a thread
            # wake-up and a commit each).  A full batch is written at once.
            if len(self._pending) >= BATCH_MAX:
                self._pending_lock.notify()

    def recent(
        self, viewer_key: str, limit: int, before: int | None = None, room: str = LOBBY
    ) -> list[StoredMessage]:
        if limit <= 0:
            return []
        ceiling = before if before is not None else self._last_id + 1
        # The queue first, then the database: the writer commits a batch before it leaves the
        # queue, so each message is in one or the other (or both).  Read the other way round,
        # a batch committed after the query and dropped before the queue is read is in neither.
        with self._pending_lock:
            queued = [
                m for m in self._pending if m.room == room and m.id < ceiling and m.visible_to(viewer_key)
            ]
        with self._db_lock:
            rows = self._db.execute(
                "SELECT id, ts, sender, sender_key, text, room, recipient, recipient_key, action "
                "FROM messages WHERE room = ? AND id < ? "
                "AND (recipient_key IS NULL OR sender_key = ? OR recipient_key = ?) "
                "ORDER BY id DESC LIMIT ?",
                (room, ceiling, viewer_key, viewer_key, limit),
            ).fetchall()
        found = {row[0]: StoredMessage(*row[:8], action=bool(row[8])) for row in rows}
        for message in queued:
            found[message.id] = message
        return [found[key] for key in sorted(found)[-limit:]]

    def figures(self) -> WriterFigures:
        with self._pending_lock:
            queued, oldest = len(self._pending), self._oldest_at
            written, dropped = self._written - self._dropped, self._dropped
        lag = time.monotonic() - oldest if queued else 0.0
        return WriterFigures(queued, lag, written, dropped, self._failed_tries)

    def flush(self) -> None:
        with self._pending_lock:
            target = self._added
            while self._written < target and self._writer.is_alive():
                self._pending_lock.wait(0.1)

    def close(self) -> None:
        with self._pending_lock:
            self._closing = True
            self._pending_lock.notify()
        self._writer.join(10)
        if self._pending:
            log.error(
                "%d message(s) could not be saved to the history database %s", len(self._pending), self.path
            )
        with self._db_lock, contextlib.suppress(sqlite3.Error):
            self._db.close()
        self._release_lock_file()

    # -- the writer -----------------------------------------------------------------------------

    def _write_loop(self) -> None:
        while True:
            with self._pending_lock:
                while not self._pending and not self._closing:
                    self._pending_lock.wait(COMMIT_INTERVAL)
                    if time.monotonic() >= self._next_retention:
                        break
                batch = self._pending[:BATCH_MAX]
                closing = self._closing and len(batch) == len(self._pending)
                # What is queued after this batch is written was added after now, unless the
                # batch is not the whole queue (then the oldest's time stays, an upper bound).
                after = time.monotonic() if len(batch) == len(self._pending) else self._oldest_at
            if batch:
                self._write(batch, after)
            if time.monotonic() >= self._next_retention:
                self._apply_retention()
            if closing:
                return

    def _write(self, batch: list[StoredMessage], after: float) -> None:
        try:
            with self._db_lock:
                self._db.execute("BEGIN")
                for start in range(0, len(batch), ROWS_PER_INSERT):
                    rows = batch[start : start + ROWS_PER_INSERT]
                    self._db.execute(_insert(len(rows)), list(itertools.chain.from_iterable(rows)))
                self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            with self._db_lock, contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            self._write_failed(exc)
            return
        if self._failing is not None:
            log.info(
                "the history database %s can be written again: the %d message(s) kept in memory are saved",
                self.path,
                len(self._pending),
            )
            self._failing = None
        with self._pending_lock:
            del self._pending[: len(batch)]
            self._oldest_at = after
            self._written += len(batch)
            self._pending_lock.notify_all()

    def _write_failed(self, exc: sqlite3.Error) -> None:
        """Keep the batch queued (it is still served from memory) and try again shortly; say so
        once when it starts, not once a try.  Past PENDING_MAX the oldest unsaved messages are
        given up (they were delivered; only their history is lost), so memory stays bounded."""
        self._failed_tries += 1
        if self._failing is None:
            self._failing = str(exc)
            log.error(
                "cannot write to the history database %s (%s); new messages are kept in memory "
                "(up to %d) and saved once it can be written again",
                self.path,
                exc,
                PENDING_MAX,
            )
        with self._pending_lock:
            excess = len(self._pending) - PENDING_MAX
            if excess > 0:
                del self._pending[:excess]
                self._written += excess
                self._dropped += excess
                self._pending_lock.notify_all()
                if self._dropped == excess:
                    log.error("history kept in memory is full: the oldest unsaved messages are dropped")
            retry = time.monotonic() + RETRY_INTERVAL
            while not self._closing and (left := retry - time.monotonic()) > 0:
                self._pending_lock.wait(left)

    def _apply_retention(self) -> None:
        self._next_retention = time.monotonic() + RETENTION_EVERY
        days, keep = self.retention.days, self.retention.messages
        if days is None and keep is None:
            return
        try:
            with self._db_lock:
                deleted = 0
                if days is not None:
                    cutoff = datetime.now(timezone.utc) - timedelta(days=days)
                    stamp = cutoff.strftime("%Y-%m-%dT%H:%M:%S.") + f"{cutoff.microsecond // 1000:03d}Z"
                    deleted += self._db.execute("DELETE FROM messages WHERE ts < ?", (stamp,)).rowcount
                if keep is not None:
                    deleted += self._db.execute(
                        "DELETE FROM messages WHERE id NOT IN "
                        "(SELECT id FROM messages ORDER BY id DESC LIMIT ?)",
                        (keep,),
                    ).rowcount
        except sqlite3.Error:
            log.exception("could not apply the history retention")
            return
        if deleted:
            log.info("history retention: %d old message(s) deleted", deleted)


@functools.lru_cache(maxsize=ROWS_PER_INSERT)
def _insert(rows: int) -> str:
    """The statement that adds ``rows`` messages, StoredMessage's fields in order.  OR IGNORE:
    an id is one message; a cluster node given it twice keeps the first."""
    one = "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
    return (
        "INSERT OR IGNORE INTO messages (id, ts, sender, sender_key, text, room, recipient, "
        "recipient_key, action) VALUES " + ", ".join([one] * rows)
    )


__all__ = [
    "MEMORY",
    "MessageStore",
    "Retention",
    "SQLiteStore",
    "StoreError",
    "StoredMessage",
    "WriterFigures",
    "default_db_path",
]

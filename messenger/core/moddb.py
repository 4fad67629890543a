"""The moderation tables (bans, mutes, ignores, the audit trail) in the server's SQLite file.

The server keeps bans, mutes and ignores in memory for its checks and writes each change here
first, so a change the database refuses is refused to the moderator too, and a restart loads
exactly what was saved.  ``messenger users`` opens the same file (WAL lets both use it).
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from .dbfile import connect_shared
from .rekey import rekey_database

SCHEMA = """
CREATE TABLE IF NOT EXISTS bans (
    kind TEXT NOT NULL,        -- name, address or network
    target TEXT NOT NULL,      -- a name's name_key, an address or a network, in canonical form
    shown TEXT NOT NULL,       -- the name as the moderator gave it (for listings and re-keying)
    actor TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,     -- seconds since the epoch
    expires REAL,              -- NULL: until lifted
    PRIMARY KEY (kind, target)
);
CREATE TABLE IF NOT EXISTS mutes (
    key TEXT PRIMARY KEY,      -- the name's name_key
    name TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    expires REAL
);
CREATE TABLE IF NOT EXISTS ignores (
    owner TEXT NOT NULL,       -- the ignoring account's key
    target TEXT NOT NULL,      -- the ignored name's name_key
    name TEXT NOT NULL,
    PRIMARY KEY (owner, target)
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    duration INTEGER           -- seconds; NULL: none given (until lifted)
);
"""


class ModerationError(Exception):
    """A moderation change the database refused; ``str()`` says why."""


class ModerationDb:
    """One connection to the database file (``:memory:`` keeps nothing), used under a lock by
    the lists of moderation.py."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._db = connect_shared(self.path)
        self._lock = threading.Lock()
        with self._lock:
            self._db.executescript(SCHEMA)
            rekey_database(self._db)

    def read(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def write(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        """Run one change; returns the rows it touched.  ModerationError if it fails."""
        try:
            with self._lock:
                return self._db.execute(sql, params).rowcount
        except sqlite3.Error as exc:
            raise ModerationError(f"the change could not be saved: {exc}") from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

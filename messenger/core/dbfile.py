"""Opening the server's SQLite file for one of its tables' owners (accounts, moderation): the
same connection settings everywhere, so the server and ``messenger users`` can share the file."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def connect_shared(path: str | Path) -> sqlite3.Connection:
    """A connection to ``path`` (created with its folder; ``:memory:`` keeps nothing) in
    autocommit mode, usable from any thread under the caller's lock, with WAL so that readers and
    one writer in other processes do not block each other; waits up to 5 s for a lock."""
    name = str(path)
    if name != ":memory:":
        Path(name).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(name, timeout=5.0, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    return db

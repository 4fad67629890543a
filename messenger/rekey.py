"""Stored name keys follow the comparison rule of the running version.

The accounts table and the history keep each name's comparison key (``name_key``) next to the
name, so that lookups are one indexed comparison.  When the rule changes (a newer Unicode
confusables table, a new rule), keys made by the old rule would find the wrong account or hide
a user's own private messages from them, so a database is brought up to date when it is opened:
every key is computed again from the name stored beside it.  Done once per rule, in one
transaction; the ``name_keys`` table remembers which rule each table's keys follow.
"""

from __future__ import annotations

import logging
import sqlite3

from .protocol import NAME_KEY_RULE, name_key

log = logging.getLogger(__name__)

_SCHEMA = "CREATE TABLE IF NOT EXISTS name_keys (tbl TEXT PRIMARY KEY, rule TEXT NOT NULL)"


def _up_to_date(db: sqlite3.Connection, table: str) -> bool:
    db.execute(_SCHEMA)
    row = db.execute("SELECT rule FROM name_keys WHERE tbl = ?", (table,)).fetchone()
    return row is not None and row[0] == NAME_KEY_RULE


def _mark(db: sqlite3.Connection, table: str) -> None:
    db.execute("INSERT OR REPLACE INTO name_keys (tbl, rule) VALUES (?, ?)", (table, NAME_KEY_RULE))


def rekey_messages(db: sqlite3.Connection) -> None:
    """Recompute the history's sender and recipient keys (``db`` in autocommit mode)."""
    if _up_to_date(db, "messages"):
        return
    db.create_function("name_key", 1, name_key, deterministic=True)
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute(
            "UPDATE messages SET sender_key = name_key(sender), "
            "recipient_key = CASE WHEN recipient IS NULL THEN NULL ELSE name_key(recipient) END"
        )
        _mark(db, "messages")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def rekey_accounts(db: sqlite3.Connection) -> None:
    """Recompute the accounts' keys (``db`` in autocommit mode).  Two accounts whose names are
    now one name: the one registered first keeps it; the other can no longer log in, is kept
    for its owner or the operator to see (``messenger users``), and is logged once."""
    if _up_to_date(db, "accounts"):
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        rows = db.execute("SELECT rowid, name, key FROM accounts ORDER BY created, rowid").fetchall()
        taken: dict[str, str] = {}
        updates = []
        for rowid, name, old in rows:
            key = name_key(name)
            if key in taken:
                log.warning(
                    "the accounts %s and %s are now one name; %s (registered first) keeps it, "
                    "%s cannot log in until it is removed with 'messenger users remove %s'",
                    taken[key], name, taken[key], name, name,
                )  # fmt: skip
                key = f"{key}\x00{rowid}"  # no name has this key
            taken[key] = name
            if key != old:
                updates.append((f"\x01{rowid}", rowid))  # first out of the way of the new keys
                updates.append((key, f"\x01{rowid}"))
        db.executemany("UPDATE accounts SET key = ? WHERE rowid = ?", updates[0::2])
        db.executemany("UPDATE accounts SET key = ? WHERE key = ?", updates[1::2])
        _mark(db, "accounts")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise

"""Stored name keys follow the comparison rule of the running version.

The accounts table keeps each account's comparison key (``name_key``) next to its name, and the
history keeps, for each private message, the keys of whose it is: an account's key, or a key of
one connection alone (``" session …"``).  When the rule changes (a newer Unicode confusables
table, a new rule), keys made by the old one would find the wrong account, or give one account
the private messages of another, so a database is brought up to date when it is opened, by
whichever of the accounts or the history opens it first, both tables in one transaction:

- each account's key is computed again from its name;
- each history key that was an account's becomes that account's new key; keys of one connection
  stay as they are; any other key (a name's key from before private history belonged to
  accounts, or of an account since removed) is made one that no login ever gets, since under the
  new rule it could be the key of another account.

- the moderation tables' keys of names (banned, muted, ignored) are computed again from the
  names they keep; an ignore list follows its account's new key.

The ``name_keys`` table remembers which rule the keys follow.
"""

from __future__ import annotations

import logging
import sqlite3

from ..protocol.names import NAME_KEY_RULE, BadName, name_key, normalize_name

log = logging.getLogger(__name__)

_SCHEMA = "CREATE TABLE IF NOT EXISTS name_keys (tbl TEXT PRIMARY KEY, rule TEXT NOT NULL)"
_SESSION = " session "  # the prefix of a key of one connection (registry.Member.history_key)
_RETIRED = " retired "  # a key nobody gets (names hold no spaces)


def rekey_database(db: sqlite3.Connection) -> None:
    """Bring the keys of ``db`` (a connection in autocommit mode) to the current rule."""
    db.execute(_SCHEMA)
    row = db.execute("SELECT rule FROM name_keys WHERE tbl = 'database'").fetchone()
    if row is not None and row[0] == NAME_KEY_RULE:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        renamed = _rekey_accounts(db) if "accounts" in tables else {}
        if "messages" in tables:
            _rekey_messages(db, renamed)
        if {"bans", "mutes", "ignores"} <= tables:
            _rekey_moderation(db, renamed)
        db.execute("INSERT OR REPLACE INTO name_keys (tbl, rule) VALUES ('database', ?)", (NAME_KEY_RULE,))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _rekey_accounts(db: sqlite3.Connection) -> dict[str, str]:
    """New keys for the accounts; returns old key -> new key.  Two accounts whose names are now
    one name: the one registered first keeps it; the other can no longer log in, is kept for the
    operator to see (``messenger users``) and remove, and is logged once."""
    rows = db.execute("SELECT rowid, name, key FROM accounts ORDER BY created, rowid").fetchall()
    owner: dict[str, str] = {}
    renamed: dict[str, str] = {}
    for rowid, name, old in rows:
        try:
            normalize_name(name)
        except BadName as exc:
            log.warning("the account %r breaks the name rules now (%s); it cannot log in", name, exc)
        key = name_key(name)
        if key in owner:
            log.warning(
                "the accounts %s and %s are now one name; %s (registered first) keeps it, %s cannot "
                "log in until it is removed with 'messenger users remove %s'",
                owner[key], name, owner[key], name, name,
            )  # fmt: skip
            key = f"{_RETIRED}{rowid} {key}"
        owner[key] = name
        renamed[old] = key
    # Out of the way first, so that no new key meets an old one in the primary key.
    db.execute("UPDATE accounts SET key = ' moving ' || rowid")
    db.executemany(
        "UPDATE accounts SET key = ? WHERE rowid = ?", [(renamed[old], rowid) for rowid, _, old in rows]
    )
    return renamed


def _rekey_messages(db: sqlite3.Connection, renamed: dict[str, str]) -> None:
    def rekeyed(key: str | None) -> str | None:
        if key is None or key.startswith((_SESSION, _RETIRED)):
            return key
        return renamed.get(key, _RETIRED + key)

    db.create_function("rekeyed", 1, rekeyed, deterministic=True)
    db.execute("UPDATE messages SET sender_key = rekeyed(sender_key), recipient_key = rekeyed(recipient_key)")


def _rekey_moderation(db: sqlite3.Connection, renamed: dict[str, str]) -> None:
    """Bans and mutes of names, and ignores, keyed by the current rule (two names now one: the
    later row wins; an ignore list whose account is gone is dropped)."""
    bans = db.execute("SELECT kind, shown, actor, reason, created, expires FROM bans WHERE kind = 'name'")
    rows = [(name_key(shown), shown, *rest) for _, shown, *rest in bans.fetchall()]
    db.execute("DELETE FROM bans WHERE kind = 'name'")
    db.executemany(
        "INSERT OR REPLACE INTO bans (kind, target, shown, actor, reason, created, expires) "
        "VALUES ('name', ?, ?, ?, ?, ?, ?)",
        sorted(rows, key=lambda row: row[4]),
    )
    mutes = [
        (name_key(name), name, *rest)
        for _, name, *rest in db.execute(
            "SELECT key, name, actor, reason, created, expires FROM mutes"
        ).fetchall()
    ]
    db.execute("DELETE FROM mutes")
    db.executemany(
        "INSERT OR REPLACE INTO mutes (key, name, actor, reason, created, expires) VALUES (?, ?, ?, ?, ?, ?)",
        sorted(mutes, key=lambda row: row[4]),
    )
    ignores = [
        (renamed[owner], name_key(name), name)
        for owner, _, name in db.execute("SELECT owner, target, name FROM ignores").fetchall()
        if owner in renamed
    ]
    db.execute("DELETE FROM ignores")
    db.executemany("INSERT OR REPLACE INTO ignores (owner, target, name) VALUES (?, ?, ?)", ignores)

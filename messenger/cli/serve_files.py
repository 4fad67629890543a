"""The files ``serve`` opens before it listens: the database (history, accounts, moderation)
and the message of the day; each refused with one line naming the file and why."""

from __future__ import annotations

import sqlite3

from ..core.accounts import Accounts
from ..core.moddb import ModerationError
from ..core.moderation import Moderation
from ..core.store import Retention, SQLiteStore, StoreError
from ..protocol import sanitize_text
from .env import fail
from .options import unreadable


def open_database(path: str, retention: Retention) -> tuple[SQLiteStore, Accounts]:
    try:
        store = SQLiteStore(path, retention)
    except StoreError as exc:
        raise fail(str(exc)) from None
    try:
        return store, Accounts(path)
    except sqlite3.Error as exc:
        store.close()
        raise fail(f"cannot read the accounts in {path}: {exc}") from None


def open_moderation(path: str, store: SQLiteStore) -> Moderation:
    """Bans, mutes, ignores and the audit trail, in the same database."""
    try:
        return Moderation(path)
    except (sqlite3.Error, ModerationError) as exc:
        store.close()
        raise fail(f"cannot read the bans and mutes in {path}: {exc}") from None


MAX_MOTD = 4096


def read_motd(path: str) -> str:
    """The message of the day from ``path``: UTF-8, at most MAX_MOTD bytes (every login is sent
    it), each line sanitised like a message; a file that cannot be used is named."""
    reason = unreadable(path)
    if reason is not None:
        raise fail(f"cannot read the message of the day {path}: {reason}")
    with open(path, "rb") as file:
        data = file.read(MAX_MOTD + 1)
    if len(data) > MAX_MOTD:
        raise fail(f"the message of the day {path} is longer than {MAX_MOTD} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise fail(f"the message of the day {path} is not UTF-8 text") from None
    return "\n".join(sanitize_text(line) for line in text.splitlines()).strip("\n")

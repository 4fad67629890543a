"""Registered names: accounts with scrypt password hashes, kept in the server's SQLite file.

``messenger users`` writes them while the server may be running (SQLite's WAL lets both use the
file); the server reads an account at each login, so a change applies to the next login.
Passwords are never stored or logged: only a per-user random salt and ``hashlib.scrypt`` of
the password, compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..protocol.names import BadName, name_key, normalize_name
from .dbfile import connect_shared
from .rekey import rekey_database
from .roles import Role, stored_role

# scrypt's cost: 2**14 × 8 × 128 bytes = 16 MiB and about 50 ms per check on a small machine:
# cheap for one login, expensive for someone trying millions (OWASP's minimum for scrypt).
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32
MAX_PASSWORD_BYTES = 1024  # a password is not a file; this also bounds the hashing work

# What an unknown name's password is checked against: the same scrypt work as a real account's
# (a random salt and a random hash, which no password matches), so that the time a refusal takes
# does not tell whether the name exists.
_NO_ACCOUNT = (os.urandom(SALT_BYTES), os.urandom(HASH_BYTES), SCRYPT_N, SCRYPT_R, SCRYPT_P)

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    key TEXT PRIMARY KEY,      -- the name's comparison form (name_key)
    name TEXT NOT NULL,        -- the name as registered
    salt BLOB NOT NULL,
    hash BLOB NOT NULL,
    n INTEGER NOT NULL, r INTEGER NOT NULL, p INTEGER NOT NULL,
    created TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'user'  -- roles.Role: user, op or admin
);
"""
_COLUMNS = "name, key, created, role"


class AccountError(Exception):
    """A refused account operation; ``str()`` says why."""


@dataclass(frozen=True)
class Account:
    name: str
    key: str
    created: str
    # Not part of an account's identity: an account whose role changed is the same account.
    role: Role = field(default=Role.USER, compare=False)

    @classmethod
    def from_row(cls, name: str, key: str, created: str, role: str | None) -> Account:
        return cls(name, key, created, stored_role(role))


def hash_password(
    password: str, salt: bytes, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P
) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=HASH_BYTES, maxmem=64 * 1024 * 1024
    )


def check_password_text(password: str) -> None:
    """Raises AccountError for a password that cannot be used."""
    if not password:
        raise AccountError("the password is empty")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise AccountError(f"the password is longer than {MAX_PASSWORD_BYTES} bytes")


def check_password(password: str, row: tuple[bytes, bytes, int, int, int] | None) -> bool:
    """Whether ``password`` matches an account's ``(salt, hash, n, r, p)``; with no account
    (None) the same work is done against a hash nothing matches, and the answer is False."""
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        return False
    salt, stored, n, r, p = row if row is not None else _NO_ACCOUNT
    return hmac.compare_digest(hash_password(password, salt, n, r, p), stored) and row is not None


class Accounts:
    """The accounts table of one database file (``:memory:`` holds none worth keeping)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._db = connect_shared(self.path)
        self._lock = threading.Lock()
        with self._lock:
            self._db.executescript(SCHEMA)
            add_role_column(self._db)
            rekey_database(self._db)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def lookup(self, name: str) -> Account | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM accounts WHERE key = ?", (name_key(name),)
            ).fetchone()
        return Account.from_row(*row) if row else None

    def verify(self, name: str, password: str) -> bool:
        """Whether ``password`` is the password of the registered ``name`` (False when it is
        not registered).  Takes as long for an unknown name as for a wrong password."""
        with self._lock:
            row = self._db.execute(
                "SELECT salt, hash, n, r, p FROM accounts WHERE key = ?", (name_key(name),)
            ).fetchone()
        return check_password(password, row)

    def add(self, name: str, password: str, role: Role = Role.USER) -> Account:
        try:
            name = normalize_name(name)
        except BadName as exc:
            raise AccountError(f"bad name: {exc}") from None
        check_password_text(password)
        salt = os.urandom(SALT_BYTES)
        created = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        digest = hash_password(password, salt)
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO accounts (key, name, salt, hash, n, r, p, created, role) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (name_key(name), name, salt, digest, SCRYPT_N, SCRYPT_R, SCRYPT_P, created, role.value),
                )
            except sqlite3.IntegrityError:
                existing = self._db.execute(
                    "SELECT name FROM accounts WHERE key = ?", (name_key(name),)
                ).fetchone()
                raise AccountError(
                    f"{name} is already registered" + (f" (as {existing[0]})" if existing else "")
                ) from None
        return Account(name, name_key(name), created, role)

    def set_password(self, name: str, password: str) -> None:
        check_password_text(password)
        salt = os.urandom(SALT_BYTES)
        digest = hash_password(password, salt)
        with self._lock:
            changed = self._db.execute(
                "UPDATE accounts SET salt = ?, hash = ?, n = ?, r = ?, p = ? WHERE key = ?",
                (salt, digest, SCRYPT_N, SCRYPT_R, SCRYPT_P, name_key(name)),
            ).rowcount
        if not changed:
            raise AccountError(f"{name} is not registered")

    def set_role(self, name: str, role: Role) -> Account:
        """Give the account ``name`` the role ``role``; a server reads it at each operator's request."""
        with self._lock:
            changed = self._db.execute(
                "UPDATE accounts SET role = ? WHERE key = ?", (Role(role).value, name_key(name))
            ).rowcount
        account = self.lookup(name) if changed else None
        if account is None:
            raise AccountError(f"{name} is not registered")
        return account

    def remove(self, name: str) -> None:
        with self._lock:
            # The exact name first: an account that lost its name to an older lookalike when
            # the name rule changed must be removable without removing the older one.
            removed = self._db.execute("DELETE FROM accounts WHERE name = ?", (name,)).rowcount
            if not removed:
                removed = self._db.execute("DELETE FROM accounts WHERE key = ?", (name_key(name),)).rowcount
        if not removed:
            raise AccountError(f"{name} is not registered")

    def export(self) -> list[dict[str, object]]:
        """Every row as it is stored (salt and hash included): for sharing with a cluster."""
        columns = ("key", "name", "salt", "hash", "n", "r", "p", "created", "role")
        with self._lock:
            rows = self._db.execute(f"SELECT {', '.join(columns)} FROM accounts ORDER BY key").fetchall()
        return [dict(zip(columns, row, strict=True)) for row in rows]

    def all(self) -> list[Account]:
        with self._lock:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM accounts ORDER BY key").fetchall()
        return [Account.from_row(*row) for row in rows]


def add_role_column(db: sqlite3.Connection) -> None:
    """Give an accounts table made before roles existed its ``role`` column (everyone a user).
    Checked again inside the transaction: the server and ``messenger users`` may both open an
    old file at once, and only one of them may add the column."""
    if "role" in _columns(db):
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        if "role" not in _columns(db):
            db.execute("ALTER TABLE accounts ADD COLUMN role TEXT NOT NULL DEFAULT 'user'")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _columns(db: sqlite3.Connection) -> set[str]:
    return {row[1] for row in db.execute("PRAGMA table_info(accounts)")}

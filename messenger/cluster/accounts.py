"""Accounts shared by the nodes: registered names, their scrypt records and roles, kept in Redis.

In a cluster Redis holds the one list of accounts (the hash ``messenger:accounts``: name key ->
the record), so a name registered through any node, or ``messenger users --redis``, is the
same account on every node.  What Redis keeps is what the SQLite table keeps: the name, a
random salt and ``scrypt`` of the password, never the password.

Every change is one Lua script (ACCOUNT) that changes the hash and adds an ``account`` entry to
the stream in the same step: registering is HSETNX, so of two nodes registering one name at once
exactly one succeeds, and every node applies the change to its mirror from the stream.

RedisAccounts reads Redis at each call (the ``users`` command); MirroredAccounts (a node's)
answers from a copy in memory kept by the stream, so a login, a rename or an operator's request
never waits for Redis in the reader loop.  Writes go to Redis first; without Redis they are
refused (AccountError), never made in one place only; and roles count for nothing (see
MirroredAccounts.lookup).
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import redis

from ..core.accounts import (
    SALT_BYTES,
    SCRYPT_N,
    SCRYPT_P,
    SCRYPT_R,
    Account,
    AccountError,
    check_password,
    check_password_text,
    hash_password,
)
from ..core.roles import Role, stored_role
from ..protocol.names import BadName, name_key, normalize_name
from . import keys
from .bus import FAILURES

ACCOUNTS = keys.PREFIX + "accounts"  # name key -> JSON record (see record())

# KEYS: accounts, stream, seq.  ARGV: maxlen, node, op, key, JSON.  op ``add``: the record, set
# only if the key is free; ``set``: fields changed in an existing record; ``del``: removed.
# Returns 1 if the hash changed (and an ``account`` entry with the whole record was added).
ACCOUNT = """
local old = redis.call('HGET', KEYS[1], ARGV[4])
local record = nil
if ARGV[3] == 'add' then
    if old then return 0 end
    record = ARGV[5]
elseif not old then
    return 0
elseif ARGV[3] == 'set' then
    local merged = cjson.decode(old)
    for field, value in pairs(cjson.decode(ARGV[5])) do merged[field] = value end
    record = cjson.encode(merged)
end
if record then
    redis.call('HSET', KEYS[1], ARGV[4], record)
else
    redis.call('HDEL', KEYS[1], ARGV[4])
end
local data = cjson.encode({key = ARGV[4], record = record and cjson.decode(record) or false})
local seq = redis.call('INCR', KEYS[3])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*',
    'seq', seq, 'node', ARGV[2], 'kind', 'account', 'data', data, 'n', '0')
return 1
"""


def record(name: str, password: str, role: Role) -> dict[str, Any]:
    """A new account's record: what the SQLite table's row holds (salt and hash in hex)."""
    salt = os.urandom(SALT_BYTES)
    created = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"name": name, "created": created, "role": role.value, **secret(password, salt)}


def secret(password: str, salt: bytes) -> dict[str, Any]:
    digest = hash_password(password, salt)
    return {"salt": salt.hex(), "hash": digest.hex(), "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P}


def account_of(data: dict[str, Any]) -> Account:
    return Account(data["name"], name_key(data["name"]), data["created"], stored_role(data.get("role")))


def hashed(data: dict[str, Any] | None) -> tuple[bytes, bytes, int, int, int] | None:
    """The ``(salt, hash, n, r, p)`` check_password takes, from a record."""
    if data is None:
        return None
    return bytes.fromhex(data["salt"]), bytes.fromhex(data["hash"]), data["n"], data["r"], data["p"]


class RedisAccounts:
    """The Accounts interface (core/accounts.py) on the cluster's Redis hash of accounts."""

    def __init__(self, client: redis.Redis, node: str = "cli", maxlen: int = 100_000) -> None:
        self.client, self.node, self.maxlen = client, node, maxlen
        self.path = "redis"  # what the ``users`` command names in its errors

    def close(self) -> None:
        self.client.close()

    def _records(self) -> dict[str, dict[str, Any]]:
        return {k.decode(): json.loads(v) for k, v in self._unfailing(self.client.hgetall, ACCOUNTS).items()}

    def _record(self, key: str) -> dict[str, Any] | None:
        raw = self._unfailing(self.client.hget, ACCOUNTS, key)
        return None if raw is None else json.loads(raw)

    def lookup(self, name: str) -> Account | None:
        found = self._record(name_key(name))
        return None if found is None else account_of(found)

    def verify(self, name: str, password: str) -> bool:
        """As Accounts.verify: as long for an unknown name as for a wrong password."""
        return check_password(password, hashed(self._record(name_key(name))))

    def all(self) -> list[Account]:
        return [account_of(data) for _, data in sorted(self._records().items())]

    def add(self, name: str, password: str, role: Role = Role.USER) -> Account:
        try:
            name = normalize_name(name)
        except BadName as exc:
            raise AccountError(f"bad name: {exc}") from None
        check_password_text(password)
        data = record(name, password, role)
        if not self._write("add", name_key(name), data):
            existing = self._record(name_key(name))
            shown = f" (as {existing['name']})" if existing else ""
            raise AccountError(f"{name} is already registered{shown}")
        return account_of(data)

    def set_password(self, name: str, password: str) -> None:
        check_password_text(password)
        if not self._write("set", name_key(name), secret(password, os.urandom(SALT_BYTES))):
            raise AccountError(f"{name} is not registered")

    def set_role(self, name: str, role: Role) -> Account:
        if not self._write("set", name_key(name), {"role": Role(role).value}):
            raise AccountError(f"{name} is not registered")
        account = self.lookup(name)
        if account is None:  # removed in between
            raise AccountError(f"{name} is not registered")
        return account

    def remove(self, name: str) -> None:
        if not self._write("del", name_key(name), {}):
            raise AccountError(f"{name} is not registered")

    def _write(self, op: str, key: str, data: dict[str, Any]) -> bool:
        names = [ACCOUNTS, keys.STREAM, keys.SEQ]
        argv = [self.maxlen, self.node, op, key, json.dumps(data)]
        return bool(self._unfailing(self.client.eval, ACCOUNT, len(names), *names, *argv))

    @staticmethod
    def _unfailing(call: Any, *args: Any) -> Any:
        """A Redis call; unreachable Redis is an AccountError (nothing is changed anywhere)."""
        try:
            return call(*args)
        except FAILURES as exc:
            raise AccountError(
                f"the cluster's Redis cannot be reached ({exc}); nothing was changed"
            ) from None


class MirroredAccounts(RedisAccounts):
    """A node's accounts: read from a copy kept in memory (loaded at start, then changed by the
    stream's ``account`` entries in the reader thread); written to Redis first."""

    def __init__(self, client: redis.Redis, node: str, maxlen: int = 100_000) -> None:
        super().__init__(client, node, maxlen)
        self._lock = threading.Lock()
        self._mirror: dict[str, dict[str, Any]] = {}
        # Whether the node reaches Redis now (its Bus's ``up``): a role is only as good as the
        # last change the node read, so without Redis nobody is an operator here.
        self.connected: Callable[[], bool] = lambda: True

    def close(self) -> None:
        """The client is the node's Bus's: it closes it."""

    def load(self) -> None:
        """Read the whole hash again (at start, and after a gap in the stream).  Raises redis
        errors."""
        records = {k.decode(): json.loads(v) for k, v in self.client.hgetall(ACCOUNTS).items()}
        with self._lock:
            self._mirror = records

    def apply(self, data: dict[str, Any]) -> Account | None:
        """An ``account`` entry: the record now (None: removed).  Returns the account."""
        with self._lock:
            if data["record"]:
                self._mirror[data["key"]] = data["record"]
            else:
                self._mirror.pop(data["key"], None)
        return account_of(data["record"]) if data["record"] else None

    def lookup(self, name: str) -> Account | None:
        """The account as the node knows it; while cut from Redis, with no role above ``user``
        (an operator whose role was taken meanwhile must not act here, nor publish a ban that
        every node would apply once this one is back)."""
        account = super().lookup(name)
        if account is not None and account.role is not Role.USER and not self.connected():
            return dataclasses.replace(account, role=Role.USER)
        return account

    def _records(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return dict(self._mirror)

    def _record(self, key: str) -> dict[str, Any] | None:
        return self._mirror.get(key)  # (one dict read: atomic)

    def _write(self, op: str, key: str, data: dict[str, Any]) -> bool:
        """Written to Redis, then here at once (the stream brings the same record again)."""
        if not super()._write(op, key, data):
            return False
        raw = self._unfailing(self.client.hget, ACCOUNTS, key)
        self.apply({"key": key, "record": None if raw is None else json.loads(raw)})
        return True

"""SharedSteps: what ClusterRegistry does so that accounts, roles, room settings and a takeover
hold across nodes as on one server (a mixin placed before RemoteSteps).

- Names: the Redis claim also refuses a registered name to a login that did not prove its
  account (GUARDED_CLAIM, one step with the check), so a node whose copy of the accounts is a
  moment behind cannot grant it.
- Takeover: a registered user logging in while another node holds their name asks that node to
  let go (a ``takeover`` entry) and waits until the name is free in Redis before taking it: the
  old session is told ``replaced`` and closed there first, so no moment has both.  Without
  Redis, a name held on another node is refused rather than taken.
- Roles: an ``account`` entry changes the role of that account's sessions on every node, and a
  remote member carries its account's role (rank checks, modes and ``whois`` see it).
- Room settings: rooms.py (RoomSharing).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from typing import TYPE_CHECKING, Any

from ..core.members import Member, NameTaken
from ..core.moderating import Banned
from ..core.registry import Registry
from ..protocol.names import name_key
from . import keys
from .bus import FAILURES, Bus, Entry
from .rooms import ROOMS, RoomSharing

if TYPE_CHECKING:
    import redis

    from .accounts import MirroredAccounts

log = logging.getLogger("messenger.cluster")

TAKEOVER_WAIT = 5.0  # how long a login waits for another node to let go of its name
TAKEOVER = keys.PREFIX + "takeover:"  # + name key: the takeover asked now (expires with the wait)

# KEYS: names, accounts.  ARGV: key, node, the key of the account the login proved ('' none).
# -2: the name is registered and this login did not prove it; else as keys.CLAIM.
GUARDED_CLAIM = """
if ARGV[3] ~= ARGV[1] and redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return -2 end
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then return 1 end
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return 0 end
return -1
"""


class SharedSteps(RoomSharing):
    """ClusterRegistry's shared accounts, roles, room settings and takeovers (see the module)."""

    bus: Bus
    redis: redis.Redis
    accounts: MirroredAccounts
    _lock: threading.Lock
    _members: dict[str, Member]
    _released: threading.Condition

    def start_sharing(self, client: redis.Redis, accounts: MirroredAccounts) -> None:
        """Before the node serves: its Redis client, accounts, and the rooms' settings."""
        self.redis, self.accounts = client, accounts
        self._released = threading.Condition()
        self.load_settings(client.hgetall(ROOMS))
        with self._lock:
            for member in self._members.values():  # the others' members, loaded already
                self._take_role(member)

    # -- names and takeovers --------------------------------------------------------------------

    def _claim_guarded(self, key: str, member: Member) -> int:
        """keys.CLAIM with the account check (GUARDED_CLAIM).  Raises redis errors."""
        proved = name_key(member.account) if member.account else ""
        names = [keys.NAMES, keys.PREFIX + "accounts"]
        return int(self.redis.eval(GUARDED_CLAIM, len(names), *names, key, self.bus.node, proved))

    def _claim_login(self: Any, member: Member, name: str, kwargs: dict[str, Any]) -> bool:
        """Claim ``name`` for a login; True if it was free (released if the login fails).  A
        login that may replace the holder (``replace``, or the holder's own account) takes it
        over from another node (see the module).  Raises NameTaken."""
        key, deadline = name_key(name), 0.0
        while True:
            try:
                claimed = self._claim_guarded(key, member)
            except FAILURES:
                if self._remote_holder(key) is not None:
                    raise NameTaken(name) from None  # cut off: never two holders
                return False  # granted here alone (docs/operations.md)
            if claimed >= 0:
                return claimed > 0
            holder = self._remote_holder(key)
            if claimed == -2 or holder is None or not _may_take(holder, kwargs):
                raise NameTaken(name)
            if not deadline:
                with self._lock:  # as on one server: a banned login replaces nobody
                    banned = self._ban_of_locked(key, member.account)
                if banned is not None:
                    raise Banned(banned)
                deadline = time.monotonic() + TAKEOVER_WAIT
                self._ask_to_let_go(key, name, kwargs)
            elif time.monotonic() > deadline:
                log.warning("node %s did not let go of %s in time", holder.address.rstrip(":"), name)
                self._unfailing(self.redis.delete, TAKEOVER + key)
                raise NameTaken(name)
            with self._released:
                self._released.wait(0.05)

    def _ask_to_let_go(self, key: str, name: str, kwargs: dict[str, Any]) -> None:
        """Publish a takeover of ``key``, valid while its Redis key lives: a node that reads it
        later (back from a cut, after this login gave up) leaves its session alone."""
        ask = secrets.token_hex(8)
        self._unfailing(self.redis.set, TAKEOVER + key, ask, px=int(TAKEOVER_WAIT * 1000))
        request = {"key": key, "name": name, "replace": bool(kwargs.get("replace")),
                   "account": kwargs.get("replace_account"), "ask": ask}  # fmt: skip
        self.bus.publish("takeover", request)

    @staticmethod
    def _unfailing(call: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return call(*args, **kwargs)
        except FAILURES:
            return None

    def _remote_holder(self, key: str) -> Member | None:
        holder = self._members.get(key)
        return holder if holder is not None and holder.link is None else None

    def _let_go(self: Any, data: dict[str, Any]) -> None:
        """Another node's login takes over a name held here: as a login would on one server."""
        asked = self._unfailing(self.redis.get, TAKEOVER + data["key"])
        if asked is None or asked.decode() != data["ask"]:
            return  # given up (or Redis cannot say): the session stays
        with self._operation() as out:
            holder = self._members.get(data["key"])
            if holder is None or holder.link is None or holder.name is None:
                return
            if data["replace"] or (data["account"] is not None and holder.account == data["account"]):
                self._replace_locked(out, holder)

    # -- the entries ----------------------------------------------------------------------------

    def apply(self: Any, entry: Entry) -> None:
        """The entries of this module; the rest as RemoteSteps applies them."""
        kind = entry.kind
        if kind == "account":
            self._account_changed(entry.data)  # this node's too: the order of the stream
        elif kind == "gap":
            super().apply(entry)
            try:
                self.accounts.load()  # what the lost entries changed
            except FAILURES as exc:
                log.warning("could not read the accounts again after a gap: %s", exc)
        elif kind == "settings":
            self.apply_settings(entry.data, mine=entry.node == self.bus.node)
        elif entry.node == self.bus.node:
            return
        elif kind == "takeover":
            self._let_go(entry.data)
        elif kind in ("ignore", "unignore"):
            self.moderation.ignores.apply(kind, entry.data)
        else:
            super().apply(entry)
        if kind in ("leave", "nick", "dead"):
            with self._released:
                self._released.notify_all()

    def _account_changed(self: Any, data: dict[str, Any]) -> None:
        account = self.accounts.apply(data)
        if account is not None:
            Registry.set_role(self, account.name, account.role.value)
        else:  # removed: its sessions keep their names, but no role
            with self._lock:
                holders = [m.account for m in self._members.values() if m.account and m.key == data["key"]]
            for holder in holders:
                Registry.set_role(self, holder, "user")

    def _remote_join(self: Any, node: str, data: dict[str, Any]) -> None:
        super()._remote_join(node, data)
        if getattr(self, "accounts", None) is None:
            return  # loading, before start_sharing (which gives them their roles)
        member = self._members.get(name_key(data["name"]))
        if member is not None and member.link is None:
            self._take_role(member)

    def _take_role(self, member: Member) -> None:
        found = self.accounts.lookup(member.account) if member.account else None
        member.role = found.role.value if found is not None else "user"


def _may_take(holder: Member, kwargs: dict[str, Any]) -> bool:
    """Whether a login may replace ``holder`` (as Registry.join decides on one server)."""
    account = kwargs.get("replace_account")
    return bool(kwargs.get("replace")) or (account is not None and holder.account == account)

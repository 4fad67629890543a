"""Bans of names, addresses and networks, checked in memory without touching the database.

A banned address must be refused at accept, before any login work, and a thousand bans must not
slow a login: names and single addresses are dict look-ups, and networks are grouped by prefix
length, so an address is checked with one look-up per prefix length in use (a handful), however
many networks are banned.  Expiry follows the clock given (``time.time`` by default), so tests
move time instead of sleeping.
"""

from __future__ import annotations

import enum
import ipaddress
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..protocol.names import BadName, name_key, normalize_name
from .durations import Expiring
from .moddb import ModerationDb

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class BanKind(str, enum.Enum):
    NAME = "name"
    ADDRESS = "address"
    NETWORK = "network"


class BanTargetError(ValueError):
    """Text that is neither a name nor an address nor a network; ``str()`` says why."""


@dataclass(frozen=True)
class BanTarget:
    """What a ban covers: ``key`` is a name's name_key, or an address or network in canonical
    form (``shown`` is the name as given, or the same as ``key``)."""

    kind: BanKind
    key: str
    shown: str

    def network(self) -> Network:
        return ipaddress.ip_network(self.key)


@dataclass(frozen=True)
class Ban(Expiring):
    target: BanTarget
    actor: str
    reason: str
    created: float
    expires: float | None  # None: until lifted


def plain_address(address: Address) -> Address:
    """An IPv4-mapped IPv6 address (``::ffff:10.0.0.1``, what a dual-stack socket reports) as
    the IPv4 address it is, and no scope: one host has one form, so no form slips past a ban."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.scope_id is not None:
            return ipaddress.IPv6Address(address.compressed.split("%", 1)[0])
    return address


def parse_target(text: str) -> BanTarget:
    """A ban target from what a moderator typed: an address (``10.0.0.1``, ``::1``), a network
    (``10.0.0.0/8``, ``2001:db8::/32``), else a name.  An address wins over a name that looks
    like one (``1.2.3.4`` is a valid name): use ``name_target`` to ban such a name."""
    text = text.strip()
    try:
        address = plain_address(ipaddress.ip_address(text))
        return BanTarget(BanKind.ADDRESS, str(address), str(address))
    except ValueError:
        pass
    if "/" in text:
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError as exc:
            raise BanTargetError(f"{text!r} is not a network: {exc}") from None
        if network.prefixlen == network.max_prefixlen:
            return parse_target(str(network.network_address))
        return BanTarget(BanKind.NETWORK, str(network), str(network))
    return name_target(text)


def name_target(name: str) -> BanTarget:
    """A ban of ``name`` and every name that compares equal to it (case, lookalikes)."""
    try:
        shown = normalize_name(name)
    except BadName as exc:
        raise BanTargetError(f"{name!r} is not a name, an address or a network: {exc}") from None
    return BanTarget(BanKind.NAME, name_key(shown), shown)


class BanList:
    """The bans of one database, in memory; every change is written to the database first."""

    def __init__(self, db: ModerationDb, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self.clock = clock
        self._lock = threading.Lock()
        self._names: dict[str, Ban] = {}
        self._addresses: dict[str, Ban] = {}
        # (IP version, prefix length) -> network address as an int, shifted -> ban
        self._networks: dict[tuple[int, int], dict[int, Ban]] = {}
        self.reload()

    def reload(self) -> None:
        """Read every ban from the database again (at start; after another process changed it)."""
        rows = self._db.read("SELECT kind, target, shown, actor, reason, created, expires FROM bans")
        with self._lock:
            self._names, self._addresses, self._networks = {}, {}, {}
            for kind, target, shown, actor, reason, created, expires in rows:
                try:
                    self._index(Ban(BanTarget(BanKind(kind), target, shown), actor, reason, created, expires))
                except ValueError:
                    continue  # a row no version of this code wrote: not a ban we can check

    def ban(
        self,
        target: BanTarget,
        actor: str,
        reason: str = "",
        duration: float | None = None,
        now: float | None = None,
    ) -> Ban:
        """Ban ``target`` for ``duration`` seconds (None: until lifted), replacing an earlier ban
        of the same target.  ModerationError if the database refuses it."""
        now = self.clock() if now is None else now
        ban = Ban(target, actor, reason, now, None if duration is None else now + duration)
        self._db.write(
            "INSERT OR REPLACE INTO bans (kind, target, shown, actor, reason, created, expires) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (target.kind.value, target.key, target.shown, actor, reason, now, ban.expires),
        )
        with self._lock:
            self._index(ban)
        return ban

    def lift(self, target: BanTarget) -> Ban | None:
        """Remove the ban of ``target``; the ban lifted, or None if there was none."""
        self._db.write("DELETE FROM bans WHERE kind = ? AND target = ?", (target.kind.value, target.key))
        with self._lock:
            return self._unindex(target)

    def check_name(self, key: str, now: float | None = None) -> Ban | None:
        """The ban in force on the name whose name_key is ``key``, or None."""
        ban = self._names.get(key)
        return ban if ban is not None and ban.active(self.clock() if now is None else now) else None

    def check_address(self, address: str | Address, now: float | None = None) -> Ban | None:
        """The ban in force on ``address`` (itself or a network holding it), or None."""
        try:
            ip = plain_address(ipaddress.ip_address(address))
        except ValueError:
            return None  # not an IP address (a Unix socket's path): no address ban applies
        now = self.clock() if now is None else now
        with self._lock:
            ban = self._addresses.get(str(ip))
            if ban is not None and ban.active(now):
                return ban
            number = int(ip)
            for (version, prefix), networks in self._networks.items():
                if version == ip.version:
                    ban = networks.get(number >> (ip.max_prefixlen - prefix))
                    if ban is not None and ban.active(now):
                        return ban
        return None

    def active(self, now: float | None = None) -> list[Ban]:
        """The bans in force, oldest first (for ``/bans``)."""
        now = self.clock() if now is None else now
        with self._lock:
            bans = [*self._names.values(), *self._addresses.values()]
            bans += [ban for networks in self._networks.values() for ban in networks.values()]
        return sorted((ban for ban in bans if ban.active(now)), key=lambda ban: ban.created)

    def expire(self, now: float | None = None) -> list[Ban]:
        """Remove the bans whose time is over, from memory and the database; returns them (to
        log).  Checks ignore such bans anyway; this only keeps the lists short."""
        now = self.clock() if now is None else now
        with self._lock:
            bans = [*self._names.values(), *self._addresses.values()]
            bans += [ban for networks in self._networks.values() for ban in networks.values()]
        over = [ban for ban in bans if not ban.active(now)]
        self._db.write("DELETE FROM bans WHERE expires IS NOT NULL AND expires <= ?", (now,))
        with self._lock:
            for ban in over:
                self._unindex(ban.target)
        return over

    def __len__(self) -> int:
        return len(self._names) + len(self._addresses) + sum(map(len, self._networks.values()))

    def _index(self, ban: Ban) -> None:
        target = ban.target
        if target.kind is BanKind.NAME:
            self._names[target.key] = ban
        elif target.kind is BanKind.ADDRESS:
            self._addresses[str(plain_address(ipaddress.ip_address(target.key)))] = ban
        else:
            network = target.network()
            bucket = self._networks.setdefault((network.version, network.prefixlen), {})
            bucket[int(network.network_address) >> (network.max_prefixlen - network.prefixlen)] = ban

    def _unindex(self, target: BanTarget) -> Ban | None:
        if target.kind is BanKind.NAME:
            return self._names.pop(target.key, None)
        if target.kind is BanKind.ADDRESS:
            return self._addresses.pop(target.key, None)
        network = target.network()
        slot = (network.version, network.prefixlen)
        bucket = self._networks.get(slot, {})
        ban = bucket.pop(int(network.network_address) >> (network.max_prefixlen - network.prefixlen), None)
        if not bucket:
            self._networks.pop(slot, None)
        return ban

"""Bans and mutes shared by the nodes: SharedBanList is the node's BanList, whose bans and lifts are also
kept in Redis (for nodes starting later) and published (for the nodes running), so a ban made on
one node refuses a login, or a connection, on every node.

A node applies another's ban to its own list (and its own database) as if an operator there had
made it, with the same times; the members it covers are removed by the node they are on (the
banning node publishes their removal, registry.py), and an address ban removes this node's own
members from that address here.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..core.bans import Ban, BanKind, BanList, BanTarget
from ..core.moddb import ModerationDb
from ..core.mutes import Mute, MuteList
from . import keys

if TYPE_CHECKING:
    from .bus import Bus


def ban_record(ban: Ban) -> dict[str, Any]:
    target = ban.target
    return {"kind": target.kind.value, "key": target.key, "shown": target.shown, "actor": ban.actor,
            "reason": ban.reason, "created": ban.created, "expires": ban.expires}  # fmt: skip


def target_of(record: dict[str, Any]) -> BanTarget:
    return BanTarget(BanKind(record["kind"]), record["key"], record["shown"])


class SharedBanList(BanList):
    """A BanList whose changes are published on the cluster's Bus (see the module)."""

    def __init__(self, db: ModerationDb, clock: Any, bus: Bus) -> None:
        super().__init__(db, clock)
        self.bus = bus

    def ban(self, target: BanTarget, actor: str, reason: str = "", duration: float | None = None,
            now: float | None = None) -> Ban:  # fmt: skip
        ban = super().ban(target, actor, reason, duration, now)
        record = ban_record(ban)
        self.bus.publish(
            "ban", record, hashed=(keys.BANS, f"{target.kind.value} {target.key}", json.dumps(record))
        )
        return ban

    def lift(self, target: BanTarget) -> Ban | None:
        lifted = super().lift(target)
        record = {"kind": target.kind.value, "key": target.key, "shown": target.shown}
        self.bus.publish("unban", record, hashed=(keys.BANS, f"{target.kind.value} {target.key}", ""))
        return lifted

    def apply(self, kind: str, record: dict[str, Any]) -> None:
        """Another node's ban or lift, here too (its database included)."""
        target = target_of(record)
        if kind == "unban":
            BanList.lift(self, target)
            return
        expires, created = record["expires"], record["created"]
        duration = None if expires is None else expires - created
        BanList.ban(self, target, record["actor"], record["reason"], duration, now=created)

    def load(self, records: list[dict[str, Any]]) -> None:
        """The cluster's bans as this node starts, added to its own."""
        for record in records:
            self.apply("ban", record)


class SharedMuteList(MuteList):
    """A MuteList whose mutes and lifts are kept in Redis and published, like SharedBanList's
    bans: a mute made on one node silences its name on every node."""

    def __init__(self, db: ModerationDb, clock: Any, bus: Bus) -> None:
        super().__init__(db, clock)
        self.bus = bus

    def mute(self, key: str, name: str, actor: str, reason: str = "", duration: float | None = None,
             now: float | None = None) -> Mute:  # fmt: skip
        mute = super().mute(key, name, actor, reason, duration, now)
        record = {"key": key, "name": name, "actor": actor, "reason": reason,
                  "created": mute.created, "expires": mute.expires}  # fmt: skip
        self.bus.publish("mute", record, hashed=(keys.MUTES, key, json.dumps(record)))
        return mute

    def unmute(self, key: str) -> Mute | None:
        lifted = super().unmute(key)
        self.bus.publish("unmute", {"key": key}, hashed=(keys.MUTES, key, ""))
        return lifted

    def apply(self, kind: str, record: dict[str, Any]) -> Mute | None:
        """Another node's mute or lift, here too (its database included)."""
        if kind == "unmute":
            return MuteList.unmute(self, record["key"])
        expires, created = record["expires"], record["created"]
        duration = None if expires is None else expires - created
        return MuteList.mute(
            self, record["key"], record["name"], record["actor"], record["reason"], duration, now=created
        )

    def load(self, records: list[dict[str, Any]]) -> None:
        for record in records:
            self.apply("mute", record)

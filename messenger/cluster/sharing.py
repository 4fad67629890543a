"""share(): a node's accounts, ignores and room settings taken from Redis as it starts, before it
serves anyone; SharedIgnoreList, the accounts' ignores kept in Redis and published.

After share() the node's ``server.accounts`` is a MirroredAccounts (accounts.py): its own
database's accounts are no longer read (a warning names those Redis does not hold, and how to
share them: ``messenger users import``).
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ..core.moddb import ModerationDb, ModerationError
from ..core.mutes import IgnoreList
from . import keys
from .accounts import MirroredAccounts

if TYPE_CHECKING:
    from .bus import Bus
    from .node import ClusterNode

log = logging.getLogger("messenger.cluster")

IGNORES = keys.PREFIX + "ignores"  # "owner target" (name keys) -> JSON {owner, target, name}


class SharedIgnoreList(IgnoreList):
    """An IgnoreList whose remembered ignores (an account's) are kept in Redis and published, so
    an account logging in on any node takes up the names it ignores."""

    def __init__(self, db: ModerationDb, bus: Bus) -> None:
        super().__init__(db)
        self.bus = bus

    def ignore(self, owner: str, target: str, name: str, remember: bool = True) -> bool:
        added = super().ignore(owner, target, name, remember)
        if added and remember:
            row = {"owner": owner, "target": target, "name": name}
            self.bus.publish("ignore", row, hashed=(IGNORES, f"{owner} {target}", json.dumps(row)))
        return added

    def unignore(self, owner: str, target: str) -> bool:
        removed = super().unignore(owner, target)
        row = {"owner": owner, "target": target}
        self.bus.publish("unignore", row, hashed=(IGNORES, f"{owner} {target}", ""))
        return removed

    def apply(self, kind: str, row: dict[str, Any]) -> None:
        """Another node's ignore or unignore, here too (its database included)."""
        try:
            if kind == "ignore":
                IgnoreList.ignore(self, row["owner"], row["target"], row["name"])
            else:
                IgnoreList.unignore(self, row["owner"], row["target"])
        except ModerationError as exc:
            log.warning("an ignore of another node could not be kept here: %s", exc)


def redis_client(url: str) -> redis.Redis:
    """A client failing at once when Redis is unreachable (as the Bus's: the caller decides)."""
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5, retry=Retry(NoBackoff(), 0))


def share(node: ClusterNode, url: str) -> None:
    """Take the cluster's accounts, ignores and room settings (raises redis errors)."""
    server, registry = node.server, node.registry
    client = redis_client(url)
    accounts = MirroredAccounts(client, node.name, node.bus.maxlen)
    accounts.load()
    accounts.connected = lambda: node.bus.up
    _warn_unshared(server.accounts, accounts)
    moderation = registry.moderation
    ignores = SharedIgnoreList(moderation.db, node.bus)
    for raw in client.hvals(IGNORES):
        row = json.loads(raw)
        ignores.apply("ignore", row)
    moderation.ignores = ignores
    server.accounts = accounts  # type: ignore[assignment]  (the same interface)
    registry.start_sharing(client, accounts)


def _warn_unshared(local: Any, shared: MirroredAccounts) -> None:
    """The node's database may hold accounts made before it joined a cluster: name them."""
    if local is None:
        return
    missing = [account.name for account in local.all() if shared.lookup(account.name) is None]
    if missing:
        log.warning(
            "%d account(s) of %s are not the cluster's and cannot log in here (%s); share them with "
            "`messenger users import --db %s --redis URL`",
            len(missing), local.path, ", ".join(missing[:5]), local.path,
        )  # fmt: skip

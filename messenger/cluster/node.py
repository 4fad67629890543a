"""attach(): a ChatServer made a node of the cluster, before it serves anyone."""

from __future__ import annotations

import contextlib
import logging
import socket

from ..server import ChatServer
from . import idkeys
from .backfill import backfill
from .bus import DEAD_AFTER, FAILURES, Bus, redacted
from .moderation import SharedBanList, SharedMuteList
from .outlet import ClusterOutlet
from .registry import ClusterRegistry

log = logging.getLogger("messenger.cluster")


class ClusterError(Exception):
    """Redis could not be reached (or answered wrongly) as the node started; ``str()`` says so."""


def default_node_name(server: ChatServer) -> str:
    """This machine's name and the chat port: unique among the nodes of one cluster."""
    return f"{socket.gethostname()}:{server.port}"


class ClusterNode:
    """A ChatServer's link to the cluster: its Bus and its ClusterRegistry."""

    def __init__(
        self, server: ChatServer, url: str, name: str | None = None, dead_after: float = DEAD_AFTER
    ) -> None:
        self.server = server
        self.name = name or default_node_name(server)
        self.bus = Bus(url, self.name, dead_after=dead_after)
        old = server.registry
        outlet = ClusterOutlet(old.outlet)
        registry = ClusterRegistry(
            old.server_name,
            outlet,
            max_members=server.config.max_clients,
            store=old.store,
            moderation=old.moderation,
            crowd=old.crowd,
            bus=self.bus,
        )
        registry.motd = old.motd
        outlet.on_commit = registry.publish_changes_locked
        try:
            if old.store is not None:
                self.bus.raise_ids_to(old.store.last_id())
            snapshot = self.bus.snapshot()
            registry.slot = int(self.bus.writer.eval(idkeys.SLOT, 1, idkeys.SLOTS, self.name))
            if old.store is not None:  # what it missed while down (or all, for a new node)
                backfill(self.bus, old.store, snapshot.last_id)
        except FAILURES as exc:
            self.bus.close()
            raise ClusterError(f"cannot reach Redis at {redacted(url)}: {exc}") from None
        registry._next_id = max(registry._next_id, snapshot.seq + 1)
        moderation = registry.moderation
        moderation.bans = SharedBanList(moderation.db, moderation.clock, self.bus)
        moderation.bans.load(snapshot.bans)
        moderation.mutes = SharedMuteList(moderation.db, moderation.clock, self.bus)
        moderation.mutes.load(snapshot.mutes)
        registry.load(snapshot)
        self.bus.on_entries = registry.apply_all
        self.bus.on_revived = registry.announce_all
        self.registry = registry
        server.registry = registry
        self.bus.start()
        log.info("node %s of the cluster at %s; %d member(s) on other nodes", self.name, redacted(url),
                 len(snapshot.members))  # fmt: skip

    def stop(self) -> None:
        """Leave the cluster: what is queued is sent, the node's members leave on the others
        at once (not after the heartbeat's time-out).  Call after ChatServer.stop."""
        with contextlib.suppress(*FAILURES):
            self.bus.stop()


def attach(
    server: ChatServer, url: str, name: str | None = None, dead_after: float = DEAD_AFTER
) -> ClusterNode:
    """Make ``server`` a node of the cluster at ``url``; ``dead_after``: how long a node may be
    silent before the others declare it dead (every node of a cluster uses the same).  Raises
    ClusterError."""
    return ClusterNode(server, url, name, dead_after)

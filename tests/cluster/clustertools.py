"""Helpers for the cluster tests: ChatServer nodes in this process joined through a real
redis-server (tests/redistools.py), and library clients on them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from messenger.client import Client
from messenger.cluster.accounts import MirroredAccounts
from messenger.cluster.bus import DEAD_AFTER
from messenger.cluster.node import ClusterNode, attach
from messenger.protocol import Message
from messenger.server import ServerConfig

from ..clitools import WAIT, wait_for_joined
from ..conftest import ServerThread, stored_server
from .cutproxy import CutProxy

T = TypeVar("T")


class Node:
    """A ChatServer serving in a thread, attached to the cluster at ``url`` as ``name``."""

    def __init__(
        self, url: str, name: str, db: Path | None = None, dead_after: float = DEAD_AFTER, **config: object
    ) -> None:
        config.setdefault("max_rate", 0)
        if db is None:
            self.thread = ServerThread(ServerConfig(**config))  # type: ignore[arg-type]
        else:  # history, accounts and moderation in a database of its own
            self.thread = stored_server(db, **config)
        self.cluster: ClusterNode = attach(self.thread.server, url, name, dead_after)
        self.port = self.thread.port
        self.name = name
        self.stopped = False

    @property
    def accounts(self) -> MirroredAccounts:
        """The cluster's accounts, as this node reads them (kept in Redis)."""
        return self.cluster.registry.accounts

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self.thread.stop()
            self.cluster.stop()


def said(client: Client, count: int, timeout: float = WAIT) -> list[Message]:
    """The next ``count`` chat messages ``client`` receives (other frames skipped)."""
    seen: list[Message] = []
    while len(seen) < count:
        frame = client.receive(timeout=timeout)
        if isinstance(frame, Message):
            seen.append(frame)
    return seen


def next_of(client: Client, kind: type[T]) -> T:
    """The next frame of ``kind`` that ``client`` receives (others skipped)."""
    while not isinstance(frame := client.receive(timeout=WAIT), kind):
        pass
    return frame


def cut_node(
    nodes: Callable[..., Node], proxy: CutProxy, name: str
) -> tuple[Node, dict[bool, threading.Event]]:
    """A node reaching Redis through ``proxy``, and events set when it finds Redis gone or back."""
    node = nodes(name, url=proxy.url)
    events = {False: threading.Event(), True: threading.Event()}
    node.cluster.bus.on_state = lambda up: events[up].set()
    return node, events


def cut_pair(
    nodes: Callable[..., Node], proxy: CutProxy, clients: Callable[[int, str], Client]
) -> tuple[Node, dict[bool, threading.Event], Client, Client]:
    """Node ``one`` reaching Redis through ``proxy`` (cut_node) with alice, node ``two`` with bob;
    alice has seen bob join."""
    one, link = cut_node(nodes, proxy, "one")
    two = nodes("two")
    alice, bob = clients(one.port, "alice"), clients(two.port, "bob")
    wait_for_joined(alice, "bob")
    return one, link, alice, bob

"""The cluster tests' fixtures: a real redis-server per test, and nodes of one cluster on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from ..clitools import ServeProcess
from .clustertools import Node
from .cutproxy import CutProxy
from .redistools import RedisServer, require_redis


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A fresh redis-server for one test."""
    require_redis()
    server = RedisServer()
    yield server
    server.close()


@pytest.fixture
def nodes(redis_server: RedisServer) -> Iterator[Callable[..., Node]]:
    """Start nodes of one cluster (on the test's redis-server); all stopped at the end."""
    started: list[Node] = []

    def start(name: str, url: str | None = None, **config: object) -> Node:
        node = Node(url or redis_server.url, name, **config)
        started.append(node)
        return node

    yield start
    for node in started:
        node.stop()


@pytest.fixture
def proxy(redis_server: RedisServer) -> Iterator[CutProxy]:
    """A CutProxy before the test's redis-server, for a node a test cuts off."""
    cutter = CutProxy(redis_server.port)
    yield cutter
    cutter.close()


@pytest.fixture
def children() -> Iterator[list[ServeProcess]]:
    """``messenger serve`` child processes a test starts; all stopped at the end."""
    started: list[ServeProcess] = []
    yield started
    for child in started:
        child.stop()

"""The cluster tests' fixtures: a real redis-server per test, and nodes of one cluster on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from .clustertools import Node
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

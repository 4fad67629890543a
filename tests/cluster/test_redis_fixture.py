"""The cluster tests' redis-server: it starts on a free port, and a restart keeps its data."""

from __future__ import annotations

import redis

from .redistools import RedisServer


def test_redis_server_restarts_on_its_port_with_its_data(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url, socket_timeout=5)
    client.set("kept", "yes")
    port = redis_server.port
    redis_server.restart()
    assert redis_server.port == port
    assert client.get("kept") == b"yes"  # redis-py reconnects on its own after the restart
    client.close()

"""The publisher sends a burst of queued entries in few round trips (a pipeline), in order,
each exactly once: counted by a proxy between the node's Bus and a real redis-server."""

from __future__ import annotations

import contextlib
import socket
import threading

from messenger.cluster.bus import Bus, Entry

from ..clitools import WAIT
from .cutproxy import CutProxy
from .redistools import RedisServer

BURST = 200


class CountingProxy(CutProxy):
    """A CutProxy that counts the chunks it reads from its clients (requests to Redis): a client
    waiting for each reply before the next request sends at least one chunk per request."""

    def __init__(self, target_port: int) -> None:
        self.requests = 0
        self._count_lock = threading.Lock()
        super().__init__(target_port)

    def _pump(self, source: socket.socket, sink: socket.socket, answers: bool) -> None:
        to_redis = not answers
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if to_redis:
                    with self._count_lock:
                        self.requests += 1
                sink.sendall(data)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def test_a_burst_is_published_in_few_round_trips_in_order_exactly_once(redis_server: RedisServer) -> None:
    reader = Bus(redis_server.url, "reader")
    reader.snapshot()
    got: list[Entry] = []
    all_read = threading.Event()

    def on_entries(entries: list[Entry]) -> None:
        got.extend(e for e in entries if e.kind == "say")
        if len(got) >= BURST:
            all_read.set()

    reader.on_entries = on_entries
    reader.start()
    proxy = CountingProxy(redis_server.port)
    writer = Bus(proxy.url, "writer")
    try:
        for i in range(BURST):  # queued before the publisher thread runs: one burst
            writer.publish("say", {"i": i})
        writer.start()
        assert all_read.wait(WAIT), f"{len(got)} of {BURST} entries read"
        assert [entry.data["i"] for entry in got] == list(range(BURST))
        assert {entry.node for entry in got} == {"writer"}
        # one request per entry without a pipeline; a few, plus the beat, with one
        assert proxy.requests < BURST // 4, proxy.requests
    finally:
        writer.stop(grace=0)
        reader.stop(grace=0)
        proxy.close()

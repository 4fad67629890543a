"""What an idle connection holds: no receive buffer while it waits for its client to speak.

``recv(n)`` allocates its whole n-byte buffer before it blocks, so a handler thread waiting in
``recv(64 KiB)`` held 64 KiB for as long as its client stayed quiet: at thousands of idle
clients, most of the server's memory.  Counted with tracemalloc (bytes, not time).
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

from messenger.server import handler

from .conftest import RawClient, ServerThread

CLIENTS = 20


def test_idle_logged_in_clients_hold_no_receive_buffer(make_server: Callable[..., ServerThread]) -> None:
    tracemalloc.start()
    clients: list[RawClient] = []
    try:
        server = make_server()
        for i in range(CLIENTS):
            client = RawClient(server.port)
            clients.append(client)
            client.send(f"idle{i}\n")
            client.until(lambda line, i=i: line == f"idle{i} has joined the chat!")
        # One more round trip on each: its handler has read everything and is waiting again.
        for client in clients:
            client.send("/who\n")
        for client in clients:
            client.until(lambda line: "online" in line.lower())
        snapshot = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
        for client in clients:
            client.close()
    held = snapshot.filter_traces([tracemalloc.Filter(True, handler.__file__)])
    held_bytes = sum(stat.size for stat in held.statistics("filename"))
    # A connection's own objects are a few hundred bytes; one waiting recv() was 64 KiB each.
    assert held_bytes < CLIENTS * 4 * 1024, held.statistics("lineno")[:5]

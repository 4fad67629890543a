"""The login timeout measures the client, not the server: a client that sent its name in time
is not closed while the server is still busy logging it in (in a storm of thousands of logins,
the wait for the registry's lock alone passed the timeout, and clients that had done their part
were closed without the server saying why in its log)."""

from __future__ import annotations

import time
from collections.abc import Callable

from .conftest import RawClient, ServerThread

LOGIN_TIMEOUT = 0.3
WAIT = 5.0


def test_a_login_the_server_is_slow_to_take_is_not_timed_out(
    make_server: Callable[..., ServerThread],
) -> None:
    server = make_server(login_timeout=LOGIN_TIMEOUT)
    registry_lock = server.server.registry._lock  # the server is busy: every login waits for it
    client = RawClient(server.port)
    try:
        with registry_lock:
            client.send("patient\n")
            deadline = time.monotonic() + WAIT
            handlers = server.server.connections()
            while not (handlers and handlers[0].outbox is not None) and time.monotonic() < deadline:
                time.sleep(0.005)  # until its handler has read the name
                handlers = server.server.connections()
            assert handlers and handlers[0].outbox is not None
            # The login timeout passes, several times over, while the handler waits for the lock.
            past = handlers[0].opened_at + 4 * LOGIN_TIMEOUT
            while time.monotonic() < past:
                time.sleep(0.02)
        lines = client.until(lambda line: "has joined" in line or "error" in line)
        assert lines[-1] == "patient has joined the chat!", lines
        client.send("/who\n")
        assert "patient" in "\n".join(client.until(lambda line: "patient" in line))
    finally:
        client.close()


def test_a_client_that_says_nothing_is_still_timed_out(make_server: Callable[..., ServerThread]) -> None:
    server = make_server(login_timeout=LOGIN_TIMEOUT)
    client = RawClient(server.port)
    try:
        assert client.closed()
    finally:
        client.close()

"""``messenger serve`` as a child process: signals end it and tell the clients; a busy port is one
error line.

Every wait is on an event (a line printed, a frame received, a process exiting) and has a
deadline; nothing sleeps.
"""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Callable

import pytest

from messenger.client import ConnectionClosed
from messenger.protocol import Left, Shutdown

from .clitools import WAIT, ServeProcess, assert_one_error_line, login, run_cli

# ------------------------------------------------------------------------------------------------
# messenger serve
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_stops_on_signal_and_tells_clients(serve: Callable[..., ServeProcess], signum: int) -> None:
    server = serve("--port", "0")
    # Logging in proves the server is serving, so its signal handlers are installed.
    with login(server.port, "alice") as alice:
        started = time.monotonic()
        server.proc.send_signal(signum)
        frames = [alice.receive(timeout=3.0)]
        while not isinstance(frames[-1], Shutdown):
            frames.append(alice.receive(timeout=3.0))
        with pytest.raises(ConnectionClosed):
            alice.receive(timeout=3.0)
        status = server.proc.wait(timeout=2.0)
        elapsed = time.monotonic() - started
    assert status == 0
    assert elapsed < 2.0
    assert not any(isinstance(frame, Left) for frame in frames)  # no left frames during shutdown
    assert "Traceback" not in server.stderr.rest()


def test_serve_sends_text_mode_clients_a_shutdown_line(serve: Callable[..., ServeProcess]) -> None:
    server = serve("--port", "0")
    with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
        reader = sock.makefile("r", encoding="utf-8")
        sock.sendall(b"Dave\n")
        while "Dave has joined the chat!" not in reader.readline():
            pass
        server.proc.send_signal(signal.SIGTERM)
        rest = reader.read()  # up to EOF: the server closes the connection
    assert "shutting down" in rest.lower()
    assert server.proc.wait(timeout=2.0) == 0


def test_serve_on_a_busy_port_fails_with_one_line(serve: Callable[..., ServeProcess]) -> None:
    first = serve("--port", "0")
    result = run_cli("serve", "--port", str(first.port))
    assert result.returncode != 0
    assert_one_error_line(result.stderr, str(first.port), "in use")
    assert "Server is running" not in result.stdout
    assert first.proc.poll() is None  # the first server is unharmed

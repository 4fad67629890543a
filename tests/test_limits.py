"""Per-address connection limits: how many at once, and how fast."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable

import pytest

from messenger.client import Client, ConnectionClosed
from messenger.protocol import Left

from .clitools import assert_one_error_line, run_cli
from .conftest import ServerThread

WAIT = 5.0


def refused(port: int) -> bool:
    """True when the server closes a new connection at once, without a word."""
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
        sock.sendall(b'{"type":"hello","user":"probe"}\n')
        try:
            return sock.recv(100) == b""
        except ConnectionResetError:
            return True


def test_connections_from_one_address_are_capped(make_server: Callable[..., ServerThread]) -> None:
    server = make_server(max_per_ip=3, conn_rate=0)
    first, second, third = (Client.connect("127.0.0.1", server.port, timeout=WAIT) for _ in range(3))
    try:
        for number, client in enumerate((first, second, third)):
            client.login(f"user{number}")
        assert refused(server.port)
        with (
            Client.connect("127.0.0.1", server.port, timeout=WAIT) as fourth,
            pytest.raises(ConnectionClosed),
        ):
            fourth.login("user3", timeout=WAIT)
        third.close()
        while not isinstance(frame := first.receive(timeout=WAIT), Left) or frame.user != "user2":
            pass
        # The place is given back when the handler thread ends, just after the announcement.
        deadline = time.monotonic() + WAIT
        while True:
            again = Client.connect("127.0.0.1", server.port, timeout=WAIT)
            try:
                again.login("user3")
                break
            except ConnectionClosed:
                assert time.monotonic() < deadline, "a freed place was not given back"
            finally:
                again.close()
    finally:
        for client in (first, second, third):
            client.close()


def test_new_connections_are_rate_limited_after_a_burst(make_server: Callable[..., ServerThread]) -> None:
    server = make_server(max_per_ip=4, conn_rate=1)
    for number in range(4):  # the burst
        with Client.connect("127.0.0.1", server.port, timeout=WAIT) as client:
            client.login(f"quick{number}")
            client.bye()
    assert refused(server.port)
    deadline = time.monotonic() + WAIT
    while refused(server.port):  # one more a second comes back
        assert time.monotonic() < deadline, "the allowance never came back"


def test_refusals_are_logged_once_per_address(
    make_server: Callable[..., ServerThread], caplog: pytest.LogCaptureFixture
) -> None:
    server = make_server(max_per_ip=1, conn_rate=0)
    with (
        caplog.at_level(logging.WARNING, logger="messenger"),
        Client.connect("127.0.0.1", server.port, timeout=WAIT) as holder,
    ):
        holder.login("holder")
        for _ in range(5):
            assert refused(server.port)
    warnings = [r.getMessage() for r in caplog.records if "refusing connections" in r.getMessage()]
    assert warnings == ["refusing connections from 127.0.0.1: more than 1 connections at once"]


def test_connect_explains_a_refused_connection(make_server: Callable[..., ServerThread]) -> None:
    server = make_server(max_per_ip=1, conn_rate=0)
    with Client.connect("127.0.0.1", server.port, timeout=WAIT) as holder:
        holder.login("holder")
        result = run_cli("connect", "--port", str(server.port), "--user", "bot", input="hi\n")
    assert result.returncode == 1
    assert_one_error_line(result.stderr, "closed the connection")


def test_defaults_let_a_crowd_reconnect_at_once(make_server: Callable[..., ServerThread]) -> None:
    """64 people behind one address, all reconnecting together after a restart, get in."""
    server = make_server(max_per_ip=64, conn_rate=10.0)
    clients = []
    try:
        for number in range(64):
            client = Client.connect("127.0.0.1", server.port, timeout=WAIT)
            client.login(f"person{number}")
            clients.append(client)
    finally:
        for client in clients:
            client.close()

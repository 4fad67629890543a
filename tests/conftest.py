"""Shared fixtures: a real ChatServer on a loopback port chosen by the OS, and raw clients.

Tests synchronise on what arrives over the socket (a line, a frame), never on sleeps; every
read has a deadline so a missing line fails the test instead of hanging it.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from messenger.client import Client
from messenger.core.accounts import Accounts
from messenger.core.moderation import Moderation
from messenger.core.store import SQLiteStore
from messenger.server import ChatServer, ServerConfig

from .clitools import ServeProcess, login

READ_TIMEOUT = 5.0

# Property-based tests explore new examples on every local run (and keep failing ones in
# .hypothesis/); CI runs the same examples every time, so a submission's result does not depend
# on the luck of the draw.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")


class ServerThread:
    """A ChatServer serving in a background thread, with what it was given (a history store,
    accounts, a TLS context); ``stop()`` is idempotent and closes the store and accounts too."""

    def __init__(
        self,
        config: ServerConfig,
        port: int = 0,
        store: SQLiteStore | None = None,
        accounts: Accounts | None = None,
        tls: ssl.SSLContext | None = None,
        moderation: Moderation | None = None,
    ) -> None:
        self.store = store
        self.accounts = accounts
        self.server = ChatServer(
            ("127.0.0.1", port), config, store=store, accounts=accounts, tls=tls, moderation=moderation
        )
        self.moderation = self.server.moderation
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.daemon = True
        self.thread.start()
        self.stopped = False

    @property
    def port(self) -> int:
        return self.server.port

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self.server.stop()
            self.thread.join(timeout=5)
            if self.store is not None:
                self.store.close()
            if self.accounts is not None:
                self.accounts.close()
            self.moderation.close()


def stored_server(
    path: Path, port: int = 0, clock: Callable[[], float] = time.time, **config: Any
) -> ServerThread:
    """A server keeping its history, accounts and moderation in the SQLite file ``path``;
    ``clock`` is the moderation's (bans and mutes expire by it)."""
    config.setdefault("max_rate", 0)
    return ServerThread(
        ServerConfig(**config),
        port,
        store=SQLiteStore(path),
        accounts=Accounts(path),
        moderation=Moderation(path, clock=clock),
    )


class RawClient:
    """A plain socket speaking lines: for text mode, hand-made JSON, and hostile bytes."""

    def __init__(self, port: int, source: str | None = None) -> None:
        """``source``: the local address to connect from (any of 127.0.0.0/8 works on Linux)."""
        bind = None if source is None else (source, 0)
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT, source_address=bind)
        self.buffer = b""

    def send(self, data: bytes | str) -> None:
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def send_json(self, obj: dict[str, Any]) -> None:
        self.send(json.dumps(obj) + "\n")

    def line(self, timeout: float = READ_TIMEOUT) -> str:
        """The next line (without its end); fails the test if none arrives in time."""
        self.sock.settimeout(timeout)
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(f"connection closed; unfinished data {self.buffer!r}")
            self.buffer += chunk
        raw, _, self.buffer = self.buffer.partition(b"\n")
        return raw.decode("utf-8")

    def frame(self, timeout: float = READ_TIMEOUT) -> dict[str, Any]:
        return json.loads(self.line(timeout))

    def until(self, predicate: Callable[[str], bool], limit: int = 1000) -> list[str]:
        """Lines up to and including the first one matching ``predicate``."""
        seen = []
        for _ in range(limit):
            seen.append(self.line())
            if predicate(seen[-1]):
                return seen
        raise AssertionError(f"no matching line among {seen[-5:]}")

    def closed(self, timeout: float = READ_TIMEOUT) -> bool:
        """True once the server has closed the connection (lines before that are skipped)."""
        self.sock.settimeout(timeout)
        try:
            while self.sock.recv(65536):
                pass
        except ConnectionResetError:
            pass
        return True

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def make_server() -> Iterator[Callable[..., ServerThread]]:
    """Start servers with a given config (flood control off unless asked for)."""
    servers: list[ServerThread] = []

    def start(**overrides: Any) -> ServerThread:
        overrides.setdefault("max_rate", 0)
        server = ServerThread(ServerConfig(**overrides))
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def server(make_server: Callable[..., ServerThread]) -> ServerThread:
    return make_server()


@pytest.fixture
def raw(server: ServerThread) -> Iterator[Callable[[], RawClient]]:
    """Open raw connections to ``server``; all are closed after the test."""
    opened: list[RawClient] = []

    def open_raw() -> RawClient:
        client = RawClient(server.port)
        opened.append(client)
        return client

    yield open_raw
    for client in opened:
        client.close()


@pytest.fixture
def connect(server: ServerThread) -> Iterator[Callable[..., Client]]:
    """Open library clients to ``server``, logged in when given a name."""
    opened: list[Client] = []

    def open_client(user: str | None = None, **login: Any) -> Client:
        client = Client.connect("127.0.0.1", server.port, timeout=READ_TIMEOUT)
        opened.append(client)
        if user is not None:
            client.login(user, **login)
        return client

    yield open_client
    for client in opened:
        client.close()


@pytest.fixture
def clients() -> Iterator[Callable[[int, str], Client]]:
    """Log in library clients (closed after the test)."""
    opened: list[Client] = []

    def open_client(port: int, user: str) -> Client:
        client = login(port, user)
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        client.close()


@pytest.fixture
def serve() -> Iterator[Callable[..., ServeProcess]]:
    """Start ``messenger serve`` children; any still running at the end are killed."""
    started: list[ServeProcess] = []

    def start(*args: str) -> ServeProcess:
        process = ServeProcess(*args)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def started() -> Iterator[list[ServerThread]]:
    """Servers a test starts itself (with its own settings), stopped when the test ends."""
    servers: list[ServerThread] = []
    yield servers
    for server in servers:
        server.stop()

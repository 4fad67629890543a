"""``serve``'s ports: the chat port held while the database opens (so a busy port is said before
anything about the database), the chat server and the web page on their ports, and one clear
line when a port cannot be had."""

from __future__ import annotations

import contextlib
import errno
import socket
import ssl
from collections.abc import Iterator

import typer

from ..core.accounts import Accounts
from ..core.store import Retention, SQLiteStore
from ..server import ChatServer, ServerConfig
from .env import fail
from .serve_files import open_database, open_moderation
from .serve_web import open_web_port


def open_chat_server(
    host: str,
    port: int,
    config: ServerConfig,
    tls: ssl.SSLContext | None,
    db_path: str,
    retention: Retention,
) -> tuple[ChatServer, SQLiteStore, Accounts]:
    """The database, then the chat server on its port; the port is held first, because a busy
    port is the first thing to say, before the database. A failure to listen closes the store."""
    with reserve_port(host, port):
        store, accounts = open_database(db_path, retention)
        moderation = open_moderation(db_path, store)
    try:
        server = ChatServer(
            (host, port), config, store=store, tls=tls, accounts=accounts, moderation=moderation
        )
    except OSError as exc:
        store.close()
        raise listen_failure(host, port, exc) from None
    return server, store, accounts


def open_web(
    server: ChatServer,
    store: SQLiteStore,
    host: str,
    port: int,
    origins: list[str] | None,
    metrics: bool = True,
) -> str:
    """The web page's port (with ``/metrics`` unless told not to) and its URL; a failure to
    listen closes the chat port and the store."""
    try:
        return open_web_port(server, host, port, origins, metrics=metrics)
    except OSError as exc:
        server.server_close()
        store.close()
        raise listen_failure(host, port, exc, "--web-port (or --no-web)") from None


def listen_failure(host: str, port: int, exc: OSError, option: str = "--port") -> typer.Exit:
    if exc.errno == errno.EADDRINUSE:
        return fail(
            f"cannot listen on {host}:{port}: the port is in use (is another server running? "
            f"choose another with {option})"
        )
    reason = str(exc.strerror or exc).split(" (while attempting")[0]  # create_server's addition
    return fail(f"cannot listen on {host}:{port}: {reason}")


@contextlib.contextmanager
def reserve_port(host: str, port: int) -> Iterator[None]:
    """Hold ``host:port`` while the body runs (the server binds it again right after), so that a
    second server on a busy port is told about the port, not about the database the first holds.
    The port is bound, never listened on: a client connecting meanwhile is refused (and tries
    again), not accepted into a backlog and then reset."""
    if port == 0:
        yield  # any free port: nothing can be busy
        return
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        probe = socket.socket(family, socket.SOCK_STREAM)
    except OSError as exc:
        raise listen_failure(host, port, exc) from None
    try:
        # As the server does: SO_REUSEADDR binds past connections in TIME_WAIT, never past a
        # socket that listens.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
    except OSError as exc:
        probe.close()
        raise listen_failure(host, port, exc) from None
    try:
        yield
    finally:
        probe.close()

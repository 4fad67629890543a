"""What the IRC port's tests share: a server with its IRC port (and IRC over TLS) open on
loopback, a raw IRC client that reads CRLF lines with deadlines, and jaraco's ``irc`` library
driven in the test's own thread (its Reactor, stepped until an awaited event arrives)."""

from __future__ import annotations

import base64
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

import irc.client

from messenger.core.accounts import Accounts
from messenger.core.moderation import Moderation
from messenger.core.store import SQLiteStore
from messenger.server import ChatServer, ServerConfig

from .conftest import READ_TIMEOUT, RawClient, ServerThread


class IRCServer(ServerThread):
    """A ServerThread whose server also listens for IRC (``irc_port``) and, with ``tls``, for
    IRC over TLS (``irc_tls_port``)."""

    def __init__(
        self,
        config: ServerConfig,
        store: SQLiteStore | None = None,
        accounts: Accounts | None = None,
        tls: ssl.SSLContext | None = None,
        moderation: Moderation | None = None,
    ) -> None:
        self.store, self.accounts = store, accounts
        self.server = ChatServer(
            ("127.0.0.1", 0), config, store=store, accounts=accounts, tls=tls, moderation=moderation
        )
        self.moderation = self.server.moderation
        self.irc_port = self.server.open_irc(("127.0.0.1", 0))
        self.irc_tls_port = self.server.open_irc(("127.0.0.1", 0), tls=True) if tls is not None else 0
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.daemon = True
        self.thread.start()
        self.stopped = False


class IRCRaw(RawClient):
    """A raw IRC client: lines end with CRLF, read with a deadline."""

    def __init__(self, port: int, source: str | None = None) -> None:
        super().__init__(port, source)

    def send(self, data: bytes | str) -> None:
        text = data if isinstance(data, bytes) else data.encode()
        super().send(text if text.endswith(b"\n") else text + b"\r\n")

    def line(self, timeout: float = READ_TIMEOUT) -> str:
        return super().line(timeout).removesuffix("\r")

    def command(self, word: str) -> list[str]:
        """The lines up to the first whose command (or numeric) is ``word``."""
        return self.until(lambda line: command_of(line) == word, limit=100_000)

    def register(self, nick: str, *first: str) -> list[str]:
        """Register as ``nick`` (after the lines ``first``: CAP, PASS...); the lines up to the
        lobby's end of names."""
        for line in first:
            self.send(line)
        self.send(f"NICK {nick}")
        self.send(f"USER {nick} 0 * :{nick}")
        return self.command("366")


def command_of(line: str) -> str:
    words = line.split(" ")
    if words and words[0].startswith("@"):
        words = words[1:]
    if words and words[0].startswith(":"):
        words = words[1:]
    return words[0] if words else ""


def sasl_plain(account: str, password: str) -> str:
    return base64.b64encode(f"\0{account}\0{password}".encode()).decode()


class LibClient:
    """jaraco's ``irc`` client library, one connection, stepped in the test's thread."""

    def __init__(self, port: int, nick: str, password: str | None = None, **connect: Any) -> None:
        self.reactor = irc.client.Reactor()
        self.events: list[irc.client.Event] = []
        self.reactor.add_global_handler("all_events", lambda _conn, event: self.events.append(event), -10)
        self.conn = self.reactor.server().connect("127.0.0.1", port, nick, password=password, **connect)
        self.seen = 0

    def wait(self, kind: str, where: Callable[[irc.client.Event], bool] = lambda e: True) -> irc.client.Event:
        """The next event of ``kind`` (e.g. ``pubmsg``, ``namreply``) that ``where`` accepts."""
        deadline = time.monotonic() + READ_TIMEOUT
        while time.monotonic() < deadline:
            while self.seen < len(self.events):
                event = self.events[self.seen]
                self.seen += 1
                if event.type == kind and where(event):
                    return event
            self.reactor.process_once(0.05)
        kinds = [event.type for event in self.events[-10:]]
        raise AssertionError(f"no {kind} event; the last were {kinds}")

    def close(self) -> None:
        self.conn.close()

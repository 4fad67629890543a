"""ChatServer: the chat port, whose connections are accepted and read by one reader loop
(readers.ReaderLoop, each connection a looped.LoopConnection), not a thread apiece.

ChatServer owns the listening socket, the Registry of logged-in members, the set of open
connections (for login time-outs and shutdown), the ChatLog whose Flusher thread writes every
connection's output, and the configuration (config.ServerConfig).  The server knows no
terminal: it logs through ``logging`` and never prints.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import socketserver
import ssl
import threading
import time

from .._version import __version__
from ..core.accounts import Accounts
from ..core.moddb import ModerationError
from ..core.moderation import Moderation
from ..core.registry import Registry
from ..core.store import MessageStore
from ..protocol.codec import encode
from ..protocol.frames import Error, ErrorCode, Shutdown
from .config import ServerConfig
from .counters import ReaderStats
from .delivery import ChatLog
from .handler import ChatConnection
from .ircport import IRCLoopConnection
from .limits import AddressLimits, CheckGate
from .looped import LoopConnection
from .memory import TRIM_EVERY, release_free_memory
from .outlet import LogOutlet
from .readers import Listener, ReaderLoop
from .web import WebPort
from .webpages import Pages
from .webport import WebConnection

log = logging.getLogger(__name__)

# How often (seconds) bans and mutes whose time is over are removed.
EXPIRE_EVERY = 60.0
# How often (seconds) the per-address limits drop what they no longer need (a pass over every
# address seen): memory only, so not at every tick.
FORGET_EVERY = 10.0


class ChatServer(socketserver.TCPServer):
    """A chat server: one reader loop accepts and reads every connection; one Flusher thread
    writes.  (socketserver gives it the listening socket; its serve_forever is the loop's.)

    Callers use ``serve_forever`` (in any thread), ``stop`` (from another thread), ``port``
    and ``registry``.
    """

    allow_reuse_address = True  # restart on the same port at once (SO_REUSEADDR)
    # A burst of logins must not overflow the backlog: a connection dropped from a full one is
    # reset, without a word, once the kernel's SYN cookies for it fail.  Linux caps it at
    # net.core.somaxconn (4096 by default; docs/operations.md).
    request_queue_size = 4096

    def __init__(
        self,
        address: tuple[str, int],
        config: ServerConfig | None = None,
        bind_and_activate: bool = True,
        store: MessageStore | None = None,
        tls: ssl.SSLContext | None = None,
        accounts: Accounts | None = None,
        moderation: Moderation | None = None,
    ) -> None:
        self.config = config or ServerConfig()
        self.tls = tls
        self.accounts = accounts
        self.chat_log = ChatLog(self.config.gather)
        self.store = store
        self.registry = Registry(
            f"messenger/{__version__}",
            LogOutlet(self.chat_log),
            max_members=self.config.max_clients,
            store=store,
            moderation=moderation,
            crowd=self.config.crowd,
        )
        self.moderation = self.registry.moderation
        self.web: WebPort | None = None  # the web port, once open_web ran
        self._expired_at = time.monotonic()
        self._trimmed_at = time.monotonic()  # accept thread only
        self._presence_at = time.monotonic()  # the last crowd summary (accept thread only)
        self.stopping = threading.Event()
        self._connections: set[ChatConnection] = set()
        # The tracked connections the housekeeping must look at: not logged in yet (a login
        # time-out) or closing (a grace to enforce).  A tick costs O(these), not O(everyone):
        # at 10,000 members, a pass over all of them five times a second was the loop's.
        self._watched: set[ChatConnection] = set()
        self._connections_lock = threading.Lock()  # both sets
        self._forgot_at = time.monotonic()  # reader loop only: the limits' last forget_quiet
        self.limits = AddressLimits(self.config.max_per_ip, self.config.conn_rate)
        self.password_checks = CheckGate()
        self.reader_stats = ReaderStats()
        # Imported here: prometheus_client is for a running server, not for every command line
        # that imports this module (connect, send, users would start 0.1 s slower).
        from .metrics import ServerMetrics

        self.metrics = ServerMetrics(self)  # GET /metrics on the web port
        self._serving = False
        try:
            super().__init__(address, LoopConnection, bind_and_activate)  # type: ignore[arg-type]
        except BaseException:
            self.chat_log.stop()
            raise
        self.loop = ReaderLoop(self)
        self.irc_sockets: list[socket.socket] = []  # the IRC ports' (open_irc)

    def open_irc(self, address: tuple[str, int], tls: bool = False) -> int:
        """Listen for IRC clients on ``address`` too (over TLS with the server's certificate when
        ``tls``), accepted and read by the same reader loop; returns the port.  Call before
        ``serve_forever``; raises OSError when the address cannot be had."""
        context = self.tls if tls else None
        if tls and context is None:
            raise ValueError("IRC over TLS needs the server's certificate")
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        sock = socket.create_server(address, family=family, backlog=self.request_queue_size)
        self.irc_sockets.append(sock)
        make = lambda s, a: IRCLoopConnection(s, a, self, self.loop, context)  # noqa: E731
        self.loop.add_listener(Listener(sock, make))
        return int(sock.getsockname()[1])

    def server_close(self) -> None:
        super().server_close()
        for sock in self.irc_sockets:
            sock.close()
        if self.web is not None:
            self.web.close()

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Accept, read and act on every connection in this thread (the reader loop), calling
        ``service_actions`` every ``poll_interval`` seconds, until ``stop``."""
        self._serving = True
        self.loop.run(poll_interval)

    def shutdown(self) -> None:
        """End ``serve_forever`` (from another thread) and wait for it, as socketserver's."""
        self.loop.stop()
        if self._serving:
            self.loop.finished.wait()

    @property
    def host(self) -> str:
        return str(self.server_address[0])

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    # -- connection tracking ------------------------------------------------------------------

    def track(self, handler: ChatConnection) -> None:
        with self._connections_lock:
            self._connections.add(handler)
            self._watched.add(handler)
        self.reader_stats.connection(self.transport_of(handler), 1)
        if self.stopping.is_set():
            handler.abort()

    def untrack(self, handler: ChatConnection) -> None:
        with self._connections_lock:
            tracked = handler in self._connections
            self._connections.discard(handler)
            self._watched.discard(handler)
        if tracked:
            self.reader_stats.connection(self.transport_of(handler), -1)

    def transport_of(self, handler: ChatConnection) -> str:
        """How ``handler``'s connection came, as the metrics name it: tcp, tls, web, irc or
        ircs (IRC over TLS)."""
        if isinstance(handler, WebConnection):
            return "web"
        if isinstance(handler, IRCLoopConnection):
            return "irc" if handler.tls_context is None else "ircs"
        return "tcp" if self.tls is None else "tls"

    def connections(self) -> list[ChatConnection]:
        with self._connections_lock:
            return list(self._connections)

    def settled(self, handler: ChatConnection) -> None:
        """``handler`` logged in: no login time-out to watch for any more."""
        with self._connections_lock:
            if handler.closing_at is None:
                self._watched.discard(handler)

    def watch(self, handler: ChatConnection) -> None:
        """``handler`` is closing: watch its grace (any thread; never blocks for long)."""
        with self._connections_lock:
            if handler in self._connections:
                self._watched.add(handler)

    def watched(self) -> list[ChatConnection]:
        """The connections not logged in yet or closing (see ``_watched``)."""
        with self._connections_lock:
            return list(self._watched)

    # -- socketserver hooks -------------------------------------------------------------------

    def verify_request(self, request: object, client_address: object) -> bool:
        """Turn away a connection over the per-address limits: closed at once, before anything
        is set up for it (and, as the protocol says, without a word before its first
        line)."""
        address = client_address[0] if isinstance(client_address, tuple) else client_address
        ban = self.moderation.bans.check_address(str(address))
        if ban is not None:
            refuse_banned(request)
            self.limits.refused(str(address), f"banned ({ban.target.shown})")
            return False
        return self.limits.admit(request, str(address))

    def shutdown_request(self, request: object) -> None:
        self.limits.release(request)
        super().shutdown_request(request)  # type: ignore[arg-type]

    def expects_password(self, name: str) -> bool:
        """Whether a login as ``name`` needs a password: a registered name, ``--auth required``
        or a server password."""
        if self.config.password is not None or self.config.auth == "required":
            return True
        return self.accounts is not None and self.accounts.lookup(name) is not None

    def _expire_moderation(self) -> None:
        """Forget the bans and mutes whose time is over (checks already ignore them)."""
        try:
            bans, mutes = self.moderation.expire()
        except ModerationError as exc:
            log.error("could not remove expired bans and mutes: %s", exc)
            return
        for ban in bans:
            log.info("the ban of %s expired", ban.target.shown)
        for mute in mutes:
            log.info("the mute of %s expired", mute.name)

    def service_actions(self) -> None:
        """Runs in the serve_forever loop once per poll interval: tell crowded rooms who came and
        went, close logins that took too long and connections that were asked to close but whose
        peer does not read."""
        now = time.monotonic()
        if now - self._presence_at >= self.config.presence_interval:
            self._presence_at = now
            self.registry.announce_presence()
        if now - self._forgot_at >= FORGET_EVERY:  # O(addresses): not at every tick
            self._forgot_at = now
            self.limits.forget_quiet()
        if now - self._expired_at > EXPIRE_EVERY:
            self._expired_at = now
            self._expire_moderation()
        if now - self._trimmed_at > TRIM_EVERY:
            self._trimmed_at = now
            release_free_memory()
        for handler in self.watched():
            if handler.closing_at is not None:
                if now - handler.closing_at > self.config.shutdown_grace:
                    handler.abort()
            elif handler.logged_in:
                self.settled(handler)
            elif handler.login_overdue(now):
                log.info("closing %s: no login within %g s", handler.address, self.config.login_timeout)
                if handler.member is not None:
                    handler.error(ErrorCode.LOGIN_TIMEOUT, "no login within the time allowed; goodbye")
                handler.close()

    def handle_error(self, request: object, client_address: object) -> None:
        """A bug in a handler: log it (traceback at debug level) instead of printing it."""
        log.error("internal error with %s", client_address, exc_info=log.isEnabledFor(logging.DEBUG))

    # -- stopping -----------------------------------------------------------------------------

    def open_web(
        self,
        address: tuple[str, int],
        origins: tuple[str, ...] = (),
        pages: Pages | None = None,
        metrics: bool = True,
    ) -> WebPort:
        """Listen for the web page and its WebSocket on ``address`` too (and ``/metrics``, unless
        ``metrics`` is False), accepted and read by the reader loop (before ``serve_forever`` or
        while it runs); raises OSError when the address cannot be had."""
        self.web = WebPort(self, address, origins, pages, metrics)
        self.loop.add_listener(self.web.listener())
        return self.web

    def stop(self, message: str = Shutdown.message) -> None:
        """Stop accepting, send every client the shutdown frame, close every socket.

        Call from a thread other than the one running serve_forever.  Returns within about
        ``shutdown_grace`` seconds however the clients behave.
        """
        self.stopping.set()
        if self._serving:  # the loop lets go of the listening socket, then it is closed
            self.loop.stop_accepting()
            self.loop.not_accepting.wait(self.config.shutdown_grace)
        self.server_close()
        self.registry.close_all()
        handlers = self.connections()
        frame = Shutdown(message=message)
        for handler in handlers:
            if handler.outbox is not None:  # it said something, so it gets a goodbye
                handler.send(frame)
            handler.close()
        deadline = time.monotonic() + self.config.shutdown_grace
        outboxes = [h.outbox for h in handlers if h.outbox is not None]
        for handler in handlers:
            if handler.outbox is not None:
                handler.outbox.released.wait(max(0.0, deadline - time.monotonic()))
            handler.abort()
        for outbox in outboxes:
            outbox.released.wait(max(0.0, deadline + 0.5 - time.monotonic()))
        self.loop.stop()  # it closes what is left
        if self.loop.finished.wait(self.config.shutdown_grace):
            self.loop.close()
        self.chat_log.stop()
        self.password_checks.close()
        log.info("server stopped")


def refuse_banned(request: object) -> None:
    """One line for a banned address, sent without waiting (the accept thread must never block);
    then socketserver closes the connection.  JSON, which people can read too: the mode is not
    known before the client's first line."""
    message = "your address is banned from this server"
    line = encode(Error(code=ErrorCode.BANNED.value, message=message))
    if isinstance(request, socket.socket):
        with contextlib.suppress(OSError):
            request.send(line, socket.MSG_DONTWAIT)

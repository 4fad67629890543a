"""LoopConnection: a chat-port connection driven by the reader loop (readers.py) instead of a
thread of its own.  Everything it does is the ChatConnection's (handler.py); what is here is
only the driving, in steps that never block the loop:

- the first bytes tell TLS from plain text (as the threaded transport's peek does);
- a TLS handshake runs step by step over the channel's memory buffers, with a deadline timer;
- each complete line is charged to flood control; a line over the rate is held and the
  connection is *paused* (not read, its buffered lines not acted on) until a timer says;
- a ``hello`` with a password is acted on by a login worker (the check takes scrypt's time and
  may wait for the check gate), the connection paused meanwhile; then its next lines follow;
- ``end`` starts the close (untrack, departure, the outbox closed); the loop finishes it once
  the Flusher released the outbox or the grace passed.

Every method runs in the loop thread, except ``_work`` (a login worker, while the loop leaves
the connection alone: ``working`` is set)."""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import time
from typing import TYPE_CHECKING

from ..protocol.connection import Event, Request
from ..protocol.frames import Hello
from ..protocol.lines import EOF, NEED_DATA
from ..protocol.moderation import (
    Allow,
    Ban,
    BansRequest,
    Disallow,
    Ignore,
    Kick,
    ModeRequest,
    Mute,
    RoleRequest,
    Unban,
    Unignore,
    Unmute,
    WhoisRequest,
)
from ..tls import TLS_HANDSHAKE_BYTE, TLSChannel, TLSError, looks_like_tls
from .counters import READ_TIME
from .handler import ChatConnection
from .transport import RECV_SIZE, plaintext_refusal

if TYPE_CHECKING:
    from .readers import ReaderLoop, Timer
    from .tcp import ChatServer

log = logging.getLogger("messenger.server.handler")

START, HANDSHAKE, READING = "start", "handshake", "reading"

# The requests whose step reads the database (an operator's role, read anew each time; the ban
# list's rows) or writes it (bans, mutes, remembered ignores, roles, the audit trail), for a
# member with an account: acted on by a login worker, the connection paused meanwhile, as a
# password check is, so that a slow disk or a busy database stops only the one who asked, never
# the loop.
DATABASE_STEPS = frozenset(
    {
        Kick,
        Ban,
        Unban,
        BansRequest,
        Mute,
        Unmute,
        RoleRequest,
        WhoisRequest,
        ModeRequest,
        Allow,
        Disallow,
        Ignore,
        Unignore,
    }
)


class LoopConnection(ChatConnection):
    """One chat-port connection in the reader loop (see the module's docstring)."""

    def __init__(
        self,
        sock: socket.socket,
        client_address: tuple[str, int],
        server: ChatServer,
        loop: ReaderLoop,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.request = sock
        self.tls_context = tls  # fixed: the port's TLS (the chat port's is the server's)
        self.client_address = client_address
        self.server = server
        self.loop = loop
        sock.setblocking(False)  # the Flusher sends with MSG_DONTWAIT either way
        # The loop's only (a login worker's while ``working``):
        self.phase = START
        self._start = b""  # the first bytes, until they tell TLS from plain text
        self._tls: TLSChannel | None = None  # the channel while its handshake runs
        self.held: Event | None = None  # a line charged to flood control, waiting for its time
        self.timer: Timer | None = None  # the flood-control pause or the handshake deadline
        self.reading = False  # registered with the loop's selector for input
        self.working = False  # a login worker acts on a line of it
        self.failed = False  # the login worker's step raised
        self.ended = False
        self.setup()
        self.want_input(True)

    # -- input ----------------------------------------------------------------------------------

    def on_readable(self) -> None:
        """The selector says there is input (or the peer closed)."""
        try:
            data = self.request.recv(RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        READ_TIME.at = time.monotonic()  # metrics: a message's fan-out latency starts here
        if self.phase is READING:
            self._received(data)
        elif self.phase is START:
            self._begin(data)
        else:
            self._handshake(data)

    def _received(self, data: bytes) -> None:
        if self.channel is not None:
            try:
                plain = self.channel.decrypt(data)
            except TLSError:
                plain = data = b""
            if data and not plain:
                return  # TLS records without application data
            data = plain
        self.connection.receive_data(data)
        self.run()

    def run(self) -> None:
        """Act on the complete lines, in order, until input runs out, the connection pauses
        (flood control, a password check) or it ends."""
        while self.closing_at is None:
            event = self.held
            if event is None:
                event = self.connection.next_event()
                if event is NEED_DATA:
                    self.want_input(True)
                    return
                if event is EOF:
                    break
                delay = self.bucket.delay() if getattr(event, "charge", True) else 0.0
                if delay:
                    self.server.reader_stats.flood_delayed(delay)
                    self.held = event
                    self.want_input(False)
                    self.timer = self.loop.call_later(delay, self._resume, self)
                    return
            self.held = None
            if self._needs_check(event):
                self._check_off_loop(event)
                return
            self._act(event)
        self.end()

    def _resume(self) -> None:
        """Flood control's pause is over (the wait is policy, not fan-out latency)."""
        self.timer = None
        if self.server.stopping.is_set():
            self.end()
            return
        READ_TIME.at = time.monotonic()
        self.run()

    def want_input(self, wanted: bool) -> None:
        if wanted != self.reading and not self.ended:
            self.reading = wanted
            self.loop.watch(self, wanted)

    # -- the first bytes and the TLS handshake ---------------------------------------------------

    def _begin(self, data: bytes) -> None:
        """Plain text or TLS, by the first two bytes (one when the first cannot begin TLS)."""
        if not data:
            self.end()
            return
        self._start += data
        start = self._start
        if start[0] == TLS_HANDSHAKE_BYTE and len(start) < 2:
            return
        self._start = b""
        if self.tls_context is None:
            if looks_like_tls(start):
                log.info("%s tried TLS on a plain port; closed", self.address)
                self.end()
                return
            self.phase = READING
            self._received(start)
            return
        if not looks_like_tls(start):
            self.refuse_plaintext(start[0])
            self.end()
            return
        self._tls = TLSChannel(self.tls_context, server_side=True)
        self.phase = HANDSHAKE
        self.timer = self.loop.call_later(self.server.config.handshake_timeout, self._handshake_overdue, self)
        self._handshake(start)

    def refuse_plaintext(self, first: int) -> None:
        """Plaintext on a TLS port: one answer the client can read, sent without waiting."""
        with contextlib.suppress(OSError):
            self.request.send(plaintext_refusal(first))  # short: the kernel takes it
        log.info("%s spoke plaintext to the TLS port; closed", self.address)

    def _handshake(self, data: bytes) -> None:
        assert self._tls is not None
        try:
            done, out = self._tls.handshake_step(data)
            if out and self.request.send(out) < len(out):
                raise TLSError("the peer does not take the handshake's bytes")
        except (TLSError, OSError) as exc:
            log.info("TLS handshake with %s failed: %s", self.address, exc)
            self.end()
            return
        if not done:
            return
        self._cancel_timer()
        self.channel, self._tls = self._tls, None
        self.phase = READING
        log.debug("TLS with %s: %s", self.address, self.channel.version)
        early = self.channel.decrypt(None)  # lines that came with the end of the handshake
        if early:
            self.connection.receive_data(early)
            self.run()

    def _handshake_overdue(self) -> None:
        self.timer = None
        log.info("TLS handshake with %s failed: it took too long", self.address)
        self.end()

    # -- a password check, off the loop -----------------------------------------------------------

    def _needs_check(self, event: Event) -> bool:
        """A login that gives a password, or a request whose step reads or writes the database:
        neither the check nor the disk must stop the loop."""
        if not isinstance(event, Request):
            return False
        if isinstance(event.frame, Hello):
            return event.frame.password is not None and not self.logged_in
        return type(event.frame) in DATABASE_STEPS and self.has_account()

    def has_account(self) -> bool:
        """Logged in with an account: only then do the DATABASE_STEPS touch the database (a
        guest has no role to read and no ignores to remember)."""
        return self.logged_in and self.member is not None and self.member.account is not None

    def _check_off_loop(self, event: Event) -> None:
        """Pause the connection and let a login worker act on ``event``; the login clock
        stands still meanwhile, as while any login line is acted on."""
        self.want_input(False)
        self.working = True
        self.acting_since = self.check_since = time.monotonic()
        self.loop.submit(self, lambda: self._work(event), self._worked)

    def _work(self, event: Event) -> None:
        """In a login worker: the same step the loop would take (the gate's wait counts from
        ``check_since``)."""
        try:
            self._perform(event)
        except Exception:
            log.error("internal error with %s", self.address, exc_info=log.isEnabledFor(logging.DEBUG))
            self.failed = True

    def _worked(self) -> None:
        """Back in the loop: go on with the connection's next lines."""
        assert self.acting_since is not None
        self.login_deadline += time.monotonic() - self.acting_since  # first the deadline, then:
        self.acting_since = self.check_since = None
        self.working = False
        if self.failed:
            self.abort()
            self.end()
            return
        READ_TIME.at = time.monotonic()
        self.run()

    # -- ending -------------------------------------------------------------------------------------

    def end(self) -> None:
        """Start closing, once: untrack, announce the departure, close the outbox (a last error
        or goodbye goes out); the loop finishes (readers.ReaderLoop.finish_closing)."""
        if self.ended:
            return
        self.want_input(False)
        self.ended = True
        self._cancel_timer()
        self.closing_at = self.closing_at or time.monotonic()
        try:
            self.server.untrack(self)
            self._announce_departure()
        finally:
            self.loop.closing(self)  # the descriptor and the address's count are given back

    def fail(self) -> None:
        """A step raised (a bug, never the client's bytes): cut the connection, go on."""
        self.abort()
        self.end()

    def _cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancelled = True
            self.timer = None

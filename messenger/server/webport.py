"""WebConnection: a web-port connection driven by the reader loop (readers.py), as the chat and
IRC ports' are.  Its protocol is a ``websession.WebSession`` (an HTTP head read with h11, then
WebSocket with wsproto, each text message one line for a ServerConnection in JSON mode); what
is here is the driving, in steps that never block the loop:

- TLS and its step-by-step handshake are the LoopConnection's (plaintext on an HTTPS port gets
  one HTTP 400); the request head must be whole within ``handshake_timeout`` of the connection
  being ready for it (a timer): a slow-loris costs a timer and its bytes, not a thread;
- a page (``webpages.Pages``) is answered at once; ``/metrics`` is made on a login worker (a
  scrape reads ``/proc`` and formats every figure: milliseconds that the loop does not wait
  for); an HTTP answer is written without blocking, the socket watched for writing while the
  kernel does not take it all, within ``handshake_timeout``; then the connection closes;
- ``/ws`` with a permitted ``Origin`` is upgraded; from then on the connection is a member
  like any other: each message is a line for the same request steps (flood control's pauses,
  password logins on a login worker), and everything it is sent goes through the ChatLog in
  WebSocket frames (``Mode.WEB``), control frames (pongs, the close) in their place.

Every method runs in the loop thread, except ``_perform`` of a password login or a ``/metrics``
head (a login worker, while the loop leaves the connection alone: ``working`` is set)."""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
from typing import TYPE_CHECKING

from ..core.members import Member
from ..protocol.connection import Event, ServerConnection
from ..protocol.frames import Mode
from .delivery import Outbox
from .looped import READING, LoopConnection
from .webpages import Answer, http_answer, origin_allowed, plain, same_site
from .websession import HEAD, Broken, Control, Head, HttpError, WebSession

if TYPE_CHECKING:
    from .readers import ReaderLoop
    from .tcp import ChatServer
    from .web import WebPort

log = logging.getLogger("messenger.server.web")


class WebConnection(LoopConnection):
    """One web connection: an HTTP request, and if it upgrades, a chat member."""

    def __init__(
        self,
        sock: socket.socket,
        client_address: tuple[str, int],
        server: ChatServer,
        loop: ReaderLoop,
        web: WebPort,
    ) -> None:
        self.web = web  # fixed: the port's pages, origins and whether it serves /metrics
        super().__init__(sock, client_address, server, loop, server.tls)

    def setup(self) -> None:
        super().setup()
        config = self.server.config
        lines = ServerConnection(
            config.max_line, self.server.expects_password, self._current_room, mode=Mode.JSON
        )
        self.connection = WebSession(lines)  # type: ignore[assignment]  # the same steps, framed
        # The loop's only (a worker writes ``_made`` while ``working``):
        self.answering = False  # an HTTP answer is being written: the socket is watched for writing
        self.writing = False  # registered with the selector for writing
        self._unsent = memoryview(b"")  # the answer's bytes the kernel has not taken yet
        self._made: tuple[Answer, bool] | None = None  # an answer a worker made, and head_only

    @property
    def session(self) -> WebSession:
        return self.connection  # type: ignore[return-value]

    # -- input ------------------------------------------------------------------------------------

    def on_readable(self) -> None:
        if self.answering:  # the selector said the socket takes more of the answer
            self._write_some()
        else:
            super().on_readable()

    def want_input(self, wanted: bool) -> None:
        if not self.answering:  # while answering, the socket is watched for writing instead
            super().want_input(wanted)

    def _received(self, data: bytes) -> None:
        self._head_clock()
        super()._received(data)

    def _handshake(self, data: bytes) -> None:
        super()._handshake(data)
        self._head_clock()

    def _head_clock(self) -> None:
        """The head's deadline, from when the connection is ready to read it: a plain one's first
        bytes, a TLS one's handshake done (its own deadline is over then)."""
        if self.phase is READING and self.session.state is HEAD and self.timer is None and not self.ended:
            self.timer = self.loop.call_later(self.server.config.handshake_timeout, self._head_overdue, self)

    def _head_overdue(self) -> None:
        self.timer = None
        log.info("%s sent no complete HTTP request in time; closed", self.address)
        self.end()

    def run(self) -> None:
        if self.ended:
            return
        if self._made is not None:  # back from a worker with the answer
            answer, head_only = self._made
            self._made = None
            self._respond(answer, head_only)
            return
        super().run()

    def _needs_check(self, event: Event) -> bool:  # type: ignore[override]
        """A password login, or the metrics (made off the loop)."""
        if isinstance(event, Head):
            return self.web.metrics and event.path == "/metrics"
        return super()._needs_check(event)

    def _perform(self, event: Event) -> None:  # type: ignore[override]
        if isinstance(event, Head):
            self._head(event)
        elif isinstance(event, HttpError):
            self._respond(event.answer)
        elif isinstance(event, Control):
            self._control(event.data)
            if event.end:
                self.close()
        elif isinstance(event, Broken):
            log.info("%s broke the WebSocket protocol: %s", self.address, event.reason)
            self.close()
        else:
            super()._perform(event)

    # -- HTTP -------------------------------------------------------------------------------------

    def _head(self, head: Head) -> None:
        """A request: the upgrade at /ws, or an answer (made by a worker for /metrics)."""
        if head.path == "/ws":
            self._upgrade(head)
            return
        answer = self._answer(head)
        if self.working:  # a worker: the loop sends it (``run``, after ``_worked``)
            self._made = (answer, head.method == "HEAD")
        else:
            self._respond(answer, head_only=head.method == "HEAD")

    def _answer(self, head: Head) -> Answer:
        """A plain HTTP request's answer: a page, or the metrics (not for other sites' pages)."""
        headers = head.headers()
        scheme = "https" if self.channel is not None else "http"

        def metrics() -> Answer:
            if not same_site(headers, scheme, self.web.origins):
                log.info("%s: /metrics from another site refused", self.address)
                return plain(403, "the metrics are not for other sites' pages")
            return self.server.metrics.answer(headers.get("accept"))

        return self.web.pages.answer(head.method, head.target, metrics if self.web.metrics else None)

    def _respond(self, answer: Answer, head_only: bool = False) -> None:
        """Write an HTTP answer without waiting for the peer, then end the connection (within
        ``handshake_timeout``: a peer that does not read cannot keep it)."""
        data = http_answer(answer, head_only)
        if self.channel is not None:
            data = self.channel.encrypt(data)
        self._cancel_timer()
        self.want_input(False)
        self.answering = True
        self._unsent = memoryview(data)
        self.timer = self.loop.call_later(self.server.config.handshake_timeout, self._answer_overdue, self)
        self._write_some()

    def _write_some(self) -> None:
        try:
            sent = self.request.send(self._unsent)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self.end()
            return
        self._unsent = self._unsent[sent:]
        if not self._unsent:
            self.end()
        elif not self.writing:
            self.writing = True
            self.loop.watch(self, True, selectors.EVENT_WRITE)

    def _answer_overdue(self) -> None:
        self.timer = None
        log.info("%s did not take its HTTP answer in time; closed", self.address)
        self.end()

    def end(self) -> None:
        if self.writing:
            self.writing = False
            self.loop.watch(self, False)
        self._unsent = memoryview(b"")
        super().end()

    def refuse_plaintext(self, first: int) -> None:
        """Plain HTTP on an HTTPS port: one clear HTTP answer (short: the kernel takes it)."""
        body = b"this server speaks https; use https:// in the address\n"
        head = f"HTTP/1.1 400 Bad Request\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        with contextlib.suppress(OSError):
            self.request.send(head.encode() + body)
        log.info("%s spoke plain HTTP to the HTTPS port; closed", self.address)

    # -- the upgrade ------------------------------------------------------------------------------

    def _upgrade(self, head: Head) -> None:
        """The WebSocket handshake, if ``Origin`` allows it; the connection is a member's then."""
        headers = head.headers()
        scheme = "https" if self.channel is not None else "http"
        if not origin_allowed(headers.get("origin"), headers.get("host"), scheme, self.web.origins):
            log.info("%s: WebSocket from origin %s refused", self.address, headers.get("origin"))
            self._respond(plain(403, "this page's origin may not open the chat"))
            return
        accepted = self.session.upgrade(head.raw)
        if isinstance(accepted, Answer):
            self._respond(accepted)
            return
        self._cancel_timer()  # the head's deadline
        data = self.channel.encrypt(accepted) if self.channel is not None else accepted
        try:  # the first bytes this connection sends (after TLS's): the kernel takes them whole
            whole = self.request.send(data) == len(data)
        except OSError:
            whole = False
        if not whole:
            log.info("%s does not take the WebSocket handshake's answer; closed", self.address)
            self.end()
            return
        self._open()

    def _open(self) -> None:
        """The connection's Outbox takes WebSocket frames (``Mode.WEB``)."""
        encrypt = self.channel.encrypt if self.channel is not None else None
        sendq = self.server.config.sendq
        self.outbox = Outbox(self.request, Mode.WEB, sendq, on_overflow=self.too_slow, encrypt=encrypt)
        self.server.chat_log.attach(self.outbox)
        self.member = Member(link=self.outbox, address=self.address, shows_current_room=False)
        self.outbox.member = self.member

    # -- output -----------------------------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        """Only the TCP text mode sends raw lines; a web client gets frames (``send``)."""
        log.debug("raw text for a web connection dropped: %r", data[:60])

    def _control(self, data: bytes) -> None:
        """A control frame (pong, close) in its place among the connection's output."""
        if self.outbox is not None:
            self.server.chat_log.append({Mode.WEB: data}, [self.outbox])

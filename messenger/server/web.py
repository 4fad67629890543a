"""The web front door: the page over HTTP and the chat over WebSocket, on a port of its own.

WebServer is a second ThreadingTCPServer beside the ChatServer, sharing everything of it (the
registry, the ChatLog, the limits, the TLS context, the connection tracking that times out
logins and stops the server): it looks those up on the ChatServer.  Each connection is a
WebHandler, a ChatHandler whose transport is HTTP, then WebSocket:

- the request is read with h11 within the handshake deadline (a slow-loris costs one thread of
  the per-address allowance for that long), and answered by ``webpages.Pages`` unless it is the
  upgrade at ``/ws``;
- the upgrade is wsproto's, after the ``Origin`` check; from then on each text message is one
  line for the connection's ServerConnection (JSON mode), and everything sent goes through the
  ChatLog like every member's output, in WebSocket frames built once per event
  (``Mode.WEB``): the same order, the same bounded queue, the same ``too_slow``.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import socketserver
import time
from typing import TYPE_CHECKING, Any

import h11
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from ..core.members import Member
from ..protocol.connection import ServerConnection
from ..protocol.frames import ErrorCode, Mode
from .handler import ChatHandler
from .outbox import Outbox
from .webpages import SECURITY_HEADERS, Answer, Pages, origin_allowed, plain, same_site

if TYPE_CHECKING:
    from .tcp import ChatServer

log = logging.getLogger(__name__)

# The largest HTTP request head read (request line and headers).
MAX_HEAD = 16 * 1024


class WebServer(socketserver.ThreadingTCPServer):
    """The web port of ``chat``: everything but listening is the ChatServer's."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    # As the chat port's: socketserver's default of 5 resets most of a burst of page loads.
    request_queue_size = 4096

    def __init__(
        self,
        chat: ChatServer,
        address: tuple[str, int],
        origins: tuple[str, ...] = (),
        pages: Pages | None = None,
        metrics: bool = True,
    ) -> None:
        self.chat = chat
        self.origins = origins
        self.pages = pages if pages is not None else Pages()
        self.metrics = metrics  # whether GET /metrics answers (else 404)
        super().__init__(address, WebHandler)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.chat, name)  # config, registry, chat_log, limits, track, stopping...

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        scheme = "https" if self.chat.tls is not None else "http"
        host = self.server_address[0]
        return f"{scheme}://{f'[{host}]' if ':' in host else host}:{self.port}/"

    def verify_request(self, request: Any, client_address: Any) -> bool:
        """The chat port's rules: a banned address gets one answer (here an HTTP one) and no
        thread; the per-address limits are counted across both ports."""
        address = str(client_address[0] if isinstance(client_address, tuple) else client_address)
        ban = self.chat.moderation.bans.check_address(address)
        if ban is not None:
            body = b"your address is banned from this server\n"
            head = f"HTTP/1.1 403 Forbidden\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            with contextlib.suppress(OSError):
                request.send(head.encode() + body, socket.MSG_DONTWAIT)
            self.chat.limits.refused(address, f"banned ({ban.target.shown})")
            return False
        return self.chat.limits.admit(request, address)

    def shutdown_request(self, request: Any) -> None:
        self.chat.limits.release(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        self.chat.handle_error(request, client_address)


class WebHandler(ChatHandler):
    """One web connection: an HTTP request, and if it upgrades, a chat member."""

    server: WebServer  # type: ignore[assignment]

    def setup(self) -> None:
        super().setup()
        config = self.server.config
        self.connection = ServerConnection(
            config.max_line, self.server.expects_password, self._current_room, mode=Mode.JSON
        )
        self.ws: WSConnection | None = None
        self._message = bytearray()
        self._message_too_long = False

    def handle(self) -> None:
        if not self._start_transport():
            return
        head = self._read_head()
        if head is None:
            return
        raw, request = head
        if request.target.split(b"?", 1)[0] != b"/ws":
            method = request.method.decode("ascii", "replace")
            self._respond(self._answer(method, request), head_only=method == "HEAD")
            return
        if self._upgrade(raw, request):
            self._chat()

    # -- HTTP ---------------------------------------------------------------------------------

    def _read_head(self) -> tuple[bytes, h11.Request] | None:
        """The request's head (and its raw bytes, for the WebSocket handshake), read within the
        handshake deadline; None when the peer was too slow, closed, or sent no HTTP (answered
        400 when there is someone to answer)."""
        parser = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        raw = b""
        deadline = time.monotonic() + self.server.config.handshake_timeout
        while True:
            try:
                event = parser.next_event()
            except h11.RemoteProtocolError as exc:
                self._respond(plain(exc.error_status_hint, "bad request"))
                return None
            if isinstance(event, h11.Request):
                return raw, event
            if event is not h11.NEED_DATA:
                return None
            data = self._receive_before(deadline)
            if not data:
                return None
            raw += data
            if len(raw) > MAX_HEAD:  # however it arrived, in parts or at once
                self._respond(plain(431, "request head too large"))
                return None
            parser.receive_data(data)

    def _answer(self, method: str, request: h11.Request) -> Answer:
        """A plain HTTP request's answer: a page, or the metrics (not for other sites' pages)."""
        headers = _headers(request)
        scheme = "https" if self.channel is not None else "http"

        def metrics() -> Answer:
            if not same_site(headers, scheme, self.server.origins):
                log.info("%s: /metrics from another site refused", self.address)
                return plain(403, "the metrics are not for other sites' pages")
            return self.server.chat.metrics.answer(headers.get("accept"))

        target = _text(request.target)
        return self.server.pages.answer(method, target, metrics if self.server.metrics else None)

    def _receive_before(self, deadline: float) -> bytes:
        """The next bytes (decrypted), or b"" once the deadline passed or the peer closed."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                log.info("%s sent no complete HTTP request in time; closed", self.address)
                return b""
            try:
                self.request.settimeout(remaining)
            except OSError:
                return b""
            data = self._receive()
            with contextlib.suppress(OSError):
                self.request.settimeout(None)
            if data is not None:
                return data

    def _respond(self, answer: Answer, head_only: bool = False) -> None:
        """Send an HTTP answer (with the security headers) and end the connection."""
        headers = [*SECURITY_HEADERS, *answer.headers, ("Content-Length", str(len(answer.body)))]
        lines = [f"HTTP/1.1 {answer.status} {_REASONS.get(answer.status, 'Error')}"]
        lines += [f"{name}: {value}" for name, value in headers]
        lines += ["Connection: close", "", ""]
        self._send_now("\r\n".join(lines).encode("latin-1") + (b"" if head_only else answer.body))

    def _send_now(self, data: bytes) -> None:
        """Bytes before the connection has an Outbox (HTTP answers, the handshake)."""
        if self.channel is not None:
            data = self.channel.encrypt(data)
        with contextlib.suppress(OSError):
            self.request.settimeout(self.server.config.handshake_timeout)
            self.request.sendall(data)
            self.request.settimeout(None)

    def _refuse_plaintext(self, first: int) -> None:
        """Plain HTTP on an HTTPS port: one clear HTTP answer, then the connection closes."""
        body = b"this server speaks https; use https:// in the address\n"
        head = f"HTTP/1.1 400 Bad Request\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        with contextlib.suppress(OSError):
            self.request.settimeout(1.0)
            self.request.sendall(head.encode() + body)
        log.info("%s spoke plain HTTP to the HTTPS port; closed", self.address)

    # -- the upgrade ----------------------------------------------------------------------------

    def _upgrade(self, raw: bytes, request: h11.Request) -> bool:
        """The WebSocket handshake, if ``Origin`` allows it; False when refused (answered)."""
        headers = _headers(request)
        scheme = "https" if self.channel is not None else "http"
        if not origin_allowed(headers.get("origin"), headers.get("host"), scheme, self.server.origins):
            log.info("%s: WebSocket from origin %s refused", self.address, headers.get("origin"))
            self._respond(plain(403, "this page's origin may not open the chat"))
            return False
        ws = WSConnection(ConnectionType.SERVER)
        try:
            ws.receive_data(raw)
            events = list(ws.events())
        except RemoteProtocolError as exc:
            self._respond(plain(400, f"bad WebSocket request: {exc}"))
            return False
        if not events or not isinstance(events[0], Request):
            self._respond(plain(400, "bad WebSocket request"))
            return False
        self._send_now(ws.send(AcceptConnection()))
        self.ws = ws
        self._after_upgrade = events[1:]  # messages that came with the handshake
        return True

    def _open(self) -> None:
        """The connection's Outbox takes WebSocket frames (``Mode.WEB``)."""
        encrypt = self.channel.encrypt if self.channel is not None else None
        sendq = self.server.config.sendq
        self.outbox = Outbox(self.request, Mode.WEB, sendq, on_overflow=self.too_slow, encrypt=encrypt)
        self.server.chat_log.attach(self.outbox)
        self.member = Member(link=self.outbox, address=self.address, shows_current_room=False)
        self.outbox.member = self.member

    def send_raw(self, data: bytes) -> None:
        """Only the TCP text mode sends raw lines; a web client gets frames (``send``)."""
        log.debug("raw text for a web connection dropped: %r", data[:60])

    # -- the chat -------------------------------------------------------------------------------

    def _chat(self) -> None:
        assert self.ws is not None
        self._open()
        if not self._ws_events(self._after_upgrade):
            return
        while self.closing_at is None:
            data = self._receive()
            if data is None:
                continue
            if not data:
                return
            try:
                self.ws.receive_data(data)
                if not self._ws_events(list(self.ws.events())):
                    return
            except (RemoteProtocolError, LocalProtocolError) as exc:
                log.info("%s broke the WebSocket protocol: %s", self.address, exc)
                return

    def _ws_events(self, events: list[Any]) -> bool:
        """Act on what the WebSocket received; False once the connection should end."""
        assert self.ws is not None
        for event in events:
            if isinstance(event, TextMessage):
                if not self._text(event.data.encode("utf-8"), event.message_finished):
                    return False
            elif isinstance(event, BytesMessage):
                if event.message_finished:
                    self.error(ErrorCode.BAD_FRAME, "binary messages are not read; send JSON text")
            elif isinstance(event, Ping):  # charged like a message: a ping flood waits too
                if self._flood_wait():
                    return False
                self._control(self.ws.send(event.response()))
            elif isinstance(event, CloseConnection):
                self._control(self.ws.send(event.response()))
                return False
            elif isinstance(event, RejectConnection):
                return False
        return self.closing_at is None

    def _text(self, part: bytes, finished: bool) -> bool:
        """A text message, whole or in parts, held only up to the line limit."""
        if not self._message_too_long:
            self._message += part
            if len(self._message) + 1 > self.server.config.max_line:
                self._message_too_long = True
                self._message = bytearray(self._message[:1])
        if not finished:
            return True
        data, too_long = bytes(self._message), self._message_too_long
        self._message, self._message_too_long = bytearray(), False
        event = self.connection.message_event(data, too_long)
        if self._flood_wait():
            return False
        self._act(event)
        return True

    def _control(self, data: bytes) -> None:
        """A control frame (pong, close) in its place among the connection's output."""
        if self.outbox is not None:
            self.server.chat_log.append({Mode.WEB: data}, [self.outbox])


def _text(target: bytes) -> str:
    return target.decode("ascii", "replace")


def _headers(request: h11.Request) -> dict[str, str]:
    """The request's headers by lower-case name (h11 gives them so); the last of repeated ones."""
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in request.headers}


_REASONS = {
    200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    408: "Request Timeout", 413: "Content Too Large", 431: "Request Header Fields Too Large",
}  # fmt: skip

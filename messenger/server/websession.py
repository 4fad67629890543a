"""WebSession: one web connection's protocol, without I/O: bytes in (an HTTP request head read
with h11, then, once upgraded, WebSocket frames read with wsproto), events out, one at a time,
as a ServerConnection gives them for lines (``next_event``: an event, NEED_DATA or EOF):

- ``Head``: the request's head is complete (the transport answers it, or upgrades ``/ws``);
- ``HttpError``: the request is not HTTP, or its head is too large: answer it and close;
- once upgraded, each whole text message is one line for the ServerConnection (JSON mode): its
  ``Request`` or ``Reply``, as a chat-port line's; a binary message is ``bad_frame``;
- ``Control``: bytes wsproto answers with (a pong, the close handshake's reply), to be sent in
  their place among the connection's output; ``end``: the connection is over after them;
- ``Broken``: the peer broke the WebSocket protocol (the connection ends).

It also stands in for the ServerConnection where the login steps use one (``logged_in``,
``accept_login``, ``ask_password``, ``mode``): the chat part is the ServerConnection's, fixed
to JSON mode.  Events the transport must not charge to flood control have ``charge = False``
(the HTTP head, the close); every message and ping is charged, as a line is."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import h11
from wsproto import ConnectionType, WSConnection
from wsproto.connection import Connection as WsConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    RejectConnection,
    TextMessage,
)
from wsproto.events import Request as WsRequest
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from ..protocol.connection import Answer, Event, Reply, ServerConnection
from ..protocol.frames import Error, ErrorCode
from ..protocol.lines import EOF, NEED_DATA, LineDecoder
from .webpages import Answer as HttpAnswer
from .webpages import plain

# The largest HTTP request head read (request line and headers).
MAX_HEAD = 16 * 1024

HEAD, ASKED, WEBSOCKET, DONE = "head", "asked", "websocket", "done"


@dataclass(frozen=True)
class Head:
    """A complete request head; ``raw``: every byte read so far (the upgrade needs them)."""

    raw: bytes
    request: h11.Request
    charge = False

    @property
    def method(self) -> str:
        return self.request.method.decode("ascii", "replace")

    @property
    def target(self) -> str:
        return self.request.target.decode("ascii", "replace")

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    def headers(self) -> dict[str, str]:
        """The headers by lower-case name (h11 gives them so); the last of repeated ones."""
        return {
            name.decode("latin-1").lower(): value.decode("latin-1") for name, value in self.request.headers
        }


@dataclass(frozen=True)
class HttpError:
    answer: HttpAnswer
    charge = False


@dataclass(frozen=True)
class Control:
    data: bytes
    end: bool = False
    charge: bool = True


@dataclass(frozen=True)
class Broken:
    reason: str
    charge = False


WebEvent = Event | Head | HttpError | Control | Broken


class WebSession:
    """One web connection's protocol state (see the module's docstring)."""

    def __init__(self, lines: ServerConnection, max_head: int = MAX_HEAD) -> None:
        self.lines = lines
        self.max_head = max_head
        self.state = HEAD
        # The head's parser, dropped once the head is read (a member keeps only wsproto's state).
        self._http: h11.Connection | None = h11.Connection(h11.SERVER, max_incomplete_event_size=max_head)
        self._raw = bytearray()  # the head's bytes (and any that came with them)
        self._too_large = False
        self._eof = False
        # Once upgraded: wsproto's connection (its handshake's state is dropped), and the events
        # of what was received, taken one at a time (the frames are parsed as they are taken).
        self._ws: WsConnection | None = None
        self._pending: Iterator[Any] | None = None
        self._broken: str | None = None  # wsproto refused to read on (a protocol error)
        self._message = bytearray()  # a text message's parts so far, up to the line limit
        self._message_too_long = False

    # -- the ServerConnection's part, for the login steps --------------------------------------

    @property
    def logged_in(self) -> bool:
        return self.lines.logged_in

    @property
    def mode(self) -> Any:
        return self.lines.mode

    @property
    def decoder(self) -> LineDecoder:
        return self.lines.decoder

    def accept_login(self) -> None:
        self.lines.accept_login()

    def ask_password(self, name: str, why: str) -> Answer:
        return self.lines.ask_password(name, why)

    # -- bytes in ----------------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Bytes from the peer; ``b""``: it closed.  Ignored while the head is being answered."""
        if not data:
            self._eof = True
        elif self.state is HEAD and self._http is not None and not self._too_large:
            self._raw += data
            if len(self._raw) > self.max_head:  # however it arrived, in parts or at once
                self._too_large = True
            else:
                self._http.receive_data(data)
        elif self.state is WEBSOCKET and self._ws is not None:
            self._receive_ws(data)

    def _receive_ws(self, data: bytes) -> None:
        """Only once the events of what came before are all taken (``next_event`` gave
        NEED_DATA): the loop reads nothing while a connection has lines to act on."""
        assert self._ws is not None
        try:
            self._ws.receive_data(data)
        except (RemoteProtocolError, LocalProtocolError) as exc:
            self._broken = str(exc)
        else:
            self._pending = self._ws.events()

    # -- events out --------------------------------------------------------------------------------

    def next_event(self) -> WebEvent:
        if self.state is HEAD:
            return self._head_event()
        if self.state is WEBSOCKET:
            while self._pending is not None:
                event = next(self._pending, None)
                if event is None:
                    self._pending = None
                else:
                    turned = self._ws_event(event)
                    if turned is not None:
                        return turned
            if self._broken is not None:
                self.state = DONE
                return Broken(self._broken)
        return EOF if self._eof else NEED_DATA  # (a head being answered reads nothing more)

    def _head_event(self) -> WebEvent:
        assert self._http is not None
        if self._too_large:
            return self._head_done(DONE, HttpError(plain(431, "request head too large")))
        try:
            event = self._http.next_event()
        except h11.RemoteProtocolError as exc:
            return self._head_done(DONE, HttpError(plain(exc.error_status_hint, "bad request")))
        if isinstance(event, h11.Request):
            return self._head_done(ASKED, Head(bytes(self._raw), event))
        if event is h11.NEED_DATA and not self._eof:
            return NEED_DATA
        return self._head_done(DONE, EOF)  # closed before a whole head (or h11 says ConnectionClosed)

    def _head_done(self, state: str, event: WebEvent) -> WebEvent:
        self.state, self._http, self._raw = state, None, bytearray()
        return event

    def upgrade(self, raw: bytes) -> bytes | HttpAnswer:
        """Accept the WebSocket handshake in ``raw`` (the head's bytes): the answer's bytes,
        or an HTTP answer refusing a bad request."""
        ws = WSConnection(ConnectionType.SERVER)
        try:
            ws.receive_data(raw)
            events = list(ws.events())
        except RemoteProtocolError as exc:
            self.state = DONE
            return plain(400, f"bad WebSocket request: {exc}")
        if not events or not isinstance(events[0], WsRequest):
            self.state = DONE
            return plain(400, "bad WebSocket request")
        # A client sends nothing more before the answer (RFC 6455, 4.1); wsproto's server side
        # drops what came with the handshake.
        accepted = ws.send(AcceptConnection())
        self._ws, self.state = ws.connection, WEBSOCKET
        return accepted

    def _ws_event(self, event: Any) -> WebEvent | None:
        """One of wsproto's events as the transport's; None: nothing to act on yet."""
        assert self._ws is not None
        try:
            if isinstance(event, TextMessage):
                return self._text(event.data.encode("utf-8"), event.message_finished)
            if isinstance(event, BytesMessage):
                if not event.message_finished:
                    return None
                return Reply(
                    Error(
                        code=ErrorCode.BAD_FRAME.value, message="binary messages are not read; send JSON text"
                    )
                )
            if isinstance(event, Ping):
                return Control(self._ws.send(event.response()))
            if isinstance(event, CloseConnection):
                self.state = DONE
                return Control(self._ws.send(event.response()), end=True, charge=False)
            if isinstance(event, RejectConnection):
                self.state = DONE
                return EOF
        except LocalProtocolError as exc:
            return Broken(str(exc))
        return None

    def _text(self, part: bytes, finished: bool) -> Event | None:
        """A text message, whole or in parts, held only up to the line limit."""
        if not self._message_too_long:
            self._message += part
            if len(self._message) + 1 > self.lines.decoder.max_line:
                self._message_too_long = True
                self._message = bytearray(self._message[:1])
        if not finished:
            return None
        data, too_long = bytes(self._message), self._message_too_long
        self._message, self._message_too_long = bytearray(), False
        return self.lines.message_event(data, too_long)

"""A blocking client for the messenger protocol (JSON mode), used by the CLI, tests and bots.

    with Client.connect("127.0.0.1", 5555) as client:
        welcome = client.login("alice")
        client.say("hello")
        for frame in client:          # every frame the server sends, until it closes
            ...

Sending is thread-safe, so one thread may read frames while another sends.  Failures are typed
exceptions, all subclasses of MessengerError; the networking never prints.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from ..protocol.codec import encode, parse_server_frame
from ..protocol.frames import (
    SERVER_FRAME_TYPES,
    Bye,
    ClientFrame,
    Error,
    ErrorCode,
    FrameError,
    Hello,
    HistoryRequest,
    Join,
    Me,
    Nick,
    Part,
    Ping,
    Rooms,
    Say,
    ServerFrame,
    Shutdown,
    Welcome,
    Who,
)
from ..protocol.lines import (
    DEFAULT_MAX_LINE,
    EOF,
    NEED_DATA,
    SERVER_LINE_FACTOR,
    BadEncoding,
    Line,
    LineDecoder,
    LineTooLong,
)
from ..tls import HANDSHAKE_TIMEOUT, TLSChannel, TLSError, TLSPeerClosed


class MessengerError(Exception):
    """Base of every error this client raises; ``str()`` is a sentence for a person."""


class ConnectError(MessengerError):
    """The server could not be reached (refused, unreachable, timed out)."""


class ConnectionClosed(MessengerError):
    """The connection ended: the server closed it, or the network failed."""


class ServerClosed(ConnectionClosed):
    """The server ended the connection in order (end of stream), rather than the network failing."""


class LoginError(MessengerError):
    """The server refused the login; ``code`` is the protocol error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class NameTaken(LoginError):
    """Someone else is using the name."""


class BadName(LoginError):
    """The name breaks the naming rules."""


class ProtocolViolation(MessengerError):
    """The server sent something that is not the protocol."""


@dataclass(frozen=True)
class Incoming:
    """One line from the server and the frame it holds (None for a type this client does not know)."""

    line: str
    frame: ServerFrame | None


def _time_left(deadline: float | None) -> float | None:
    """Seconds until ``deadline`` (None: no deadline); TimeoutError once it has passed."""
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("no frame from the server in time")
    return left


class Client:
    """One JSON-mode connection to a messenger server."""

    def __init__(
        self, sock: socket.socket, max_line: int = DEFAULT_MAX_LINE, channel: TLSChannel | None = None
    ) -> None:
        self._sock = sock
        self._channel = channel
        self._decoder = LineDecoder(max_line * SERVER_LINE_FACTOR)
        self._send_lock = threading.Lock()
        self._closed = False
        self.user: str | None = None
        self.welcome: Welcome | None = None
        self.welcome_line = ""  # the welcome as the server sent it

    @classmethod
    def connect(
        cls,
        host: str,
        port: int,
        timeout: float | None = 10.0,
        max_line: int = DEFAULT_MAX_LINE,
        tls: ssl.SSLContext | None = None,
    ) -> Client:
        """Open a TCP connection, with TLS when given a context (see ``tls.client_context``);
        ``timeout`` bounds the connect and the handshake only (reads block, or take their own
        timeout).  Raises ConnectError."""
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except ConnectionRefusedError:
            raise ConnectError(f"connection refused by {host}:{port}; is the server running?") from None
        except TimeoutError:
            raise ConnectError(f"timed out connecting to {host}:{port}") from None
        except socket.gaierror as exc:
            raise ConnectError(f"cannot resolve host {host!r}: {exc.strerror}") from None
        except OSError as exc:
            raise ConnectError(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from None
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        channel = None
        if tls is not None:
            channel = TLSChannel(tls, server_side=False, server_hostname=host)
            try:
                channel.handshake(sock, timeout if timeout is not None else HANDSHAKE_TIMEOUT)
            except TLSError as exc:
                sock.close()
                hint = (
                    "; is the server serving TLS? (try without --tls)"
                    if isinstance(exc, TLSPeerClosed)
                    else ""
                )
                raise ConnectError(f"TLS with {host}:{port} failed: {exc}{hint}") from None
            except TimeoutError:
                sock.close()
                raise ConnectError(
                    f"no TLS answer from {host}:{port} in time; "
                    "is the server serving TLS? (try without --tls)"
                ) from None
            except OSError as exc:
                sock.close()
                raise ConnectError(f"TLS with {host}:{port} failed: {exc.strerror or exc}") from None
        return cls(sock, max_line=max_line, channel=channel)

    # -- context manager ----------------------------------------------------------------------

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- sending ------------------------------------------------------------------------------

    def send(self, frame: ClientFrame) -> None:
        """Send one frame.  Raises ConnectionClosed when the connection is gone."""
        data = encode(frame)
        with self._send_lock:
            try:
                if self._channel is not None:
                    data = self._channel.encrypt(data)
                self._sock.sendall(data)
            except OSError as exc:
                raise ConnectionClosed(f"connection lost: {exc.strerror or exc}") from None

    def login(
        self,
        user: str,
        history: int | None = None,
        password: str | None = None,
        timeout: float | None = 10.0,
        account: str | None = None,
    ) -> Welcome:
        """Send ``hello`` and wait (up to ``timeout`` seconds) for ``welcome``.  With
        ``account``, ``password`` is that account's and ``user`` the name to log in under (how
        a renamed session gets its name back).

        Raises NameTaken, BadName, LoginError, ConnectionClosed, or ProtocolViolation when the
        other end does not answer like a messenger server.
        """
        self.send(Hello(user=user, history=history, password=password, account=account))
        # One deadline for the whole wait: frames of other types, or bytes trickled one at a
        # time, must not stretch it.
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                incoming = self.receive_line(timeout=_time_left(deadline))
            except TimeoutError:
                raise ProtocolViolation(
                    f"no answer to the login within {timeout:g} s; is this a messenger server?"
                ) from None
            except ServerClosed:
                raise ServerClosed(
                    "the server closed the connection without answering the login (it may limit "
                    "connections from one address; its log says why)"
                ) from None
            frame = incoming.frame
            if isinstance(frame, Welcome):
                self.user = frame.user
                self.welcome = frame
                self.welcome_line = incoming.line
                return frame
            if isinstance(frame, Error) and frame.re in (None, "hello"):
                kind = {"name_taken": NameTaken, "bad_name": BadName}.get(frame.code, LoginError)
                raise kind(frame.code, frame.message)

    def say(self, text: str, to: str | None = None, room: str | None = None) -> None:
        """A message to the lobby, to ``room``, or privately ``to`` one user."""
        self.send(Say(text=text, to=to, room=room))

    def me(self, text: str, room: str | None = None, to: str | None = None) -> None:
        """An action ("* alice waves") to the lobby, to ``room``, or privately ``to`` one user."""
        self.send(Me(text=text, room=room, to=to))

    def who(self, room: str | None = None) -> None:
        """Ask who is online (answered by ``users``), or who is in ``room``."""
        self.send(Who(room=room))

    def join(self, room: str) -> None:
        """Join ``room`` (answered by its history, then ``joined``)."""
        self.send(Join(room=room))

    def part(self, room: str) -> None:
        self.send(Part(room=room))

    def rooms(self) -> None:
        """Ask for the room list (answered by ``rooms``)."""
        self.send(Rooms())

    def nick(self, user: str) -> None:
        self.send(Nick(user=user))

    def ping(self, token: Any = None) -> None:
        self.send(Ping(token=token))

    def history(self, limit: int | None = None, before: int | None = None, room: str | None = None) -> None:
        """Ask for past messages (of the lobby, or ``room``): answered by ``message`` frames
        marked ``history`` and one ``history_end``."""
        self.send(HistoryRequest(limit=limit, before=before, room=room))

    def bye(self) -> None:
        """Say goodbye (the server then closes the connection)."""
        self.send(Bye())

    # -- receiving ----------------------------------------------------------------------------

    def receive(self, timeout: float | None = None) -> ServerFrame:
        """The next frame from the server.  ``timeout`` (seconds, for the whole wait) raises
        TimeoutError.

        A Shutdown frame is returned like any other; the call after it raises ConnectionClosed.
        Lines of a type this client does not know are skipped (the protocol may grow new ones).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            incoming = self.receive_line(_time_left(deadline))
            if incoming.frame is not None:
                return incoming.frame

    def receive_line(self, timeout: float | None = None) -> Incoming:
        """The next line from the server as received, with its parsed frame (None when the frame
        type is newer than this client).  For tools that pass the protocol on, like ``--json``.
        ``timeout`` bounds the whole wait, however the line's bytes trickle in."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            event = self._decoder.next_event()
            if event is NEED_DATA:
                self._fill(_time_left(deadline))
                continue
            if event is EOF:
                raise ServerClosed("the server closed the connection")
            if isinstance(event, (LineTooLong, BadEncoding)):
                raise ProtocolViolation("the server sent an over-long or non-UTF-8 line")
            assert isinstance(event, Line)
            try:
                return Incoming(event.text, parse_server_frame(event.text))
            except FrameError as exc:
                if exc.code is ErrorCode.BAD_FRAME and exc.re not in SERVER_FRAME_TYPES:
                    return Incoming(event.text, None)  # a frame type newer than this client
                raise ProtocolViolation(
                    f"the server sent something that is not the messenger protocol ({exc.message}); "
                    "is this a messenger server?"
                ) from None

    def _fill(self, timeout: float | None) -> None:
        if self._closed:
            raise ConnectionClosed("the connection is closed")
        try:
            self._sock.settimeout(timeout)
            data = self._sock.recv(65536)
        except TimeoutError:
            raise TimeoutError("no frame from the server in time") from None
        except OSError as exc:
            if self._closed:
                data = b""
            else:
                raise ConnectionClosed(f"connection lost: {exc.strerror or exc}") from None
        finally:
            with contextlib.suppress(OSError):
                self._sock.settimeout(None)
        if self._channel is not None:
            try:
                plain = self._channel.decrypt(data)
            except TLSError as exc:
                raise ConnectionClosed(f"connection lost: {exc}") from None
            if data and not plain:
                return  # TLS records without application data (e.g. session tickets)
            data = plain
        self._decoder.receive_data(data)

    def __iter__(self) -> Iterator[ServerFrame]:
        """Every frame until the connection ends (a Shutdown frame is the last one yielded)."""
        while True:
            try:
                frame = self.receive()
            except ConnectionClosed:
                return
            yield frame
            if isinstance(frame, Shutdown):
                return

    # -- closing ------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the socket (without a ``bye``; the server reports the user as disconnected)."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()

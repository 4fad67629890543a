"""A WebSocket client for the tests (and a raw HTTP request), on wsproto over a plain or TLS
socket: the web port's peer, with deadlines on every read."""

from __future__ import annotations

import json
import socket
import ssl
from typing import Any

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Message,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)

WAIT = 5.0


def open_socket(port: int, tls: ssl.SSLContext | None = None, rcvbuf: int | None = None) -> socket.socket:
    """A connection to the web port; ``rcvbuf``: a small receive buffer, set before connecting
    (a reader that stops reading fills it soon)."""
    sock = socket.socket()
    sock.settimeout(WAIT)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect(("127.0.0.1", port))
    if tls is not None:
        sock = tls.wrap_socket(sock, server_hostname="127.0.0.1")
    return sock


def http_get(
    port: int, request: bytes, tls: ssl.SSLContext | None = None
) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` as it is; the status, headers (lower-case names) and body of the answer
    (read until the server closes)."""
    with open_socket(port, tls) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


class WsClient:
    """One WebSocket connection to the web port's ``/ws``."""

    def __init__(
        self,
        port: int,
        origin: str | None = None,
        tls: ssl.SSLContext | None = None,
        rcvbuf: int | None = None,
    ) -> None:
        self.sock = open_socket(port, tls, rcvbuf)
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.pending: list[Any] = []
        headers = [("Origin", origin)] if origin is not None else []
        self.sock.sendall(
            self.ws.send(Request(host=f"127.0.0.1:{port}", target="/ws", extra_headers=headers))
        )
        self.accepted = False
        self.rejected: int | None = None
        while not self.accepted and self.rejected is None:
            for event in self._read():
                if isinstance(event, AcceptConnection):
                    self.accepted = True
                elif isinstance(event, RejectConnection):
                    self.rejected = event.status_code
                elif isinstance(event, RejectData):
                    pass
                else:
                    self.pending.append(event)

    def _read(self) -> list[Any]:
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("the server closed the connection")
        self.ws.receive_data(data)
        return list(self.ws.events())

    def send_json(self, obj: dict[str, Any]) -> None:
        self.send_text(json.dumps(obj))

    def send_text(self, text: str) -> None:
        self.sock.sendall(self.ws.send(Message(data=text)))

    def send_bytes(self, data: bytes) -> None:
        self.sock.sendall(self.ws.send(Message(data=data)))

    def event(self) -> Any:
        """The next WebSocket event (a text message, a close...)."""
        while not self.pending:
            self.pending.extend(self._read())
        return self.pending.pop(0)

    def frame(self) -> dict[str, Any]:
        """The next JSON frame (one text message)."""
        event = self.event()
        if isinstance(event, CloseConnection):
            raise EOFError(f"closed: {event.code} {event.reason}")
        assert isinstance(event, TextMessage) and event.message_finished, event
        return json.loads(event.data)

    def until(self, kind: str) -> dict[str, Any]:
        """The next frame of type ``kind`` (others before it are skipped)."""
        for _ in range(1000):
            frame = self.frame()
            if frame["type"] == kind:
                return frame
        raise AssertionError(f"no {kind} frame")

    def login(self, name: str, **extra: Any) -> dict[str, Any]:
        self.send_json({"type": "hello", "user": name, "history": 0, **extra})
        welcome = self.frame()
        self.until("joined")
        return welcome

    def closed(self) -> bool:
        """True once the server has closed the connection (frames before that are skipped)."""
        try:
            while True:
                for event in self._read():
                    if isinstance(event, CloseConnection):
                        return True
        except (EOFError, ConnectionResetError):
            return True

    def close(self) -> None:
        self.sock.close()


__all__ = ["BytesMessage", "WsClient", "http_get"]

"""The WebSocket side of the fan-out benchmark's clients (benchmarks/fanout.py).

A web client logs in over the web port's ``/ws`` (RFC 6455): the HTTP upgrade, then a ``hello``
frame, then it waits for its own ``joined`` frame.  The server's frames are unmasked text frames
whose payload is a JSON line without its newline, so a chat message carries ``"text":"m ...``
exactly once: counting clients count that marker in the raw bytes, as TCP clients count
``": m "``, and only senders and probes split the stream into frames.  What a client sends is
masked, as RFC 6455 requires of clients; the few pieces here are small enough to write out, and
cheap, so the generator is not the bottleneck.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct

# The marker of a relayed message in the server's JSON: the message frame's "text" field,
# whose value starts with the sender's "m " (every message the benchmark sends).
WEB_MARKER = b'"text":"m '
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455, section 1.3
_FIN_TEXT = 0x81
_MASKED = 0x80
HEAD_LIMIT = 16 * 1024  # the upgrade's answer must fit in this


class LoginRefused(ValueError):
    """The upgrade or the login was refused, or the server's answer made no sense."""


def handshake(host: str, port: int) -> tuple[bytes, bytes]:
    """The upgrade request (no ``Origin``: not a browser), and the ``Sec-WebSocket-Accept``
    value the server must answer with."""
    key = base64.b64encode(os.urandom(16))
    accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
    request = (
        b"GET /ws HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (host.encode(), port, key)
    )
    return request, accept


def masked_text_frame(payload: bytes) -> bytes:
    """``payload`` as one final text frame, masked with a fresh key (a client's frame)."""
    length = len(payload)
    if length < 126:
        header = bytes((_FIN_TEXT, _MASKED | length))
    elif length < 1 << 16:
        header = struct.pack("!BBH", _FIN_TEXT, _MASKED | 126, length)
    else:
        header = struct.pack("!BBQ", _FIN_TEXT, _MASKED | 127, length)
    mask = os.urandom(4)
    keystream = (mask * (length // 4 + 1))[:length]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(keystream, "big")).to_bytes(length, "big")
    return header + mask + masked


def json_frame(frame: dict[str, object]) -> bytes:
    """A JSON frame of the protocol as a client's WebSocket message."""
    return masked_text_frame(json.dumps(frame, separators=(",", ":")).encode())


class FrameReader:
    """Splits the server's (unmasked) frames out of a byte stream that arrives in pieces."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """The payloads of the frames completed by ``data`` (control frames included)."""
        self.buffer += data
        payloads = []
        while (payload := self.next()) is not None:
            payloads.append(payload)
        return payloads

    def next(self) -> bytes | None:
        """The next complete frame's payload, taken off the buffer; None if there is none."""
        buffer = self.buffer
        if len(buffer) < 2:
            return None
        length, start = buffer[1] & 0x7F, 2
        if length == 126:
            if len(buffer) < 4:
                return None
            length, start = struct.unpack_from("!H", buffer, 2)[0], 4
        elif length == 127:
            if len(buffer) < 10:
                return None
            length, start = struct.unpack_from("!Q", buffer, 2)[0], 10
        if buffer[1] & _MASKED:
            raise LoginRefused("the server sent a masked frame")
        end = start + length
        if len(buffer) < end:
            return None
        payload = bytes(buffer[start:end])
        del buffer[:end]
        return payload


class WebLogin:
    """A web client's login, fed the raw bytes it receives: the upgrade's answer, then frames
    until our own ``joined`` frame.  ``send`` holds what to write next (the hello frame)."""

    def __init__(self, host: str, port: int, name: bytes, then: tuple[bytes, ...] = ()) -> None:
        self.request, self._accept = handshake(host, port)
        self._after_upgrade = json_frame({"type": "hello", "user": name.decode(), "history": 0})
        self._after_upgrade += b"".join(then)
        self._joined = b'{"type":"joined","user":"' + name + b'"'
        self._head = bytearray()
        self._frames: FrameReader | None = None

    def feed(self, data: bytes) -> tuple[bytes, bytes | None]:
        """(bytes to send now, the raw bytes after our joined frame once it came, else None)."""
        to_send = b""
        if self._frames is None:
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                if len(self._head) > HEAD_LIMIT:
                    raise LoginRefused("no answer to the upgrade")
                return b"", None
            self._check_upgrade(bytes(self._head[:end]))
            self._frames = FrameReader()
            data, to_send = bytes(self._head[end + 4 :]), self._after_upgrade
        self._frames.buffer += data
        while (payload := self._frames.next()) is not None:
            if payload.startswith(self._joined):
                return to_send, bytes(self._frames.buffer)
            if payload.startswith(b'{"type":"error"'):
                raise LoginRefused("server said: " + payload.decode("utf-8", "replace"))
        if len(self._frames.buffer) > 4 * 1024 * 1024:
            raise LoginRefused("no joined frame")
        return to_send, None

    def _check_upgrade(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        if not lines[0].startswith(b"HTTP/1.1 101"):
            raise LoginRefused("upgrade refused: " + lines[0].decode("latin-1"))
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in lines[1:])}
        if headers.get(b"sec-websocket-accept") != self._accept:
            raise LoginRefused("wrong Sec-WebSocket-Accept")

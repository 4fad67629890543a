"""Cutting a byte stream into lines without ever holding more than the line limit.

This module owns LineDecoder (bytes in with ``receive_data``, events out with ``next_event``:
Line, LineTooLong, BadEncoding, NEED_DATA, EOF) and the line limits both ends use.  The server
and the client cut lines with the same decoder, with different limits.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .quick import quick_init

# 16 KiB per line, counted with its line end.  Generous for chat (IRC allows 512 bytes, Matrix
# events 64 KiB in total) yet small enough that a thousand clients each holding a partial line
# cost only 16 MB.
DEFAULT_MAX_LINE = 16 * 1024

# Server lines may exceed the client limit (JSON escaping, added fields); clients accept this
# multiple of the server's line limit (docs/protocol.md, "Transport").
SERVER_LINE_FACTOR = 4


class _Sentinel(enum.Enum):
    NEED_DATA = "NEED_DATA"
    EOF = "EOF"


NEED_DATA = _Sentinel.NEED_DATA
"""next_event(): no complete line yet; feed more bytes."""
EOF = _Sentinel.EOF
"""next_event(): the peer closed; an unfinished last line is discarded."""


@quick_init
@dataclass(frozen=True)
class Line:
    """A complete line, decoded, without its line end."""

    text: str
    first_byte: bytes


@dataclass(frozen=True)
class LineTooLong:
    """A line passed the limit; it is being discarded up to its end."""

    first_byte: bytes


@dataclass(frozen=True)
class BadEncoding:
    """A complete line that is not valid UTF-8; it was discarded."""

    first_byte: bytes


LineEvent = Line | LineTooLong | BadEncoding | _Sentinel


class LineDecoder:
    """Cuts a byte stream into lines, holding at most ``max_line`` bytes of any one line.

    Feed bytes with ``receive_data`` (``b""`` means EOF) and call ``next_event`` until it
    returns NEED_DATA or EOF.  A line longer than ``max_line`` bytes (counted with its line end)
    produces one LineTooLong as soon as the limit is passed, and its remaining bytes are dropped
    as they arrive, so a client sending megabytes without a newline costs ``max_line`` bytes of
    memory.  The search for ``\\n`` resumes where it stopped, so a line fed one byte at a time
    costs linear, not quadratic, time (as h11's ReceiveBuffer does).
    """

    def __init__(self, max_line: int = DEFAULT_MAX_LINE) -> None:
        if max_line < 2:
            raise ValueError("max_line must be at least 2 bytes")
        self.max_line = max_line
        self._buffer = bytearray()
        self._searched = 0
        self._discarding = False
        self._eof = False

    @property
    def buffered(self) -> int:
        """Bytes currently held (never more than max_line plus one chunk being scanned)."""
        return len(self._buffer)

    def receive_data(self, data: bytes) -> None:
        if self._eof:
            raise RuntimeError("receive_data after EOF")
        if not data:
            self._eof = True
            return
        self._buffer += data

    def next_event(self) -> LineEvent:
        while True:
            newline = self._buffer.find(b"\n", self._searched)
            if self._discarding:
                if newline < 0:
                    self._buffer.clear()
                    self._searched = 0
                    return EOF if self._eof else NEED_DATA
                del self._buffer[: newline + 1]
                self._searched = 0
                self._discarding = False
                continue
            if newline < 0:
                if len(self._buffer) >= self.max_line:
                    # Even its line end would now take it past the limit.
                    return self._start_discarding()
                self._searched = len(self._buffer)
                if self._eof:
                    self._buffer.clear()
                    return EOF
                return NEED_DATA
            if newline + 1 > self.max_line:
                return self._start_discarding()
            raw = bytes(self._buffer[:newline])
            del self._buffer[: newline + 1]
            self._searched = 0
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            first = raw[:1]
            try:
                return Line(raw.decode("utf-8"), first)
            except UnicodeDecodeError:
                return BadEncoding(first)

    def _start_discarding(self) -> LineTooLong:
        first = bytes(self._buffer[:1])
        self._discarding = True
        self._searched = 0
        return LineTooLong(first)

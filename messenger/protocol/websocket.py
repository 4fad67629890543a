"""The one piece of WebSocket the server writes itself: a server-to-client text frame (RFC 6455,
section 5.2), so that a frame for every web member is built once and shared, like the JSON and
text bytes of every other member.  Reading frames, the handshake and control frames are
wsproto's (server/web.py)."""

from __future__ import annotations

import struct

_FIN_TEXT = 0x81  # FIN, opcode 1 (text)


def text_frame(payload: bytes) -> bytes:
    """``payload`` (UTF-8) as one unmasked, final text frame: what a server sends."""
    length = len(payload)
    if length < 126:
        header = bytes((_FIN_TEXT, length))
    elif length < 1 << 16:
        header = struct.pack("!BBH", _FIN_TEXT, 126, length)
    else:
        header = struct.pack("!BBQ", _FIN_TEXT, 127, length)
    return header + payload

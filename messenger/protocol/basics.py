"""The constants and enums every part of the protocol uses: the version, the default address, the
integer range, the lobby, the connection modes, the error codes and leave reasons (enums in code,
their ``.value`` on the wire), and the timestamp format.  frames.py re-exports all of them."""

from __future__ import annotations

import enum
import time
from datetime import datetime, timezone

PROTOCOL_VERSION = 1
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5555
# Every integer field of a frame lies in 0..MAX_INT (tighter where docs/protocol.md says so):
# the range of SQLite's INTEGER, in which ids are stored and compared.
MAX_INT = 2**63 - 1
# Rooms: everyone starts in the lobby; a frame without a "room" field is about the lobby, so
# version 1 clients, which know nothing of rooms, see exactly the chat they always saw.
LOBBY = "#lobby"


class Mode(enum.Enum):
    """How a connection speaks: fixed by the first byte of its first line."""

    TEXT = "text"
    JSON = "json"
    WEB = "web"  # JSON frames, one per WebSocket text message (never detected from a line)

    # Hashed by identity, as members compare: a mode keys the bytes of every log entry, looked
    # up per connection per delivery round, and Enum's own __hash__ is a Python call each time.
    __hash__ = object.__hash__


def detect_mode(first_byte: bytes) -> Mode:
    """A first byte ``{`` means JSON mode, anything else text mode."""
    return Mode.JSON if first_byte[:1] == b"{" else Mode.TEXT


class ErrorCode(str, enum.Enum):
    """Every error code the server may send (docs/protocol.md, "Error codes")."""

    BAD_JSON = "bad_json"
    BAD_FRAME = "bad_frame"
    NOT_LOGGED_IN = "not_logged_in"
    ALREADY_LOGGED_IN = "already_logged_in"
    BAD_NAME = "bad_name"
    NAME_TAKEN = "name_taken"
    UNKNOWN_USER = "unknown_user"
    TOO_LONG = "too_long"
    BAD_ENCODING = "bad_encoding"
    EMPTY = "empty"
    # Extensions of this implementation.
    UNKNOWN_COMMAND = "unknown_command"
    LOGIN_TIMEOUT = "login_timeout"
    SERVER_FULL = "server_full"
    TLS_REQUIRED = "tls_required"
    # Accounts.
    PASSWORD_REQUIRED = "password_required"
    BAD_PASSWORD = "bad_password"
    RATE_LIMITED = "rate_limited"
    REPLACED = "replaced"
    NAME_REGISTERED = "name_registered"
    # Rooms.
    BAD_ROOM = "bad_room"
    NOT_IN_ROOM = "not_in_room"
    LAST_ROOM = "last_room"
    # Moderation.
    NOT_OPERATOR = "not_operator"
    NOT_PERMITTED = "not_permitted"
    BANNED = "banned"
    MUTED = "muted"
    INVITE_ONLY = "invite_only"
    MODERATED = "moderated"
    BAD_DURATION = "bad_duration"
    BAD_TARGET = "bad_target"
    NOT_BANNED = "not_banned"
    NOT_MUTED = "not_muted"
    NOT_REGISTERED = "not_registered"
    NO_REPLY = "no_reply"


class LeaveReason(str, enum.Enum):
    """Why someone left (the ``reason`` of a ``left`` frame; docs/protocol.md).  A ``left`` frame
    carries the ``.value``, and a client keeps any other reason a newer server may send."""

    QUIT = "quit"
    DISCONNECTED = "disconnected"
    PART = "part"
    TOO_SLOW = "too_slow"
    REPLACED = "replaced"
    KICKED = "kicked"
    BANNED = "banned"


# The last second ``timestamp`` formatted and its text up to the milliseconds, and the last
# millisecond's whole text: every message carries a timestamp, and formatting a datetime cost
# about a sixth of the reader loop's work per message (docs/performance.md); flat out, many
# messages share a millisecond.  Each is replaced whole (a tuple), so any thread may read it.
_second: tuple[int, str] = (-1, "")
_milli: tuple[int, str] = (-1, "")


def timestamp(moment: datetime | None = None) -> str:
    """ISO 8601 UTC with milliseconds, e.g. ``2026-11-24T21:50:00.123Z``."""
    global _second, _milli
    if moment is None:
        now = time.time_ns() // 1_000_000
        last = _milli  # read once: another thread may replace it meanwhile
        if last[0] == now:
            return last[1]
        second, millis = divmod(now, 1000)
        cached = _second
        if cached[0] != second:
            cached = _second = (second, time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(second)))
        text = f"{cached[1]}{millis:03d}Z"
        _milli = (now, text)
        return text
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"

"""The frames of the messenger wire protocol, version 1, and the enums and constants they use.

This module owns what a frame *is*: one frozen dataclass per frame type (its ``TYPE`` is the
``type`` on the wire), the ClientFrame / ServerFrame unions, the error codes and leave reasons
(enums in code, their ``.value`` on the wire), FrameError, the connection modes, and the
timestamp format.  How frames become bytes lives in codec.py (JSON) and textmode.py (text).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, ClassVar

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


class LeaveReason(str, enum.Enum):
    """Why someone left (the ``reason`` of a ``left`` frame; docs/protocol.md).  A ``left`` frame
    carries the ``.value``, and a client keeps any other reason a newer server may send."""

    QUIT = "quit"
    DISCONNECTED = "disconnected"
    PART = "part"
    TOO_SLOW = "too_slow"
    REPLACED = "replaced"


# --------------------------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hello:
    """Client → server: log in."""

    TYPE: ClassVar[str] = "hello"
    user: str
    history: int | None = None
    password: str | None = None
    # Log in to this account (with its password) under the name ``user``: how a session that
    # renamed itself gets its name back on reconnecting.
    account: str | None = None


@dataclass(frozen=True)
class Say:
    """Client → server: a message to everyone, or to one user when ``to`` is set."""

    TYPE: ClassVar[str] = "say"
    text: str
    to: str | None = None
    room: str | None = None  # None: the lobby


@dataclass(frozen=True)
class Me:
    """Client → server: an action message ("* alice waves")."""

    TYPE: ClassVar[str] = "me"
    text: str
    room: str | None = None


@dataclass(frozen=True)
class Who:
    """Client → server: ask for the user list: everyone online, or the members of ``room``."""

    TYPE: ClassVar[str] = "who"
    room: str | None = None


@dataclass(frozen=True)
class Join:
    """Client → server: join a room (created if nobody is in it)."""

    TYPE: ClassVar[str] = "join"
    room: str


@dataclass(frozen=True)
class Part:
    """Client → server: leave a room."""

    TYPE: ClassVar[str] = "part"
    room: str


@dataclass(frozen=True)
class Rooms:
    """Client → server: ask for the list of rooms."""

    TYPE: ClassVar[str] = "rooms"


@dataclass(frozen=True)
class Nick:
    """Client → server: change name."""

    TYPE: ClassVar[str] = "nick"
    user: str


@dataclass(frozen=True)
class Ping:
    """Client → server: liveness check; ``token`` (any JSON value) is echoed in the pong."""

    TYPE: ClassVar[str] = "ping"
    token: Any = None


@dataclass(frozen=True)
class Bye:
    """Client → server: leave cleanly."""

    TYPE: ClassVar[str] = "bye"


@dataclass(frozen=True)
class HistoryRequest:
    """Client → server: the ``limit`` newest messages with ids below ``before`` (None: the newest
    of all), answered by ``message`` frames marked ``history`` and one ``history_end``."""

    TYPE: ClassVar[str] = "history"
    limit: int | None = None
    before: int | None = field(default=None, metadata={"low": 1})  # ids start at 1
    room: str | None = None


@dataclass(frozen=True)
class Welcome:
    """Server → client: login accepted; ``users`` includes the newcomer."""

    TYPE: ClassVar[str] = "welcome"
    user: str
    users: tuple[str, ...]
    server: str
    protocol: int = PROTOCOL_VERSION
    account: str | None = None  # the registered name whose password this login gave, if any


@dataclass(frozen=True)
class Joined:
    """Server → client: someone joined."""

    TYPE: ClassVar[str] = "joined"
    user: str
    ts: str
    room: str | None = None  # None: the lobby (also: joined the server)


@dataclass(frozen=True)
class Left:
    """Server → client: someone left, with a reason such as ``quit`` or ``too_slow``."""

    TYPE: ClassVar[str] = "left"
    user: str
    ts: str
    reason: str = LeaveReason.QUIT.value
    room: str | None = None


@dataclass(frozen=True)
class Message:
    """Server → client: a chat message (``to`` for private, ``action`` for ``me``)."""

    TYPE: ClassVar[str] = "message"
    id: int
    sender: str  # "from" on the wire: a Python keyword
    text: str
    ts: str
    to: str | None = None
    action: bool = False
    history: bool = False
    room: str | None = None


@dataclass(frozen=True)
class Users:
    """Server → client: answer to ``who``."""

    TYPE: ClassVar[str] = "users"
    users: tuple[str, ...]
    room: str | None = None  # set when the question named a room


@dataclass(frozen=True)
class RoomInfo:
    """One line of a room list: its name and how many are in it."""

    room: str
    users: int


@dataclass(frozen=True)
class RoomList:
    """Server → client: answer to ``rooms``, sorted by name."""

    TYPE: ClassVar[str] = "rooms"
    rooms: tuple[RoomInfo, ...]


@dataclass(frozen=True)
class Renamed:
    """Server → client: someone changed name (``"type":"nick"`` on the wire)."""

    TYPE: ClassVar[str] = "nick"
    old: str
    new: str
    ts: str


@dataclass(frozen=True)
class Pong:
    """Server → client: answer to ``ping``; no token (or a null one) means none was sent."""

    TYPE: ClassVar[str] = "pong"
    token: Any = None


@dataclass(frozen=True)
class Error:
    """Server → client: a request was refused; ``re`` names the request type when known."""

    TYPE: ClassVar[str] = "error"
    code: str
    message: str
    re: str | None = None


@dataclass(frozen=True)
class HistoryEnd:
    """Server → client: the end of a ``history`` answer: ``count`` messages were sent, and
    ``more`` says whether older ones exist (ask again with ``before`` = the oldest id)."""

    TYPE: ClassVar[str] = "history_end"
    count: int
    more: bool = False


@dataclass(frozen=True)
class Shutdown:
    """Server → client: the server is stopping; the connection closes next."""

    TYPE: ClassVar[str] = "shutdown"
    message: str = "Server is shutting down. Goodbye!"


ClientFrame = Hello | Say | Me | Who | Nick | Ping | Bye | HistoryRequest | Join | Part | Rooms
# Every client frame class: codec.py parses each from its fields' type hints (a new request is a
# dataclass above and an entry here).
CLIENT_FRAMES: tuple[type[ClientFrame], ...] = (
    Hello,
    Say,
    Me,
    Who,
    Join,
    Part,
    Rooms,
    Nick,
    Ping,
    Bye,
    HistoryRequest,
)
SERVER_FRAME_TYPES = frozenset(
    cls.TYPE
    for cls in (Welcome, Joined, Left, Message, Users, Renamed, Pong, Error, HistoryEnd, RoomList, Shutdown)
)
ServerFrame = (
    Welcome | Joined | Left | Message | Users | Renamed | Pong | Error | HistoryEnd | RoomList | Shutdown
)
Frame = ClientFrame | ServerFrame


class FrameError(ValueError):
    """A line that is not an acceptable frame; carries the error code to answer with."""

    def __init__(self, code: ErrorCode, message: str, re: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.re = re

    def to_frame(self) -> Error:
        return Error(code=self.code.value, message=self.message, re=self.re)


def room_of(frame: Message | Joined | Left) -> str:
    """The room a frame is about: its ``room`` field, the lobby when there is none."""
    return frame.room or LOBBY


def timestamp(moment: datetime | None = None) -> str:
    """ISO 8601 UTC with milliseconds, e.g. ``2026-11-24T21:50:00.123Z``."""
    moment = (moment or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"

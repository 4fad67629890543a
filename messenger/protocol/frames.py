"""The frames of the messenger wire protocol, version 1.

This module owns what a frame *is*: one frozen dataclass per frame type (its ``TYPE`` is the
``type`` on the wire), the ClientFrame / ServerFrame unions and FrameError.  The moderation and
presence frames are in moderation.py; the constants and enums in basics.py (re-exported here).
How frames become bytes lives in codec.py (JSON) and textmode.py (text).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

# Re-exported (``noqa``): the rest of the package imports them from here, with the frames.
from .basics import (
    DEFAULT_HOST,  # noqa: F401
    DEFAULT_PORT,  # noqa: F401
    LOBBY,
    MAX_INT,  # noqa: F401
    PROTOCOL_VERSION,
    ErrorCode,
    LeaveReason,
    Mode,  # noqa: F401
    detect_mode,  # noqa: F401
    timestamp,  # noqa: F401
)
from .moderation import (
    Allow,
    Away,
    AwayStatus,
    Ban,
    BanList,
    BansRequest,
    Disallow,
    Ignore,
    IgnoredList,
    IgnoredRequest,
    Kick,
    ModeRequest,
    Motd,
    Mute,
    Notice,
    Reply,
    RoleRequest,
    RoomMode,
    Topic,
    TopicRequest,
    Unban,
    Unignore,
    Unmute,
    Whois,
    WhoisRequest,
)
from .quick import quick_init

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
    # ``true``: also send me ``away`` frames when anyone goes away or comes back (the web page
    # keeps its list of people current with them); a client that does not ask gets none.
    presence: bool | None = None


@quick_init
@dataclass(frozen=True)
class Say:
    """Client → server: a message to everyone, or to one user when ``to`` is set."""

    TYPE: ClassVar[str] = "say"
    text: str
    to: str | None = None
    room: str | None = None  # None: the lobby


@quick_init
@dataclass(frozen=True)
class Me:
    """Client → server: an action message ("* alice waves"), to a room, or to one user when
    ``to`` is set (a private action: IRC's ``/me`` in a query)."""

    TYPE: ClassVar[str] = "me"
    text: str
    room: str | None = None
    to: str | None = None


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
class Command:
    """Client → server: a line as text mode reads it (``/kick bob``, or a message), about
    ``room`` (the lobby when absent): how a JSON client without a parser of its own (the web
    page) gets the slash commands of the one table."""

    TYPE: ClassVar[str] = "command"
    text: str
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
    topic: str | None = None  # the lobby's topic, when it has one
    # How many are online, set only in a crowd (more than the server's crowd size): ``users``
    # then lists some of them (the first in sort order, the newcomer always), not everyone.
    count: int | None = None


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
    by: str | None = None  # kicked or banned: by whom
    message: str | None = None  # kicked or banned: why, as the operator said it


@dataclass(frozen=True)
class Presence:
    """Server → client: who came and went in a crowded room since the last such frame, one
    frame per room per interval instead of a ``joined`` or ``left`` each.  ``joined``: names
    here now that arrived (or came back) meanwhile; ``left``: names gone now that were here or
    came and went meanwhile; both cut to a few, in the order they came, ``joins`` and ``leaves``
    counting all of them; ``count``: how many are in the room now."""

    TYPE: ClassVar[str] = "presence"
    joined: tuple[str, ...]
    left: tuple[str, ...]
    joins: int
    leaves: int
    count: int
    ts: str
    room: str | None = None  # None: the lobby


@quick_init
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
    # Who of them is away, and why: name -> text (None when nobody is).
    away: dict[str, str] | None = field(default=None, hash=False)


@dataclass(frozen=True)
class RoomInfo:
    """One line of a room list: its name, how many are in it, and its topic if it has one."""

    room: str
    users: int
    topic: str | None = None


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


ClientFrame = (
    Hello | Say | Me | Who | Nick | Ping | Bye | HistoryRequest | Join | Part | Rooms | Command
    | Kick | Ban | Unban | BansRequest | Mute | Unmute | TopicRequest | ModeRequest | Allow | Disallow
    | Away | WhoisRequest | Ignore | Unignore | IgnoredRequest | Reply | RoleRequest
)  # fmt: skip
# Every client frame class: codec.py parses each from its fields' type hints (a new request is a
# dataclass and an entry here).
CLIENT_FRAMES: tuple[type[ClientFrame], ...] = (
    Hello, Say, Me, Who, Join, Part, Rooms, Nick, Ping, Bye, HistoryRequest, Command,
    Kick, Ban, Unban, BansRequest, Mute, Unmute, TopicRequest, ModeRequest, Allow, Disallow,
    Away, WhoisRequest, Ignore, Unignore, IgnoredRequest, Reply, RoleRequest,
)  # fmt: skip
ServerFrame = (
    Welcome | Joined | Left | Message | Users | Renamed | Pong | Error | HistoryEnd | RoomList | Shutdown
    | BanList | Topic | RoomMode | AwayStatus | Whois | IgnoredList | Notice | Motd | Presence
)  # fmt: skip
SERVER_FRAMES: tuple[type[ServerFrame], ...] = (
    Welcome, Joined, Left, Message, Users, Renamed, Pong, Error, HistoryEnd, RoomList, Shutdown,
    BanList, Topic, RoomMode, AwayStatus, Whois, IgnoredList, Notice, Motd, Presence,
)  # fmt: skip
SERVER_FRAME_TYPES = frozenset(cls.TYPE for cls in SERVER_FRAMES)
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


def room_of(frame: Message | Joined | Left | Presence) -> str:
    """The room a frame is about: its ``room`` field, the lobby when there is none."""
    return frame.room or LOBBY

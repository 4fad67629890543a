"""The messenger wire protocol, version 1, without any I/O.

This module owns everything both ends must agree on: the frame types, how a frame becomes a
line of bytes (JSON mode) or a line of text (text mode), how a stream of bytes is cut into
lines without ever buffering more than the line limit, how usernames are normalised and
validated, and how message text is sanitised.  It imports only the standard library and never
touches a socket, a thread or a terminal, so it can be tested bytes-in / frames-out.
"""

from __future__ import annotations

import enum
import functools
import json
import math
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, ClassVar

from .names import is_default_ignorable, mixed_scripts, name_skeleton
from .unicode_names import CONFUSABLES_VERSION, DEFAULT_IGNORABLE

PROTOCOL_VERSION = 1
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5555

# 16 KiB per line, counted with its line end.  Generous for chat (IRC allows 512 bytes, Matrix
# events 64 KiB in total) yet small enough that a thousand clients each holding a partial line
# cost only 16 MB.
DEFAULT_MAX_LINE = 16 * 1024

# Server lines may exceed the client limit (JSON escaping, added fields); clients accept this
# multiple of the server's line limit (docs/protocol.md, "Transport").
SERVER_LINE_FACTOR = 4

MAX_NAME_LENGTH = 32
# Every integer field of a frame lies in 0..MAX_INT (tighter where docs/protocol.md says so):
# the range of SQLite's INTEGER, in which ids are stored and compared.
MAX_INT = 2**63 - 1
# A frame's JSON nests at most this deep (the frame object is level 1), so whatever a client
# puts in a ping token can be parsed and echoed back from any thread's stack.
MAX_DEPTH = 32
NAME_PUNCTUATION = frozenset("_-.")
# Rooms: everyone starts in the lobby; a frame without a "room" field is about the lobby, so
# version 1 clients, which know nothing of rooms, see exactly the chat they always saw.
LOBBY = "#lobby"
MAX_ROOM_LENGTH = 32  # after the '#'
ROOM_PUNCTUATION = frozenset("_-")


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
    before: int | None = None
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
    reason: str = "quit"
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


# --------------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------------


def frame_to_dict(frame: Frame) -> dict[str, Any]:
    """The JSON object for a frame; optional fields are left out when unset."""
    obj: dict[str, Any] = {"type": frame.TYPE}
    if isinstance(frame, Message):
        obj.update(id=frame.id, **{"from": frame.sender}, text=frame.text, ts=frame.ts)
        if frame.to is not None:
            obj["to"] = frame.to
        if frame.action:
            obj["action"] = True
        if frame.history:
            obj["history"] = True
        if frame.room is not None:
            obj["room"] = frame.room
        return obj
    if isinstance(frame, RoomList):
        obj["rooms"] = [{"room": info.room, "users": info.users} for info in frame.rooms]
        return obj
    if isinstance(frame, (Ping, Pong)):
        if frame.token is not None:
            obj["token"] = frame.token
        return obj
    for name, value in vars(frame).items():
        if value is None:
            continue
        obj[name] = list(value) if isinstance(value, tuple) else value
    return obj


def encode(frame: Frame) -> bytes:
    """One JSON-mode line: compact UTF-8 JSON (no ASCII escaping) ended by ``\\n``."""
    # allow_nan=False: the parser never lets NaN or Infinity in, and nothing may go out that an
    # RFC 8259 parser (every browser) would reject.
    text = json.dumps(frame_to_dict(frame), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8") + b"\n"


# --------------------------------------------------------------------------------------------
# Decoding frames
# --------------------------------------------------------------------------------------------


def _require(obj: dict[str, Any], key: str, kind: type, type_name: str, optional: bool = False) -> Any:
    value = obj.get(key)
    if value is None and optional:
        return None
    # bool is a subclass of int in Python, never an acceptable int here.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        need = "optional " if optional else ""
        raise FrameError(
            ErrorCode.BAD_FRAME, f"'{type_name}' needs {need}field '{key}' of type {kind.__name__}", type_name
        )
    return value


def _optional_integer(obj: dict[str, Any], key: str, type_name: str, low: int = 0) -> int | None:
    """An integer field in ``low``..MAX_INT, or None when absent, so that no value a peer sends
    can overflow SQLite or any other code path later."""
    value = _require(obj, key, int, type_name, optional=True)
    if value is not None and not low <= value <= MAX_INT:
        raise FrameError(
            ErrorCode.BAD_FRAME, f"'{type_name}' field '{key}' must be from {low} to {MAX_INT}", type_name
        )
    return value


def _integer(obj: dict[str, Any], key: str, type_name: str, low: int = 0) -> int:
    """A required integer field in ``low``..MAX_INT."""
    _require(obj, key, int, type_name)
    value = _optional_integer(obj, key, type_name, low)
    assert value is not None
    return value


class _NotStrictJSON(ValueError):
    """Raised from json.loads hooks: what Python's json accepts but RFC 8259 does not."""


def _refuse_constant(name: str) -> Any:
    raise _NotStrictJSON(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotStrictJSON("a number is too large (it would be infinite)")
    return value


def _check_strings_and_depth(obj: object) -> tuple[bool, int]:
    """Whether any string (key or value) in a decoded JSON value is a lone surrogate, which no
    UTF-8 line can carry onwards; and how deep the value nests (a scalar is 0).  Iterative, so
    any depth json.loads accepted is walked without recursion."""
    surrogate, deepest = False, 0
    stack: list[tuple[object, int]] = [(obj, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if not surrogate:
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    surrogate = True
        elif isinstance(item, dict):
            deepest = max(deepest, depth + 1)
            stack.extend((part, depth + 1) for pair in item.items() for part in pair)
        elif isinstance(item, list):
            deepest = max(deepest, depth + 1)
            stack.extend((part, depth + 1) for part in item)
    return surrogate, deepest


def _too_deep(re: str | None = None) -> FrameError:
    return FrameError(ErrorCode.BAD_FRAME, f"a frame may nest at most {MAX_DEPTH} levels deep", re)


def _parse_object(text: str) -> dict[str, Any]:
    """Strict JSON (RFC 8259: no NaN, Infinity or numbers that overflow to it), an object, with a
    string ``type``, nested at most MAX_DEPTH deep and without lone surrogates."""
    try:
        obj = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except _NotStrictJSON as exc:
        raise FrameError(ErrorCode.BAD_JSON, f"that line is not valid JSON: {exc}") from None
    except RecursionError:
        raise _too_deep() from None
    except ValueError:
        raise FrameError(ErrorCode.BAD_JSON, "that line is not valid JSON") from None
    if not isinstance(obj, dict):
        raise FrameError(ErrorCode.BAD_FRAME, "a frame must be a JSON object")
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise FrameError(ErrorCode.BAD_FRAME, "a frame needs a string field 'type'")
    nested = text.count("[") + text.count("{") > MAX_DEPTH
    if nested or "\\u" in text:
        surrogate, depth = _check_strings_and_depth(obj)
        re = None if _check_strings_and_depth(kind)[0] else kind
        if surrogate:
            # JSON escapes can spell a lone surrogate, which no UTF-8 line can carry onwards.
            message = "a string holds an invalid \\u escape (a lone surrogate)"
            raise FrameError(ErrorCode.BAD_FRAME, message, re)
        if depth > MAX_DEPTH:
            raise _too_deep(re)
    return obj


def parse_client_frame(text: str) -> ClientFrame:
    """Parse one JSON-mode line sent by a client; unknown fields are ignored.

    Raises FrameError with ``bad_json`` or ``bad_frame``, in that order of checking.
    """
    obj = _parse_object(text)
    kind = obj["type"]
    if kind == "hello":
        return Hello(
            user=_require(obj, "user", str, kind),
            history=_optional_integer(obj, "history", kind),
            password=_require(obj, "password", str, kind, optional=True),
        )
    if kind == "say":
        return Say(
            text=_require(obj, "text", str, kind),
            to=_require(obj, "to", str, kind, optional=True),
            room=_require(obj, "room", str, kind, optional=True),
        )
    if kind == "me":
        return Me(text=_require(obj, "text", str, kind), room=_require(obj, "room", str, kind, optional=True))
    if kind == "who":
        return Who(room=_require(obj, "room", str, kind, optional=True))
    if kind == "join":
        return Join(room=_require(obj, "room", str, kind))
    if kind == "part":
        return Part(room=_require(obj, "room", str, kind))
    if kind == "rooms":
        return Rooms()
    if kind == "nick":
        return Nick(user=_require(obj, "user", str, kind))
    if kind == "ping":
        return Ping(token=obj.get("token"))
    if kind == "bye":
        return Bye()
    if kind == "history":
        return HistoryRequest(
            limit=_optional_integer(obj, "limit", kind),
            before=_optional_integer(obj, "before", kind, low=1),
            room=_require(obj, "room", str, kind, optional=True),
        )
    raise FrameError(ErrorCode.BAD_FRAME, f"unknown frame type '{kind}'", kind)


def _str_tuple(obj: dict[str, Any], key: str, kind: str) -> tuple[str, ...]:
    value = _require(obj, key, list, kind)
    if not all(isinstance(item, str) for item in value):
        raise FrameError(ErrorCode.BAD_FRAME, f"'{kind}' field '{key}' must be a list of strings", kind)
    return tuple(value)


def _room_list(obj: dict[str, Any]) -> RoomList:
    rooms = []
    for item in _require(obj, "rooms", list, "rooms"):
        if not isinstance(item, dict):
            raise FrameError(ErrorCode.BAD_FRAME, "'rooms' entries must be objects", "rooms")
        room = _require(item, "room", str, "rooms")
        rooms.append(RoomInfo(room=room, users=_integer(item, "users", "rooms")))
    return RoomList(rooms=tuple(rooms))


def parse_server_frame(text: str) -> ServerFrame:
    """Parse one line sent by a server.  Unknown frame types raise FrameError (callers that
    want forward compatibility catch it and skip the line)."""
    obj = _parse_object(text)
    kind = obj["type"]
    if kind == "welcome":
        return Welcome(
            user=_require(obj, "user", str, kind),
            users=_str_tuple(obj, "users", kind),
            server=_require(obj, "server", str, kind, optional=True) or "",
            protocol=_optional_integer(obj, "protocol", kind) or PROTOCOL_VERSION,
            account=_require(obj, "account", str, kind, optional=True),
        )
    if kind == "joined":
        return Joined(
            user=_require(obj, "user", str, kind),
            ts=_require(obj, "ts", str, kind, optional=True) or "",
            room=_require(obj, "room", str, kind, optional=True),
        )
    if kind == "left":
        return Left(
            user=_require(obj, "user", str, kind),
            ts=_require(obj, "ts", str, kind, optional=True) or "",
            reason=_require(obj, "reason", str, kind, optional=True) or "quit",
            room=_require(obj, "room", str, kind, optional=True),
        )
    if kind == "message":
        return Message(
            id=_integer(obj, "id", kind),
            sender=_require(obj, "from", str, kind),
            text=_require(obj, "text", str, kind),
            ts=_require(obj, "ts", str, kind, optional=True) or "",
            to=_require(obj, "to", str, kind, optional=True),
            action=obj.get("action") is True,
            history=obj.get("history") is True,
            room=_require(obj, "room", str, kind, optional=True),
        )
    if kind == "users":
        return Users(
            users=_str_tuple(obj, "users", kind), room=_require(obj, "room", str, kind, optional=True)
        )
    if kind == "rooms":
        return _room_list(obj)
    if kind == "nick":
        return Renamed(
            old=_require(obj, "old", str, kind),
            new=_require(obj, "new", str, kind),
            ts=_require(obj, "ts", str, kind, optional=True) or "",
        )
    if kind == "pong":
        return Pong(token=obj.get("token"))
    if kind == "error":
        return Error(
            code=_require(obj, "code", str, kind),
            message=_require(obj, "message", str, kind, optional=True) or "",
            re=_require(obj, "re", str, kind, optional=True),
        )
    if kind == "history_end":
        return HistoryEnd(count=_integer(obj, "count", kind), more=obj.get("more") is True)
    if kind == "shutdown":
        return Shutdown(message=_require(obj, "message", str, kind, optional=True) or "")
    raise FrameError(ErrorCode.BAD_FRAME, f"unknown frame type '{kind}'", kind)


# --------------------------------------------------------------------------------------------
# Cutting a byte stream into lines
# --------------------------------------------------------------------------------------------


class _Sentinel(enum.Enum):
    NEED_DATA = "NEED_DATA"
    EOF = "EOF"


NEED_DATA = _Sentinel.NEED_DATA
"""next_event(): no complete line yet; feed more bytes."""
EOF = _Sentinel.EOF
"""next_event(): the peer closed; an unfinished last line is discarded."""


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


# --------------------------------------------------------------------------------------------
# Names and text
# --------------------------------------------------------------------------------------------


class BadName(ValueError):
    """A username that breaks the naming rules; the message says which rule."""


def normalize_name(raw: str) -> str:
    """The name a user is known by: NFKC-normalised and trimmed.  Raises BadName."""
    name = unicodedata.normalize("NFKC", raw).strip()
    if not name:
        raise BadName("a name needs at least one character")
    if len(name) > MAX_NAME_LENGTH:
        raise BadName(f"a name has at most {MAX_NAME_LENGTH} characters")
    after_letter = False
    for char in name:
        category = unicodedata.category(char)
        if is_default_ignorable(char):
            # Variation selectors, zero-width characters, bidi controls: they draw nothing, so
            # "alice" with one after a letter would look exactly like "alice".
            raise BadName(f"U+{ord(char):04X} is an invisible character, not allowed in a name")
        if category.startswith("L"):
            after_letter = True
        elif category in ("Mn", "Mc"):
            # Combining marks complete a letter (Indic vowel signs, viramas), never start one.
            if not after_letter:
                raise BadName("a combining mark must follow a letter")
        elif category == "Nd" or char in NAME_PUNCTUATION:
            after_letter = False
        else:
            shown = char if char.isprintable() and not char.isspace() else f"U+{ord(char):04X}"
            raise BadName(f"'{shown}' is not allowed; use letters, digits, '_', '-' or '.'")
    scripts = mixed_scripts(name)
    if scripts:
        raise BadName(f"a name takes its letters from one script, not {' and '.join(scripts)}")
    return name


class BadRoom(ValueError):
    """A room name that breaks the rules; the message says which rule."""


@functools.lru_cache(maxsize=1024)  # a server sees few distinct room names, each very often
def normalize_room(raw: str) -> str:
    """The form a room is known and compared by: NFKC, trimmed, case-folded (``#Ops`` is
    ``#ops``).  ``#`` and then 1–32 letters, digits, ``_`` or ``-``.  Raises BadRoom."""
    room = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", raw).strip().casefold())
    if not room.startswith("#"):
        raise BadRoom("a room name starts with '#', like #lobby")
    body = room[1:]
    if not body:
        raise BadRoom("a room name needs at least one character after '#'")
    if len(body) > MAX_ROOM_LENGTH:
        raise BadRoom(f"a room name has at most {MAX_ROOM_LENGTH} characters after '#'")
    after_letter = False
    for char in body:
        category = unicodedata.category(char)
        if is_default_ignorable(char):  # "#ops" + U+FE0F would look exactly like #ops
            raise BadRoom(f"U+{ord(char):04X} is an invisible character, not allowed in a room name")
        if category.startswith("L"):
            after_letter = True
        elif category in ("Mn", "Mc") and after_letter:
            continue
        elif category == "Nd" or char in ROOM_PUNCTUATION:
            after_letter = False
        else:
            shown = char if char.isprintable() and not char.isspace() else f"U+{ord(char):04X}"
            raise BadRoom(f"'{shown}' is not allowed in a room name; use letters, digits, '_' or '-'")
    scripts = mixed_scripts(body)
    if scripts:  # "#оps" with a Cyrillic "о" would pass for #ops
        raise BadRoom(f"a room name takes its letters from one script, not {' and '.join(scripts)}")
    return room


def room_of(frame: Message | Joined | Left) -> str:
    """The room a frame is about: its ``room`` field, the lobby when there is none."""
    return frame.room or LOBBY


# Which rule made a stored key: databases made under another one are re-keyed when opened.
NAME_KEY_RULE = f"uts39-{CONFUSABLES_VERSION}-upper-first-1"


def comparison_form(text: str) -> str:
    """``text`` as names are compared: NFKC, trimmed, then the case-insensitive confusable
    skeleton of Unicode's UTS #39 (messenger/names.py), so "aIice", "ɑlice" and "ALİCE" are all
    "alice".  Not cached: also used on message text (mentions)."""
    return name_skeleton(unicodedata.normalize("NFKC", text).strip())


def name_key(name: str) -> str:
    """The form names are compared in (see ``comparison_form``): two names with the same key are
    the same name, whoever holds it, online, registered, or in the history."""
    if len(name) > _CACHED_NAME_LENGTH:  # not a name (a /msg target can be a whole line)
        return comparison_form(name)
    return _cached_name_key(name)


# The registry asks at every login, rename and private message; only strings that can be names
# are kept, so the cache holds at most a few hundred KiB whatever clients send.
_CACHED_NAME_LENGTH = 2 * MAX_NAME_LENGTH
_cached_name_key = functools.lru_cache(maxsize=4096)(comparison_form)


_CONTROL = {code: None for code in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)) if code != 0x09}


def sanitize_text(text: str) -> str:
    """Strip C0/C1 control characters (tab kept) and DEL so no escape sequence gets through."""
    return text.translate(_CONTROL)


# What a terminal must not be given, besides control characters: the bidi controls that reorder a
# line (embeddings, overrides, isolates, and the marks U+200E, U+200F, U+061C) and the other
# default-ignorable characters, which draw nothing (zero-width space, word joiner, BOM, soft
# hyphen, Hangul fillers ...).  Kept, because they reorder nothing and real text needs them:
# ZWNJ and ZWJ (Persian and Indic shaping, emoji sequences), variation selectors (emoji or text
# style) and tag characters (flag emoji of England, Scotland, Wales).
_KEPT_IGNORABLE = frozenset(
    [0x200C, 0x200D, 0x180B, 0x180C, 0x180D, 0x180F, *range(0xFE00, 0xFE10), *range(0xE0000, 0xE0080)]
).union(range(0xE0100, 0xE01F0))
_NOT_FOR_TERMINALS = {
    **_CONTROL,
    **{
        code: None
        for first, last in DEFAULT_IGNORABLE
        for code in range(first, last + 1)
        if code not in _KEPT_IGNORABLE
    },
}


def for_terminal(text: str) -> str:
    """Text as a terminal may show it: no control characters (tab kept) and nothing invisible
    that could change the order a line is read in (U+202E would make it read backwards).  The
    characters are removed, not replaced, so what remains is the text in the order it was sent.
    Text-mode lines and the terminal client show everything through this; JSON clients get the
    text as sent."""
    if text.isascii() and text.isprintable():
        return text
    return text.translate(_NOT_FOR_TERMINALS)


def is_blank(text: str) -> bool:
    """True for text that must not be broadcast: empty or only whitespace."""
    return not text.strip()


def timestamp(moment: datetime | None = None) -> str:
    """ISO 8601 UTC with milliseconds, e.g. ``2026-11-24T21:50:00.123Z``."""
    moment = (moment or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# --------------------------------------------------------------------------------------------
# Text mode
# --------------------------------------------------------------------------------------------

TEXT_HELP = (
    "Commands: /who (who is online), /msg NAME TEXT (private message), /me TEXT (action),",
    "/nick NAME (change name), /join #ROOM (join a room, or switch to it), /part [#ROOM]",
    "(leave a room), /rooms (list rooms), /who [#ROOM], /history [N] (earlier messages),",
    "/ping (check the server answers), /quit (leave), /help (this text). Lines go to the room",
    "joined last. Start a message with // to send a line that begins with /.",
)

_LEFT_REASONS = {
    "quit": "",
    "disconnected": "",
    "part": "",
    "too_slow": " (too slow)",
    "replaced": " (replaced)",
}


def text_line(frame: ServerFrame, current_room: str = LOBBY) -> str:
    """The text-mode wording of a server frame, without line end (the seed's lines where the
    seed has them).  A message from a room other than the reader's ``current_room`` starts
    with that room's name: ``[#ops] alice: hi``.  Everything in it that a user chose (text,
    names, rooms, echoed input) is passed through ``for_terminal``: nc shows it raw."""
    return for_terminal(_wording(frame, current_room))


def _wording(frame: ServerFrame, current_room: str) -> str:
    if isinstance(frame, Message):
        mark = "[history] " if frame.history else ""
        if frame.to is None and room_of(frame) != current_room:
            mark += f"[{room_of(frame)}] "
        if frame.to is not None:
            body = f"* {frame.sender} {frame.text}" if frame.action else f"{frame.sender}: {frame.text}"
            return f"{mark}[private to {frame.to}] {body}"
        if frame.action:
            return f"{mark}* {frame.sender} {frame.text}"
        return f"{mark}{frame.sender}: {frame.text}"
    if isinstance(frame, Joined):
        where = "the chat!" if frame.room is None else frame.room
        return f"{frame.user} has joined {where}"
    if isinstance(frame, Left):
        suffix = _LEFT_REASONS.get(frame.reason, f" ({frame.reason})")
        where = "the chat!" if frame.room is None else frame.room
        return f"{frame.user} has left {where}{suffix}"
    if isinstance(frame, Welcome):
        count = len(frame.users)
        people = "person" if count == 1 else "people"
        return (
            f"Welcome, {frame.user}! {count} {people} online: {', '.join(frame.users)}. "
            "Type /help for commands."
        )
    if isinstance(frame, Users):
        where = "" if frame.room is None else f" in {frame.room}"
        return f"Online{where} ({len(frame.users)}): {', '.join(frame.users)}"
    if isinstance(frame, RoomList):
        return "Rooms: " + ", ".join(f"{info.room} ({info.users})" for info in frame.rooms)
    if isinstance(frame, Renamed):
        return f"{frame.old} is now known as {frame.new}"
    if isinstance(frame, Pong):
        return "pong" if frame.token is None else f"pong {frame.token}"
    if isinstance(frame, Error):
        return f"error: {frame.message}"
    if isinstance(frame, HistoryEnd):
        more = "; ask for more with /history N" if frame.more else ""
        return f"End of history ({frame.count} message{'' if frame.count == 1 else 's'}{more})."
    if isinstance(frame, Shutdown):
        return frame.message or Shutdown.message
    raise TypeError(f"no text wording for {type(frame).__name__}")


def encode_text(frame: ServerFrame, current_room: str = LOBBY) -> bytes:
    """One text-mode line: the wording of ``text_line`` in UTF-8, ended by ``\\n``."""
    return text_line(frame, current_room).encode("utf-8") + b"\n"


def encode_for(mode: Mode, frame: ServerFrame) -> bytes:
    """The bytes of ``frame`` for a connection in ``mode``."""
    return encode(frame) if mode is Mode.JSON else encode_text(frame)


@dataclass(frozen=True)
class TextCommand:
    """A parsed text-mode line: the client frame it stands for, or a local action."""

    frame: ClientFrame | None = None
    help: bool = False


def in_room(frame: ClientFrame, room: str) -> ClientFrame:
    """A typed line is about the typist's current ``room``: messages, actions, ``/history`` and a
    bare ``/part``.  Lobby frames carry no room, like those of a client that knows nothing of
    rooms (and are returned as they are: the common case costs nothing)."""
    if room == LOBBY and not isinstance(frame, Part):
        return frame
    if isinstance(frame, Say) and frame.to is None and frame.room is None:
        return replace(frame, room=room)
    if isinstance(frame, (Me, HistoryRequest)) and frame.room is None:
        return replace(frame, room=room)
    if isinstance(frame, Part) and not frame.room:
        return replace(frame, room=room)
    return frame


def parse_text_command(line: str) -> TextCommand:
    """Turn a logged-in text-mode line into a frame.  Raises FrameError for bad commands."""
    if not line.startswith("/") or line.startswith("//"):
        return TextCommand(Say(text=line[1:] if line.startswith("//") else line))
    command, _, rest = line[1:].partition(" ")
    command = command.lower()
    rest = rest.strip()
    if command == "who":
        return TextCommand(Who(room=rest or None))
    if command == "join":
        if not rest:
            raise FrameError(ErrorCode.BAD_FRAME, "usage: /join #ROOM", "join")
        return TextCommand(Join(room=rest))
    if command == "part":
        return TextCommand(Part(room=rest))  # "": the current room
    if command == "rooms":
        return TextCommand(Rooms())
    if command == "me":
        if not rest:
            raise FrameError(ErrorCode.BAD_FRAME, "usage: /me TEXT", "me")
        return TextCommand(Me(text=rest))
    if command == "quit":
        return TextCommand(Bye())
    if command == "help":
        return TextCommand(help=True)
    if command == "nick":
        if not rest:
            raise FrameError(ErrorCode.BAD_FRAME, "usage: /nick NAME", "nick")
        return TextCommand(Nick(user=rest))
    if command == "msg":
        name, _, text = rest.partition(" ")
        if not name or not text.strip():
            raise FrameError(ErrorCode.BAD_FRAME, "usage: /msg NAME TEXT", "say")
        return TextCommand(Say(text=text, to=name))
    if command == "ping":
        return TextCommand(Ping(token=rest or None))
    if command == "history":
        # Digits are counted before int(): Python refuses to convert more than 4300 of them.
        number = rest.isascii() and rest.isdigit() and len(rest) <= len(str(MAX_INT))
        if rest and not (number and int(rest) <= MAX_INT):
            raise FrameError(ErrorCode.BAD_FRAME, "usage: /history [N]", "history")
        return TextCommand(HistoryRequest(limit=int(rest) if rest else None))
    raise FrameError(ErrorCode.UNKNOWN_COMMAND, f"unknown command /{command}; type /help for commands")

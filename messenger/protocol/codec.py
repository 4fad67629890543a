"""Strict JSON in and out: a frame to one JSON-mode line, and a line back to a frame.

This module owns the JSON mode of the wire: ``encode`` / ``frame_to_dict`` on the way out, and
``parse_client_frame`` / ``parse_server_frame`` on the way in, which accept only RFC 8259 JSON
(no NaN or Infinity, no lone surrogates, at most MAX_DEPTH levels deep) and check every field's
type and range, raising FrameError with the code to answer.
"""

from __future__ import annotations

import dataclasses
import json
import math
import typing
from collections.abc import Callable
from typing import Any, cast

from .frames import (
    CLIENT_FRAMES,
    MAX_INT,
    PROTOCOL_VERSION,
    ClientFrame,
    Error,
    ErrorCode,
    Frame,
    FrameError,
    HistoryEnd,
    Joined,
    Left,
    Message,
    Ping,
    Pong,
    Presence,
    Renamed,
    RoomInfo,
    RoomList,
    ServerFrame,
    Shutdown,
    Users,
    Welcome,
)
from .messageline import message_json
from .moderation import MODERATION_ANSWERS, BanInfo

# A frame's JSON nests at most this deep (the frame object is level 1), so whatever a client
# puts in a ping token can be parsed and echoed back from any thread's stack.
MAX_DEPTH = 32


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
        obj["rooms"] = [_plain(info) for info in frame.rooms]
        return obj
    if isinstance(frame, (Ping, Pong)):
        if frame.token is not None:
            obj["token"] = frame.token
        return obj
    for name, value in vars(frame).items():
        if value is None:
            continue
        obj[name] = [_plain(item) for item in value] if isinstance(value, tuple) else value
    return obj


def _plain(item: Any) -> Any:
    """An item of a list field: a dataclass (a ban) as an object without its unset fields."""
    if dataclasses.is_dataclass(item):
        return {key: value for key, value in vars(item).items() if value is not None}
    return item


def encode(frame: Frame) -> bytes:
    """One JSON-mode line: compact UTF-8 JSON (no ASCII escaping) ended by ``\\n``."""
    if type(frame) is Message:
        return message_json(frame).encode("utf-8")
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
    reader = _CLIENT_READERS.get(kind)
    if reader is None:
        raise FrameError(ErrorCode.BAD_FRAME, f"unknown frame type '{kind}'", kind)
    cls, fields = reader
    return cls(**{name: read(obj, name, kind) for name, read in fields})


# How one field is read: from the object, by its name, for a frame of the given type.
FieldReader = Callable[[dict[str, Any], str, str], Any]


def _field_reader(hint: Any, low: int) -> FieldReader:
    """How a field with type ``hint`` is read and checked: strings and integers (required or
    optional, integers from ``low`` to MAX_INT), flags (only ``true`` sets one), anything."""
    if hint is str:
        return lambda obj, key, kind: _require(obj, key, str, kind)
    if hint == str | None:
        return lambda obj, key, kind: _require(obj, key, str, kind, optional=True)
    if hint == int | None:
        return lambda obj, key, kind: _optional_integer(obj, key, kind, low)
    if hint is int:
        return lambda obj, key, kind: _integer(obj, key, kind, low)
    if hint is bool:
        return lambda obj, key, kind: obj.get(key) is True
    if hint == bool | None:
        return lambda obj, key, kind: _require(obj, key, bool, kind, optional=True)
    if hint == tuple[str, ...]:
        return lambda obj, key, kind: _str_tuple(obj, key, kind)
    if hint == tuple[BanInfo, ...]:
        return lambda obj, key, kind: _ban_infos(obj, key, kind)
    if hint is Any:
        return lambda obj, key, kind: obj.get(key)
    raise TypeError(f"no JSON reading for a field of type {hint}")


def _readers(
    classes: tuple[type[ClientFrame], ...],
) -> dict[str, tuple[type[Any], list[tuple[str, FieldReader]]]]:
    """For each client frame type: its class and how each of its fields is read."""
    table: dict[str, tuple[type[Any], list[tuple[str, FieldReader]]]] = {}
    for cls in classes:
        hints = typing.get_type_hints(cls)
        fields = [
            (item.name, _field_reader(hints[item.name], item.metadata.get("low", 0)))
            for item in dataclasses.fields(cls)
        ]
        table[cls.TYPE] = (cls, fields)
    return table


_CLIENT_READERS = _readers(CLIENT_FRAMES)
# The server frames without a reader of their own below.
_SERVER_READERS = _readers((*MODERATION_ANSWERS, Presence))


def _str_tuple(obj: dict[str, Any], key: str, kind: str) -> tuple[str, ...]:
    value = _require(obj, key, list, kind)
    if not all(isinstance(item, str) for item in value):
        raise FrameError(ErrorCode.BAD_FRAME, f"'{kind}' field '{key}' must be a list of strings", kind)
    return tuple(value)


def _ban_infos(obj: dict[str, Any], key: str, kind: str) -> tuple[BanInfo, ...]:
    bans = []
    for item in _require(obj, key, list, kind):
        if not isinstance(item, dict):
            raise FrameError(ErrorCode.BAD_FRAME, f"'{kind}' entries must be objects", kind)
        bans.append(
            BanInfo(
                target=_require(item, "target", str, kind),
                kind=_require(item, "kind", str, kind),
                by=_require(item, "by", str, kind),
                since=_require(item, "since", str, kind),
                until=_require(item, "until", str, kind, optional=True),
                reason=_require(item, "reason", str, kind, optional=True),
            )
        )
    return tuple(bans)


def _away(obj: dict[str, Any], kind: str) -> dict[str, str] | None:
    away = _require(obj, "away", dict, kind, optional=True)
    if away is not None and not all(isinstance(text, str) for text in away.values()):
        raise FrameError(ErrorCode.BAD_FRAME, f"'{kind}' field 'away' must map names to strings", kind)
    return away


def _room_list(obj: dict[str, Any]) -> RoomList:
    rooms = []
    for item in _require(obj, "rooms", list, "rooms"):
        if not isinstance(item, dict):
            raise FrameError(ErrorCode.BAD_FRAME, "'rooms' entries must be objects", "rooms")
        room = _require(item, "room", str, "rooms")
        topic = _require(item, "topic", str, "rooms", optional=True)
        rooms.append(RoomInfo(room=room, users=_integer(item, "users", "rooms"), topic=topic))
    return RoomList(rooms=tuple(rooms))


def _welcome(obj: dict[str, Any]) -> Welcome:
    kind = "welcome"
    return Welcome(
        user=_require(obj, "user", str, kind),
        users=_str_tuple(obj, "users", kind),
        server=_require(obj, "server", str, kind, optional=True) or "",
        protocol=_optional_integer(obj, "protocol", kind) or PROTOCOL_VERSION,
        account=_require(obj, "account", str, kind, optional=True),
        topic=_require(obj, "topic", str, kind, optional=True),
        count=_optional_integer(obj, "count", kind),
    )


def _message(obj: dict[str, Any]) -> Message:
    kind = "message"
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


def parse_server_frame(text: str) -> ServerFrame:
    """Parse one line sent by a server.  Unknown frame types raise FrameError (callers that
    want forward compatibility catch it and skip the line)."""
    obj = _parse_object(text)
    kind = obj["type"]
    if kind == "welcome":
        return _welcome(obj)
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
            by=_require(obj, "by", str, kind, optional=True),
            message=_require(obj, "message", str, kind, optional=True),
        )
    if kind == "message":
        return _message(obj)
    if kind == "users":
        return Users(
            users=_str_tuple(obj, "users", kind),
            room=_require(obj, "room", str, kind, optional=True),
            away=_away(obj, kind),
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
    reader = _SERVER_READERS.get(kind)
    if reader is None:
        raise FrameError(ErrorCode.BAD_FRAME, f"unknown frame type '{kind}'", kind)
    cls, fields = reader
    return cast(ServerFrame, cls(**{name: read(obj, name, kind) for name, read in fields}))

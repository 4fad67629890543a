"""Text mode's wording: what a text-mode connection (nc, telnet) reads for each server frame.

``text_line`` words a frame (the tutorial's lines where the tutorial has them); ``encode_text``
and ``encode_for`` give the bytes.  One function per frame type, in ``_WORDING``: a new server
frame is one function and one entry.  Everything a user chose (text, names, rooms, echoed input)
is passed through ``for_terminal``: nc shows it raw.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .codec import encode
from .frames import (
    LOBBY,
    Error,
    HistoryEnd,
    Joined,
    LeaveReason,
    Left,
    Message,
    Mode,
    Pong,
    Presence,
    Renamed,
    RoomInfo,
    RoomList,
    ServerFrame,
    Shutdown,
    Users,
    Welcome,
    room_of,
)
from .moderation import AwayStatus, BanList, IgnoredList, Motd, Notice, RoomMode, Topic, Whois
from .names import for_terminal

_LEFT_REASONS = {
    LeaveReason.QUIT.value: "",
    LeaveReason.DISCONNECTED.value: "",
    LeaveReason.PART.value: "",
    LeaveReason.TOO_SLOW.value: " (too slow)",
    LeaveReason.REPLACED.value: " (replaced)",
}


def text_line(frame: ServerFrame, current_room: str = LOBBY) -> str:
    """The text-mode wording of a server frame, without line end.  A message from a room other
    than the reader's ``current_room`` starts with that room's name: ``[#ops] alice: hi``.  A
    message of the day has its lines joined by ``\\n``, and a welcome is followed by the lobby's
    topic on a line of its own; no other frame's wording can make a second line, whatever the
    user's text holds."""
    wording = _WORDING.get(type(frame))
    if wording is None:
        raise TypeError(f"no text wording for {type(frame).__name__}")
    if isinstance(frame, (Motd, Welcome)):
        return wording(frame, current_room)  # each of its lines passed through for_terminal
    return for_terminal(wording(frame, current_room))


def encode_text(frame: ServerFrame, current_room: str = LOBBY) -> bytes:
    """One text-mode line: the wording of ``text_line`` in UTF-8, ended by ``\\n``."""
    return text_line(frame, current_room).encode("utf-8") + b"\n"


def encode_for(mode: Mode, frame: ServerFrame) -> bytes:
    """The bytes of ``frame`` for a connection in ``mode``."""
    return encode(frame) if mode is Mode.JSON else encode_text(frame)


def _single(text: str) -> str:
    """User-chosen text that must stay on one line (a topic, a reason, an away text)."""
    return " ".join(text.splitlines())


def _message(frame: Message, current_room: str) -> str:
    mark = "[history] " if frame.history else ""
    if frame.to is None and room_of(frame) != current_room:
        mark += f"[{room_of(frame)}] "
    body = f"* {frame.sender} {frame.text}" if frame.action else f"{frame.sender}: {frame.text}"
    if frame.to is not None:
        return f"{mark}[private to {frame.to}] {body}"
    return f"{mark}{body}"


def _joined(frame: Joined, current_room: str) -> str:
    return f"{frame.user} has joined {'the chat!' if frame.room is None else frame.room}"


def _left(frame: Left, current_room: str) -> str:
    where = "the chat!" if frame.room is None else frame.room
    if frame.by is not None:  # kicked or banned
        why = f": {_single(frame.message)}" if frame.message else ""
        return f"{frame.user} has left {where} ({frame.reason} by {frame.by}{why})"
    return f"{frame.user} has left {where}{_LEFT_REASONS.get(frame.reason, f' ({frame.reason})')}"


def _welcome(frame: Welcome, current_room: str) -> str:
    count = len(frame.users) if frame.count is None else frame.count
    people = "person" if count == 1 else "people"
    names = _some(frame.users, count)
    line = f"Welcome, {frame.user}! {count} {people} online: {names}. Type /help for commands."
    if not frame.topic:
        return for_terminal(line)
    return for_terminal(line) + "\n" + for_terminal(f"Topic of {LOBBY}: {_single(frame.topic)}")


def _some(names: tuple[str, ...], total: int) -> str:
    """``a, b, c``, or ``a, b, c and 9 more`` when ``names`` holds only some of ``total``."""
    more = f" and {total - len(names)} more" if total > len(names) else ""
    return ", ".join(names) + more


def _presence(frame: Presence, current_room: str) -> str:
    """``12 people joined the chat: a, b and 10 more; 2 left: c, d (5012 online)``."""
    where = "the chat" if frame.room is None else frame.room
    parts = []
    if frame.joins:
        people = "person" if frame.joins == 1 else "people"
        parts.append(f"{frame.joins} {people} joined {where}: {_some(frame.joined, frame.joins)}")
    if frame.leaves:
        people = "" if parts else (" person" if frame.leaves == 1 else " people")
        gone = f"{frame.leaves}{people} left{'' if parts else ' ' + where}: {_some(frame.left, frame.leaves)}"
        parts.append(gone)
    total = f"{frame.count} online" if frame.room is None else f"{frame.count} in {frame.room}"
    return "; ".join(parts) + f" ({total})"


def _users(frame: Users, current_room: str) -> str:
    where = "" if frame.room is None else f" in {frame.room}"
    line = f"Online{where} ({len(frame.users)}): {', '.join(frame.users)}"
    if frame.away:
        away = sorted(frame.away.items())
        line += "; away: " + ", ".join(f"{name} ({_single(text)})" for name, text in away)
    return line


def _room_info(info: RoomInfo) -> str:
    topic = f": {_single(info.topic)}" if info.topic else ""
    return f"{info.room} ({info.users}{topic})"


def _history_end(frame: HistoryEnd, current_room: str) -> str:
    more = "; ask for more with /history N" if frame.more else ""
    return f"End of history ({frame.count} message{'' if frame.count == 1 else 's'}{more})."


def _bans(frame: BanList, current_room: str) -> str:
    if not frame.bans:
        return "No bans."
    items = []
    for ban in frame.bans:
        until = f" until {ban.until}" if ban.until else ""
        why = f": {_single(ban.reason)}" if ban.reason else ""
        items.append(f"{ban.target} ({ban.kind}, by {ban.by}{until}{why})")
    return f"Bans ({len(frame.bans)}): " + "; ".join(items)


def _topic(frame: Topic, current_room: str) -> str:
    if not frame.text:
        return f"{frame.room} has no topic" + (f" (cleared by {frame.by})" if frame.by else "")
    by = f" (set by {frame.by})" if frame.by else ""
    return f"Topic of {frame.room}: {_single(frame.text)}{by}"


def _mode(frame: RoomMode, current_room: str) -> str:
    flags = [word for on, word in ((frame.invite_only, "invite-only"), (frame.moderated, "moderated")) if on]
    by = f" (set by {frame.by})" if frame.by else ""
    return f"{frame.room} is {' and '.join(flags) or 'open to everyone'}{by}"


def _away(frame: AwayStatus, current_room: str) -> str:
    return f"{frame.user} is back" if frame.text is None else f"{frame.user} is away: {_single(frame.text)}"


def _whois(frame: Whois, current_room: str) -> str:
    parts = [
        "registered" if frame.registered else "not registered",
        f"role {frame.role}",
        f"in {', '.join(frame.rooms)}",
        f"idle {frame.idle}s",
        f"connected since {frame.since}",
    ]
    if frame.away is not None:
        parts.append(f"away: {_single(frame.away)}")
    if frame.address is not None:
        parts.append(f"from {frame.address}")
    return f"{frame.user}: " + "; ".join(parts)


def _ignored(frame: IgnoredList, current_room: str) -> str:
    return f"Ignored ({len(frame.users)}): {', '.join(frame.users)}" if frame.users else "You ignore nobody."


def _motd(frame: Motd, current_room: str) -> str:
    return "\n".join(for_terminal(f"- {line}") for line in frame.text.splitlines() or [""])


_WORDING: dict[type[Any], Callable[[Any, str], str]] = {
    Message: _message,
    Joined: _joined,
    Left: _left,
    Welcome: _welcome,
    Users: _users,
    RoomList: lambda frame, _: "Rooms: " + ", ".join(map(_room_info, frame.rooms)),
    Renamed: lambda frame, _: f"{frame.old} is now known as {frame.new}",
    Pong: lambda frame, _: "pong" if frame.token is None else f"pong {frame.token}",
    Error: lambda frame, _: f"error: {frame.message}",
    HistoryEnd: _history_end,
    Shutdown: lambda frame, _: frame.message or Shutdown.message,
    BanList: _bans,
    Topic: _topic,
    RoomMode: _mode,
    AwayStatus: _away,
    Whois: _whois,
    IgnoredList: _ignored,
    Notice: lambda frame, _: f"*** {_single(frame.text)}",
    Motd: _motd,
    Presence: _presence,
}

"""Rooms' settings: a topic, the invite-only and moderated modes, and the names allowed in.

RoomSettingsSteps is a mixin of Registry and keeps its rule: every operation runs under the
registry's lock (``_operation``) and commits its events at once.  A room's settings last while
the room exists; a room whose modes or allowed names an operator set keeps them when it empties
(only operators can make such entries, so their number stays small).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from ..protocol.frames import LOBBY, ErrorCode, FrameError, timestamp
from ..protocol.moderation import RoomMode, Topic
from ..protocol.names import name_key
from .events import Batch
from .members import Member

OPERATOR_ROLES = frozenset({"op", "admin"})


def is_operator(member: Member) -> bool:
    return member.role in OPERATOR_ROLES


def _allowed(member: Member, settings: RoomSettings) -> bool:
    """Whether an operator allowed ``member`` in: by its name, or by its account's."""
    if member.key in settings.allowed:
        return True
    return member.account is not None and name_key(member.account) in settings.allowed


@dataclass
class RoomSettings:
    topic: str = ""
    topic_by: str | None = None
    topic_ts: str | None = None
    invite_only: bool = False
    moderated: bool = False
    allowed: set[str] = field(default_factory=set)  # name keys

    @property
    def kept(self) -> bool:
        """Whether an operator set something that outlives the room's last member."""
        return self.invite_only or self.moderated or bool(self.allowed)


class RoomSettingsSteps:
    """Registry's room-settings methods; the fields and helpers they use are Registry's."""

    _lock: threading.Lock
    _rooms: dict[str, dict[Member, None]]
    _settings: dict[str, RoomSettings]

    def _topic_of_locked(self, room: str) -> str | None:
        settings = self._settings.get(room)
        return settings.topic if settings is not None and settings.topic else None

    def _may_speak_locked(self, member: Member, room: str) -> bool:
        settings = self._settings.get(room)
        return (
            settings is None
            or not settings.moderated
            or is_operator(member)
            or member.key in settings.allowed
        )

    def _may_enter_locked(self, member: Member, room: str) -> bool:
        settings = self._settings.get(room)
        if settings is None or not settings.invite_only or is_operator(member):
            return True
        return _allowed(member, settings)

    def _on_entering_locked(self, out: Batch, member: Member, room: str) -> None:
        """What a newcomer to ``room`` learns of it after its ``joined``: topic and modes."""
        settings = self._settings.get(room)
        if settings is None:
            return
        if settings.topic:
            out.send(Topic(room, settings.topic, settings.topic_by, settings.topic_ts), (member,))
        if settings.invite_only or settings.moderated:
            out.send(RoomMode(room, settings.invite_only, settings.moderated), (member,))

    def _forget_settings_locked(self, room: str) -> None:
        """The room emptied: its settings go, unless an operator set some that last."""
        settings = self._settings.get(room)
        if settings is not None and not settings.kept:
            del self._settings[room]

    def topic(self, member: Member, raw: str | None, text: str | None) -> None:
        """Set (``text``; empty clears it) or ask for a room's topic.  Setting needs membership,
        and in a moderated room the right to speak; everyone in the room sees the change."""
        room = LOBBY if raw is None else self._room_name(raw, "topic")
        with self._operation(member) as out:
            if not self._is_member_locked(member):
                return
            settings = self._settings.get(room)
            if text is None:
                current = settings or RoomSettings()
                out.send(Topic(room, current.topic, current.topic_by, current.topic_ts), (member,))
                return
            if member not in self._rooms.get(room, {}):
                raise FrameError(ErrorCode.NOT_IN_ROOM, f"you are not in {room}; /join it first", "topic")
            self._check_not_muted_locked(member, "topic")
            if not self._may_speak_locked(member, room):
                raise FrameError(
                    ErrorCode.MODERATED, f"{room} is moderated; only some may set its topic", "topic"
                )
            settings = self._settings.setdefault(room, RoomSettings())
            settings.topic, settings.topic_by, settings.topic_ts = text, member.name, timestamp()
            frame = Topic(room, text, member.name, settings.topic_ts)
            out.send(frame, list(self._rooms.get(room, {})))

    def set_mode(
        self, member: Member, raw: str | None, invite_only: bool | None, moderated: bool | None
    ) -> str:
        """Operators: change a room's modes (or, with neither flag, ask); the room sees it.
        Returns the room's name."""
        room = LOBBY if raw is None else self._room_name(raw, "mode")
        with self._operation(member) as out:
            if not self._is_member_locked(member):
                return room
            if invite_only is None and moderated is None:
                current = self._settings.get(room) or RoomSettings()
                out.send(RoomMode(room, current.invite_only, current.moderated), (member,))
                return room
            if not is_operator(member):
                raise FrameError(ErrorCode.NOT_OPERATOR, "only operators change a room's modes", "mode")
            if room == LOBBY and invite_only:
                raise FrameError(ErrorCode.NOT_PERMITTED, "the lobby is open to everyone", "mode")
            settings = self._settings.setdefault(room, RoomSettings())
            if invite_only is not None:
                settings.invite_only = invite_only
            if moderated is not None:
                settings.moderated = moderated
            frame = RoomMode(room, settings.invite_only, settings.moderated, member.name)
            inside = self._rooms.get(room, {})
            out.send(frame, [*inside, *([] if member in inside else [member])])
            self._keep_or_forget_locked(room)
        return room

    def allow(self, member: Member, raw: str | None, name: str, on: bool) -> str:
        """Operators: let ``name`` into an invite-only room and speak in a moderated one (or no
        longer).  Returns the room, for the caller's confirmation."""
        re = "allow" if on else "disallow"
        room = LOBBY if raw is None else self._room_name(raw, re)
        with self._operation(member):
            if not is_operator(member):
                raise FrameError(ErrorCode.NOT_OPERATOR, "only operators allow people in rooms", re)
            settings = self._settings.setdefault(room, RoomSettings())
            if on:
                settings.allowed.add(name_key(name))
            else:
                settings.allowed.discard(name_key(name))
            self._keep_or_forget_locked(room)
        return room

    def _keep_or_forget_locked(self, room: str) -> None:
        if room not in self._rooms and room in self._settings:
            self._forget_settings_locked(room)

"""The Registry's room operations: joining and leaving rooms, ``who`` and the room list, and
sending a frame to one room (``aside`` for the members that show one room at a time and whose
current room is another).  RoomSteps is a mixin of Registry and keeps its rule: every operation
runs under the registry's lock (``_operation``) and commits its events at once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from ..protocol.frames import (
    LOBBY,
    ErrorCode,
    FrameError,
    Joined,
    LeaveReason,
    Left,
    Message,
    Presence,
    RoomInfo,
    RoomList,
    Users,
    timestamp,
)
from ..protocol.names import BadRoom, normalize_room
from .events import Batch
from .members import Member

if TYPE_CHECKING:
    from .roomsettings import RoomSettings


class RoomSteps:
    """Registry's room methods; the fields and helpers they use are Registry's."""

    _lock: threading.Lock
    _members: dict[str, Member]
    _rooms: dict[str, dict[Member, None]]
    _elsewhere: dict[str, set[Member]]
    _settings: dict[str, RoomSettings]  # RoomSettingsSteps'
    _topic_of_locked: Callable[[str], str | None]  # RoomSettingsSteps'
    _presence_locked: Callable[..., None]  # CrowdSteps'

    @staticmethod
    def _room_name(raw: str, re: str) -> str:
        try:
            return normalize_room(raw)
        except BadRoom as exc:
            raise FrameError(ErrorCode.BAD_ROOM, f"bad room name: {exc}", re) from None

    def join_room(self, member: Member, raw: str, history: int = 0) -> None:
        """Put ``member`` in a room (creating it) and make it the member's current room: the
        room's history (up to ``history``) for the newcomer, then ``joined`` for everyone in it.
        Joining a room one is in only makes it current, confirmed to the member alone."""
        room = self._room_name(raw, "join")
        with self._operation(member) as out:
            if not self._is_member_locked(member):
                return
            assert member.name is not None
            joined = Joined(user=member.name, ts=timestamp(), room=room)
            if room in member.rooms:
                member.rooms.remove(room)
                member.rooms.append(room)
                self._track_current_locked(member)
                out.send(joined, (member,))
                return
            if not self._may_enter_locked(member, room):
                raise FrameError(ErrorCode.INVITE_ONLY, f"{room} is invite-only; ask an operator", "join")
            self._replay_locked(out, member, room, history)
            member.rooms.append(room)
            self._rooms.setdefault(room, {})[member] = None
            self._track_current_locked(member)
            self._presence_locked(out, room, joined, member, len(self._rooms[room]))
            self._on_entering_locked(out, member, room)

    def room_exists(self, room: str) -> bool:
        """Whether ``room`` (a normalised name) exists: someone is in it, or it keeps settings
        an operator made last.  For front doors whose protocol tells an unknown room apart (IRC's
        403); what follows may find it otherwise, as any answer about shared state may."""
        with self._lock:
            return room in self._rooms or room in self._settings

    def part_room(self, member: Member, raw: str) -> None:
        """Take ``member`` out of a room; everyone in it (the member too) sees ``left`` with
        reason ``part``.  Answers (and raises Answered) ``not_in_room``, or ``last_room``:
        everyone is in at least one room."""
        room = self._room_name(raw, "part")
        with self._operation(member) as out:
            if not self._is_member_locked(member):
                return
            assert member.name is not None
            if room not in member.rooms:
                raise FrameError(ErrorCode.NOT_IN_ROOM, f"you are not in {room}", "part")
            if len(member.rooms) == 1:
                raise FrameError(
                    ErrorCode.LAST_ROOM, f"{room} is your only room; join another first, or /quit", "part"
                )
            left = Left(user=member.name, ts=timestamp(), reason=LeaveReason.PART.value, room=room)
            self._presence_locked(out, room, left, member, len(self._rooms[room]))
            member.rooms.remove(room)
            self._drop_from_room_locked(member, room)
            self._elsewhere.get(room, set()).discard(member)
            self._track_current_locked(member)

    def who(self, member: Member, raw: str | None = None) -> None:
        """Answer ``who``: everyone online, or the members of one room, sorted like the user
        list.  Built and queued under the lock, so it agrees with the ``joined`` and ``left``
        frames before it."""
        room = None if raw is None else self._room_name(raw, "who")
        with self._operation(member) as out:
            if room is None:
                listed: Iterable[Member] = self._members.values()
                answer = Users(users=self._users_locked())
            else:
                listed = self._rooms.get(room, {})
                names = sorted((m.key, m.name) for m in listed if m.name is not None)
                answer = Users(users=tuple(name for _, name in names), room=room)
            away = {m.name: m.away for m in listed if m.away is not None and m.name is not None}
            if away:
                answer = replace(answer, away=away)
            out.send(answer, (member,))

    def room_list(self, member: Member) -> None:
        """Answer ``rooms``: every room and how many are in it, under the lock like ``who``."""
        with self._operation(member) as out:
            counts = [
                RoomInfo(room=room, users=len(members), topic=self._topic_of_locked(room))
                for room, members in self._rooms.items()
            ]
            answer = RoomList(rooms=tuple(sorted(counts, key=lambda info: info.room)))
            out.send(answer, (member,))

    def _track_current_locked(self, member: Member) -> None:
        """Note, for a member that shows one room at a time, which of its rooms are not its
        current one."""
        if not member.shows_current_room:
            return
        current = member.current_room
        for room in member.rooms:
            if room == current:
                self._elsewhere.get(room, set()).discard(member)
            else:
                self._elsewhere.setdefault(room, set()).add(member)

    def _drop_from_room_locked(self, member: Member, room: str) -> None:
        members = self._rooms.get(room)
        if members is None:
            return
        members.pop(member, None)
        if not members and room != LOBBY:
            del self._rooms[room]
            self._elsewhere.pop(room, None)
            self._forget_settings_locked(room)

    def _to_room_locked(
        self,
        out: Batch,
        room: str,
        frame: Message | Joined | Left | Presence,
        skip: set[Member] | None = None,
    ) -> None:
        """Send ``frame`` to everyone in ``room`` but ``skip`` (those ignoring its sender).  A chat
        message reaches the members whose current room is another one (and who show one room at
        a time) ``aside``."""
        members = self._rooms.get(room, {})
        # Everyone in the lobby is the common case, and the fast one: a frame for everyone.
        everyone = room == LOBBY and len(members) == len(self._members)
        elsewhere: set[Member] | tuple[()] = ()
        if isinstance(frame, Message):
            elsewhere = self._elsewhere.get(room, ())
        if everyone and not elsewhere and not skip:
            out.send(frame)
            return
        if skip:
            out.send(frame, [m for m in members if m not in elsewhere and m not in skip])
            if elsewhere:
                out.send(frame, [m for m in elsewhere if m not in skip], aside=True)
            return
        out.send(frame, [m for m in members if m not in elsewhere] if elsewhere else members)
        if elsewhere:
            out.send(frame, elsewhere, aside=True)

"""The Registry's room operations: joining and leaving rooms, ``who`` and the room list, and
sending a frame to one room (with the room's name in front for text-mode members whose
current room is another).  RoomSteps is a mixin of Registry and keeps its rule: every
operation runs under the registry's lock (``_operation``) and puts its frames in the log at once."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from ..protocol.codec import encode
from ..protocol.frames import (
    LOBBY,
    ErrorCode,
    FrameError,
    Joined,
    LeaveReason,
    Left,
    Message,
    Mode,
    RoomInfo,
    RoomList,
    Users,
    timestamp,
)
from ..protocol.names import BadRoom, normalize_room
from ..protocol.textmode import encode_for, encode_text
from .members import Member

if TYPE_CHECKING:  # the same seam as in registry.py
    from ..server.delivery import Pending


class RoomSteps:
    """Registry's room methods; the fields and helpers they use are Registry's."""

    _lock: threading.Lock
    _members: dict[str, Member]
    _rooms: dict[str, dict[Member, None]]
    _text_elsewhere: dict[str, set[Member]]

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
                out.append({member.mode: encode_for(member.mode, joined)}, [member.outbox])
                return
            self._replay_locked(out, member, room, history)
            member.rooms.append(room)
            self._rooms.setdefault(room, {})[member] = None
            self._track_current_locked(member)
            self._to_room_locked(out, room, joined)

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
            self._to_room_locked(
                out, room, Left(user=member.name, ts=timestamp(), reason=LeaveReason.PART.value, room=room)
            )
            member.rooms.remove(room)
            self._drop_from_room_locked(member, room)
            self._text_elsewhere.get(room, set()).discard(member)
            self._track_current_locked(member)

    def who(self, member: Member, raw: str | None = None) -> None:
        """Answer ``who``: everyone online, or the members of one room, sorted like the user
        list.  Built and queued under the lock, so it agrees with the ``joined`` and ``left``
        frames before it."""
        room = None if raw is None else self._room_name(raw, "who")
        with self._operation(member) as out:
            if room is None:
                answer = Users(users=self._users_locked())
            else:
                names = sorted((m.key, m.name) for m in self._rooms.get(room, {}) if m.name is not None)
                answer = Users(users=tuple(name for _, name in names), room=room)
            out.append({member.mode: encode_for(member.mode, answer)}, [member.outbox])

    def room_list(self, member: Member) -> None:
        """Answer ``rooms``: every room and how many are in it, under the lock like ``who``."""
        with self._operation(member) as out:
            counts = [RoomInfo(room=room, users=len(members)) for room, members in self._rooms.items()]
            answer = RoomList(rooms=tuple(sorted(counts, key=lambda info: info.room)))
            out.append({member.mode: encode_for(member.mode, answer)}, [member.outbox])

    def _track_current_locked(self, member: Member) -> None:
        """Note, for a text-mode member, which of its rooms are not its current one."""
        if member.mode is not Mode.TEXT:
            return
        current = member.current_room
        for room in member.rooms:
            if room == current:
                self._text_elsewhere.get(room, set()).discard(member)
            else:
                self._text_elsewhere.setdefault(room, set()).add(member)

    def _drop_from_room_locked(self, member: Member, room: str) -> None:
        members = self._rooms.get(room)
        if members is None:
            return
        members.pop(member, None)
        if not members and room != LOBBY:
            del self._rooms[room]
            self._text_elsewhere.pop(room, None)

    def _to_room_locked(self, out: Pending, room: str, frame: Message | Joined | Left) -> None:
        """Append ``frame`` for everyone in ``room``.  A chat message reaches text-mode members
        whose current room is another one as a second entry, with the room's name in front."""
        members = self._rooms.get(room, {})
        # Everyone in the lobby is the common case, and the fast one: a broadcast entry.
        everyone = room == LOBBY and len(members) == len(self._members)
        elsewhere = []
        if isinstance(frame, Message):
            elsewhere = [m.outbox for m in self._text_elsewhere.get(room, ())]
        data = {Mode.JSON: encode(frame), Mode.TEXT: encode_text(frame, current_room=room)}
        if everyone and not elsewhere:
            out.append(data)
            return
        skip = set(elsewhere)
        out.append(data, [m.outbox for m in members if m.outbox not in skip])
        if elsewhere:
            # current_room="" matches no room, so the line gets its "[#room] " prefix.
            out.append({Mode.TEXT: encode_text(frame, current_room="")}, elsewhere)

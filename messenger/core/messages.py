"""The registry's message operations: saying something (to a room or to one person), and the
history: the replay on login or on joining a room, and pages asked for with ``history``.

MessageSteps is a mixin of Registry and keeps its rule: every operation runs under the registry's
lock (``_operation``) and commits its events at once.  A message is stored (``MessageStore.add``,
which never blocks) under the same lock, so ids increase in the order of delivery.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ..protocol.frames import LOBBY, ErrorCode, FrameError, Message, timestamp
from ..protocol.moderation import AwayStatus
from ..protocol.names import name_key
from .events import Batch
from .history import MessageStore, StoredMessage
from .members import Member


class MessageSteps:
    """Registry's message methods; the fields and helpers they use are Registry's."""

    _lock: threading.Lock
    _members: dict[str, Member]
    _rooms: dict[str, dict[Member, None]]
    _next_id: int
    _pending: dict[str, dict[str, str]]
    _settle_for_locked: Callable[[Batch, Member, list[str]], None]  # CrowdSteps'
    store: MessageStore | None

    def say(
        self,
        member: Member,
        text: str,
        to: str | None = None,
        action: bool = False,
        room: str | None = None,
        re: str = "say",
    ) -> None:
        """Deliver a chat message from ``member``: to a room it is in (the lobby by default), or
        privately to ``to`` (and the sender).  Raises FrameError ``bad_room``; answers (and
        raises Answered) ``unknown_user`` or ``not_in_room``."""
        place = LOBBY if room is None or room == LOBBY or to is not None else self._room_name(room, re)
        with self._operation(member) as out:
            if not self._is_member_locked(member):
                return
            assert member.name is not None
            target = self._may_say_locked(member, to, place, re)
            frame = Message(
                id=self._next_id,
                sender=member.name,
                text=text,
                ts=timestamp(),
                to=None if target is None else target.name,
                action=action,
                room=None if place == LOBBY else place,
            )
            self._next_id += 1
            member.active_at = time.monotonic()
            ignorers = self._ignorers_locked(member)
            if self._pending:  # its arrival, if still untold, is told before it speaks
                self._settle_for_locked(out, member, [place])
            if target is None:
                self._to_room_locked(out, place, frame, skip=ignorers)
            else:
                self._to_person_locked(out, member, target, frame, ignorers)
            self._store_locked(member, target, frame, place)

    def _may_say_locked(self, member: Member, to: str | None, place: str, re: str) -> Member | None:
        """What a message from ``member`` must pass (raising FrameError if it does not): not
        muted, and its recipient online or, to a room, a member allowed to speak there.
        Returns the recipient of a private message (None for a room)."""
        self._check_not_muted_locked(member, re)
        if to is not None:
            target = self._members.get(name_key(to))
            if target is None or target.name is None:
                raise FrameError(ErrorCode.UNKNOWN_USER, f"no user named '{to}' is online", re)
            return target
        if member not in self._rooms.get(place, {}):
            raise FrameError(ErrorCode.NOT_IN_ROOM, f"you are not in {place}; /join it first", re)
        if not self._may_speak_locked(member, place):
            raise FrameError(ErrorCode.MODERATED, f"{place} is moderated; only some may speak", re)
        return None

    def _to_person_locked(
        self, out: Batch, member: Member, target: Member, frame: Message, ignorers: set[Member] | None
    ) -> None:
        """A private message: to both ends (once to oneself), unless the recipient ignores the
        sender, who is not told; then, if the recipient is away, why, to the sender."""
        if target is member or (ignorers is not None and target in ignorers):
            out.send(frame, (member,))
            return
        out.send(frame, (member, target))
        target.reply_to = member.name
        if target.away is not None and target.name is not None:
            out.send(AwayStatus(user=target.name, text=target.away), (member,))

    def _store_locked(self, member: Member, target: Member | None, frame: Message, place: str) -> None:
        if self.store is None:
            return
        assert member.name is not None
        self.store.add(
            StoredMessage(
                id=frame.id,
                ts=frame.ts,
                sender=member.name,
                sender_key=member.history_key,
                text=frame.text,
                recipient=frame.to,
                recipient_key=target.history_key if target is not None else None,
                action=frame.action,
                room=place,
            )
        )

    def _replay_locked(self, out: Batch, member: Member, room: str, history: int) -> None:
        if history > 0 and self.store is not None:
            found = self.store.recent(member.history_key, history, room=room)
            out.page(member, [stored.frame() for stored in found], None)

    def history(self, member: Member, limit: int, before: int | None = None, room: str | None = None) -> None:
        """Send ``member`` a page of the past messages of ``room`` (the lobby by default) that it
        may see, oldest first, then ``history_end``.  Answers (and raises Answered)
        ``not_in_room``.

        The membership check, the read and the append are one step under the lock, as for the
        replay on login: a page read outside it could miss a message broadcast (and delivered
        to the reader) between the read and the append, or be served to a member that has just
        left the room.  The read costs the lock one indexed query of at most ``limit`` + 1 rows
        (the store adds what is still queued for writing from memory).  The outlet sends as many
        of the newest as the member's connection can take at once."""
        place = LOBBY if room is None else self._room_name(room, "history")
        with self._operation(member) as out:
            if not self._is_member_locked(member) or member not in self._rooms.get(place, {}):
                raise FrameError(ErrorCode.NOT_IN_ROOM, f"you are not in {place}; /join it first", "history")
            found = []
            if self.store is not None and limit > 0:
                found = self.store.recent(member.history_key, limit + 1, before, room=place)
            page = found[-limit:] if limit > 0 else []
            out.page(member, [stored.frame() for stored in page], len(found) > limit)

"""Presence in a crowd: joins and leaves of a big room are told once per interval, not one by one.

In a room of N members each ``joined`` or ``left`` costs N deliveries, so N people logging in
cost N² (at 10,000 that cut people off as too slow).  Above the registry's crowd size a room is
*crowded*: the arrivals and departures there are collected per room and told as one
``presence`` frame (protocol/frames.py) when the server calls ``Registry.announce_presence``
(about once a second; the core knows no clock).  The newcomer still gets its own ``joined``, the
one who parts its own ``left``; a kick or ban (which names who did it and why) stays one ``left``.

CrowdSteps is a mixin of Registry and keeps its rule: everything here runs under the registry's
lock, and a summary is one event of the batch of the operation that sends it.

Why a summary states where each name *is now* (``joined``: here now; ``left``: gone now) rather
than the steps taken: a client may have learned the room's state in the middle of an interval
(its welcome, a ``who`` answer); names it already has right are then applied again harmlessly,
whichever of the interval's steps it saw reflected.  Someone who came and went within one
interval is only in ``left``; someone who left and came back only in ``joined``.

Order: before any single ``joined``, ``left`` or ``nick`` about the room and before a message
from someone whose arrival there is pending, the room's summary goes out first, in the same
batch; so no frame a client receives contradicts the summaries before it.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable

from ..protocol.frames import LOBBY, Joined, Left, Presence, timestamp
from .events import Batch
from .members import Member

# The crowd size, by default: a room of more members is crowded.  A hundred names fit on a
# screen's people list and in a 1.5 KB welcome; beyond that nobody reads each arrival anyway,
# and a storm of N logins would cost N² frames (10,000: 10⁸ deliveries).
CROWD = 100
# How many names of each kind a summary lists (the rest are counted): one readable text line.
SUMMARY_NAMES = 20


class CrowdSteps:
    """Registry's crowd methods; the fields and helpers they use are Registry's."""

    crowd: int
    _members: dict[str, Member]
    _sorted: list[tuple[str, str]]
    _rooms: dict[str, dict[Member, None]]
    # Room -> name key -> name as last seen: who came or went there since its last summary,
    # in the order they did.  Under the registry's lock.
    _pending: dict[str, dict[str, str]]
    _to_room_locked: Callable[..., None]  # RoomSteps'

    def announce_presence(self) -> None:
        """Tell every crowded room who came and went since its last summary: one ``presence``
        frame per room.  The server calls this about once a second (from its accept loop)."""
        if not self._pending:  # read without the lock: a change in between waits for next time
            return
        with self._operation() as out:
            for room in list(self._pending):
                self._settle_locked(out, room)

    def _crowded_welcome_locked(self, member: Member) -> tuple[tuple[str, ...], int | None]:
        """The welcome's ``users`` and ``count``: everyone and no count while the server holds at
        most ``crowd`` members; beyond, the first ``crowd`` names in sort order (the newcomer's
        own among them) and how many are online."""
        if len(self._sorted) <= self.crowd:
            return tuple([name for _, name in self._sorted]), None
        listed = self._sorted[: self.crowd]
        own = (member.key, member.name or "")
        if own not in listed:
            listed = self._sorted[: self.crowd - 1]
            bisect.insort(listed, own)
        return tuple([name for _, name in listed]), len(self._sorted)

    def _presence_locked(
        self, out: Batch, room: str, frame: Joined | Left, member: Member, size: int
    ) -> None:
        """Tell ``room`` that ``member`` joined or left it (``frame``); ``size``: the room's
        members, ``member`` counted.  In a crowd it waits for the room's summary (the member,
        if still in the room, gets its own frame at once); otherwise it goes out as always."""
        if size > self.crowd and (isinstance(frame, Joined) or frame.by is None):
            assert member.name is not None
            self._pending.setdefault(room, {})[member.key] = member.name
            if member in self._rooms.get(room, ()):
                out.send(frame, (member,))
            return
        self._settle_locked(out, room, before=(member, isinstance(frame, Left)))
        self._to_room_locked(out, room, frame)

    def _settle_for_locked(self, out: Batch, member: Member, rooms: list[str]) -> None:
        """Before a frame from or about ``member`` (a message, a rename): the summary of each of
        ``rooms`` where its coming or going is still untold."""
        if not self._pending:
            return
        for room in rooms:
            pending = self._pending.get(room)
            if pending is not None and member.key in pending:
                self._settle_locked(out, room, first=member.key)

    def _settle_locked(
        self, out: Batch, room: str, first: str | None = None, before: tuple[Member, bool] | None = None
    ) -> None:
        """Send ``room``'s summary if anything is untold there (``first``: a name key to list
        before the others, so a message's sender is named even in a storm).  ``before``: a
        member whose single ``joined`` or ``left`` follows, and whether it was in the room
        before that (the summary tells the state the single frame then changes)."""
        pending = self._pending.pop(room, None)
        members = self._rooms.get(room)
        if not pending or members is None:
            return
        joined: list[str] = []
        left: list[str] = []
        count = len(members)
        if before is not None:
            count += before[1] - (before[0] in members)
        for key, name in pending.items():
            member = self._members.get(key)
            if before is not None and key == before[0].key:
                member, here = before[0], before[1]
            else:
                here = member is not None and member in members
            if member is None or not here or member.name is None:
                left.append(name)
            elif key == first:
                joined.insert(0, member.name)
            else:
                joined.append(member.name)
        summary = Presence(
            joined=tuple(joined[:SUMMARY_NAMES]),
            left=tuple(left[:SUMMARY_NAMES]),
            joins=len(joined),
            leaves=len(left),
            count=count,
            ts=timestamp(),
            room=None if room == LOBBY else room,
        )
        self._to_room_locked(out, room, summary)

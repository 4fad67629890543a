"""Who is connected, and what each of them is sent.

The Registry owns the logged-in members under one lock.  Every operation describes what it
makes happen as events in one Batch of the Outlet it was given (core/events.py): which frame goes
to which audience (everyone, a room's members, named members), never how a frame is encoded.
The batch is committed before the lock is released, so all receivers see one order of frames,
with ids increasing, and no operation is seen in part.  Nothing here blocks on a socket.  The
room operations are in rooms.py (RoomSteps, a mixin).

The rule every operation keeps: each client receives its frames in one order that agrees with
the order of the state changes, so an answer reflects exactly the state after everything already
delivered to that client.  Hence an operation's events are committed at once (``_operation``),
and an answer that describes the registry's state (``who``, ``rooms``, a history page, an error
such as ``unknown_user``) is built and given to the outlet under the same lock as the state it
describes.
"""

from __future__ import annotations

import bisect
import logging
import threading
import time

from ..protocol.frames import (
    LOBBY,
    Error,
    ErrorCode,
    FrameError,
    Joined,
    LeaveReason,
    Left,
    Pong,
    Renamed,
    Welcome,
    timestamp,
)
from ..protocol.moderation import Motd
from ..protocol.names import name_key
from .crowd import CROWD, CrowdSteps
from .events import Batch, Outlet
from .history import MessageStore
from .members import Answered, Member, NameTaken, ServerFull
from .messages import MessageSteps
from .moderating import Banned, ModerationSteps
from .moderation import Moderation
from .presence import PresenceSteps
from .rooms import RoomSteps
from .roomsettings import RoomSettings, RoomSettingsSteps

log = logging.getLogger(__name__)


class _Operation:
    """The context of ``Registry._operation`` (a class rather than a generator-based context
    manager: it runs for every message, and this costs a third as much)."""

    __slots__ = ("_member", "_registry", "out")

    def __init__(self, registry: Registry, member: Member | None) -> None:
        self._registry = registry
        self._member = member

    def __enter__(self) -> Batch:
        self._registry._lock.acquire()
        self.out = self._registry.outlet.batch()
        return self.out

    def __exit__(self, kind: object, exc: BaseException | None, traceback: object) -> bool:
        member, out = self._member, self.out
        try:
            if isinstance(exc, FrameError) and not isinstance(exc, Answered) and member is not None:
                out.send(exc.to_frame(), (member,))
                raise Answered(exc.code, exc.message, exc.re) from None
            return False
        finally:
            out.commit()
            self._registry._lock.release()


class Registry(MessageSteps, RoomSteps, RoomSettingsSteps, PresenceSteps, ModerationSteps, CrowdSteps):
    """The logged-in members and every delivery to them.

    Callers use join / rename / leave / cut / say / join_room / part_room / who / room_list /
    history / reply / users / close_all, and announce_presence about once a second.  All of
    them are thread-safe; none of them blocks on a socket.  A room of more than ``crowd``
    members is told its joins and leaves in one summary per announce_presence (crowd.py).
    """

    def __init__(
        self,
        server_name: str,
        outlet: Outlet,
        max_members: int | None = None,
        store: MessageStore | None = None,
        moderation: Moderation | None = None,
        crowd: int = CROWD,
    ) -> None:
        self.server_name = server_name
        self.crowd = max(1, crowd)
        self.outlet = outlet
        self.max_members = max_members
        self.store = store
        self.motd: str | None = None  # the message of the day, sent after each welcome
        # Bans, mutes, ignores and the audit trail (kept in memory only without a database).
        self.moderation = moderation if moderation is not None else Moderation(":memory:")
        self._lock = threading.Lock()
        self._members: dict[str, Member] = {}
        # (key, name) of every member in comparison order: a login's user list is then one
        # pass, not a sort (a burst of 5,000 logins made the sorts quadratic).
        self._sorted: list[tuple[str, str]] = []
        # Ids continue where the stored history ends, so they never repeat across restarts.
        self._next_id = (store.last_id() if store is not None else 0) + 1
        # Room -> its members, in the order they joined.  The lobby always exists; other rooms
        # exist while someone is in them.
        self._rooms: dict[str, dict[Member, None]] = {LOBBY: {}}
        # Room -> its members that show chat relative to their current room (text mode) and whose
        # current room is another one: they get its messages ``aside``.  Kept up to date so a
        # broadcast never has to look at every member to find them.
        self._elsewhere: dict[str, set[Member]] = {}
        # Room -> its topic, modes and allowed names (roomsettings.py).
        self._settings: dict[str, RoomSettings] = {}
        # Name key -> the members ignoring it (presence.py).
        self._ignored_by: dict[str, set[Member]] = {}
        # Room -> who came or went there since its last summary (crowd.py).
        self._pending: dict[str, dict[str, str]] = {}

    def _operation(self, member: Member | None = None) -> _Operation:
        """Hold the lock for one operation and collect its events in one Batch, committed at once
        when it ends: no transport sends a welcome without its ``joined``, and no answer that
        takes no registry lock lands between the two.  A FrameError raised
        inside is answered to ``member`` in the same step and comes out as Answered."""
        return _Operation(self, member)

    # -- queries ------------------------------------------------------------------------------

    def users(self) -> tuple[str, ...]:
        with self._lock:
            return self._users_locked()

    def __len__(self) -> int:
        return len(self._members)

    def room_count(self) -> int:
        """The rooms that exist now, the lobby included (a read of one length: no lock)."""
        return len(self._rooms)

    def _users_locked(self) -> tuple[str, ...]:
        return tuple([name for _, name in self._sorted])

    def hold_pong(self, member: Member, pong: Pong) -> bool:
        """Whether the registry answers ``pong`` itself, later (a cluster node: once the
        member's messages came back from the other nodes' stream).  Here every message is
        delivered by the time its ``say`` returns: the transport answers at once."""
        return False

    def _is_member_locked(self, member: Member) -> bool:
        return member.name is not None and self._members.get(member.key) is member

    def _add_locked(self, member: Member, name: str, key: str) -> None:
        member.name, member.key = name, key
        self._members[key] = member
        bisect.insort(self._sorted, (key, name))

    def _remove_locked(self, member: Member) -> None:
        del self._members[member.key]
        assert member.name is not None
        index = bisect.bisect_left(self._sorted, (member.key, member.name))
        del self._sorted[index]

    # -- membership ---------------------------------------------------------------------------

    def join(
        self,
        member: Member,
        name: str,
        history: int = 0,
        replace: bool = False,
        replace_account: str | None = None,
    ) -> None:
        """Log ``member`` in as ``name``: welcome it, replay up to ``history`` past messages it
        may see, then announce it to everyone (itself too).  Under the lock, so the replay ends
        exactly where live traffic begins; in one step of the log, so nothing comes between.

        With ``replace`` (a registered user who gave its password), whoever holds the name is
        logged out first: it gets error ``replaced`` and its connection closes, and its rooms see
        it leave with reason ``replaced``.  With ``replace_account`` (the account whose password
        ``member`` gave), a holder logged in to that same account is replaced so (the ghost of
        this user's own dropped session, renamed since), and anyone else keeps the name;
        decided under the lock, so the holder cannot change in between.  Raises NameTaken or
        ServerFull (which the caller answers: a connection not logged in gets no frame such an
        answer could contradict).
        """
        key = name_key(name)
        with self._operation() as out:
            banned = self._ban_of_locked(key, member.account)
            if banned is not None:
                raise Banned(banned)
            holder = self._members.get(key)
            if holder is not None:
                ours = replace_account is not None and holder.account == replace_account
                if holder is member or not (replace or ours):
                    raise NameTaken(name)
                self._replace_locked(out, holder)
            if self.max_members is not None and len(self._members) >= self.max_members:
                raise ServerFull(name)
            self._add_locked(member, name, key)
            member.since, member.active_at = timestamp(), time.monotonic()
            self._restore_ignores_locked(member, member.ignoring)
            out.admit(member)
            users, count = self._crowded_welcome_locked(member)
            welcome = Welcome(
                user=name,
                users=users,
                server=self.server_name,
                account=member.account,
                topic=self._topic_of_locked(LOBBY),
                count=count,
            )
            out.send(welcome, (member,))
            if self.motd is not None:
                out.send(Motd(text=self.motd), (member,))
            self._replay_locked(out, member, LOBBY, history)
            member.rooms = [LOBBY]
            lobby = self._rooms[LOBBY]
            lobby[member] = None
            self._presence_locked(out, LOBBY, Joined(user=name, ts=timestamp()), member, len(lobby))

    def _replace_locked(self, out: Batch, holder: Member) -> None:
        assert holder.name is not None
        error = Error(
            code=ErrorCode.REPLACED.value, message=f"{holder.name} logged in from elsewhere; goodbye", re=None
        )
        out.send(error, (holder,))
        self._remove_locked(holder)
        out.dismiss(holder)
        self._announce_departure_locked(out, holder, LeaveReason.REPLACED)
        out.close(holder)  # what is queued (the error) goes out, then it closes
        log.info("%s (%s) replaced by a new login", holder.name, holder.address)

    def rename(self, member: Member, new_name: str) -> None:
        """Change ``member``'s name and tell everyone.  Only the case of one's own name may
        collide with one's own name; any other match is answered ``name_taken`` (Answered)."""
        new_key = name_key(new_name)
        with self._operation(member) as out:
            if not self._is_member_locked(member):
                return
            if new_key != member.key and new_key in self._members:
                raise FrameError(ErrorCode.NAME_TAKEN, f"the name {new_name} is taken", "nick")
            banned = self._ban_of_locked(new_key, None)
            if banned is not None:
                raise FrameError(ErrorCode.BANNED, banned, "nick")
            self._check_not_muted_locked(member, "nick")  # a mute follows the name: keep it
            self._settle_for_locked(out, member, member.rooms)  # its arrival before its new name
            old_name, old_key = member.name, member.key
            assert old_name is not None
            self._remove_locked(member)
            self._add_locked(member, new_name, new_key)
            self._follow_rename_locked(old_key, new_key)
            out.send(Renamed(old=old_name, new=new_name, ts=timestamp()))

    def leave(self, member: Member, reason: LeaveReason) -> bool:
        """Remove ``member`` and announce it as left; False if it was not a member."""
        with self._operation() as out:
            if not self._is_member_locked(member):
                return False
            assert member.name is not None
            self._remove_locked(member)
            out.dismiss(member)
            self._announce_departure_locked(out, member, reason)
        return True

    def _announce_departure_locked(
        self,
        out: Batch,
        member: Member,
        reason: LeaveReason,
        by: str | None = None,
        message: str | None = None,
    ) -> None:
        """``left`` in each of the member's rooms (``by`` and ``message``: an operator removed
        it, and why); it leaves them all."""
        assert member.name is not None
        self._drop_ignores_locked(member)
        ts = timestamp()
        for room in member.rooms:
            size = len(self._rooms.get(room, ()))
            self._drop_from_room_locked(member, room)
            self._elsewhere.get(room, set()).discard(member)
            label = None if room == LOBBY else room
            left = Left(user=member.name, ts=ts, reason=reason.value, room=label, by=by, message=message)
            self._presence_locked(out, room, left, member, size)
        member.rooms = []

    def cut(self, member: Member) -> bool:
        """Remove a member whose unsent output passed its limit, announced as ``too_slow``."""
        if self.leave(member, LeaveReason.TOO_SLOW):
            log.warning("%s (%s) cut off: too much output waiting unsent", member.name, member.address)
            return True
        return False

    def close_all(self) -> list[Member]:
        """Forget every member without announcing anything (the server is stopping)."""
        with self._operation() as out:
            members = list(self._members.values())
            self._members.clear()
            self._sorted.clear()
            self._rooms = {LOBBY: {}}
            self._elsewhere.clear()
            self._ignored_by.clear()
            self._pending.clear()
            for member in members:
                out.dismiss(member)
        return members


__all__ = ["Answered", "Banned", "Member", "NameTaken", "Registry", "ServerFull"]

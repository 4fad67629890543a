"""ClusterRegistry: the core's Registry as one node of a cluster.

Every node's registry holds all the members of the cluster: its own (their ``link`` is their
connection's) and the others' nodes' as *remote* members (``link`` None), so ``who``, ``whois``,
rooms, names and ignores work as on one server, and the transport's outlet (ClusterOutlet)
simply leaves out the remote members.

What a local member does is published on the bus, in the order the registry did it: the
changes of membership (a login, a rename, a departure for any reason, a room joined or parted)
are noted under the registry's lock by the hooks below and queued when the operation's batch
commits, still under the lock; other nodes apply them to their copy of the member (remote.py).

Chat messages go the other way round (messages.py): ``say`` checks under the lock and publishes,
and every node (this one too) delivers and stores the message when it reads it from the stream.

Names are claimed in Redis before the registry grants them (``claim``: HSETNX, so of two nodes
asking at once exactly one wins) and released when their holder goes.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from ..core.members import Member, NameTaken
from ..core.registry import Registry
from ..protocol.frames import LOBBY, ErrorCode, FrameError, Joined, LeaveReason, Left
from ..protocol.names import name_key
from .bus import FAILURES, Bus
from .messages import ClusterMessages
from .remote import RemoteSteps

log = logging.getLogger("messenger.cluster")


class ClusterRegistry(ClusterMessages, RemoteSteps, Registry):
    """A Registry whose members' changes and messages go through the cluster's Bus."""

    def __init__(self, *args: Any, bus: Bus, **kwargs: Any) -> None:
        self.bus = bus
        self._remote_count = 0  # remote members (not counted against max_members)
        self._local_max: int | None = None
        self._applying = 0  # the reader thread's ident once it applies entries
        # Name key -> (member, what happened) of local members since the operation began:
        # published when its batch commits (under the lock).
        self._changes: dict[int, tuple[Member, str, dict[str, Any]]] = {}
        super().__init__(*args, **kwargs)

    # max_members limits this node's own members; the others' are counted by their nodes.
    # (The reader thread, mirroring another node's member, is never refused: ``_applying``.)
    @property
    def max_members(self) -> int | None:  # type: ignore[override]
        if self._local_max is None or threading.get_ident() == self._applying:
            return None
        return self._local_max + self._remote_count

    @max_members.setter
    def max_members(self, value: int | None) -> None:
        self._local_max = value

    # -- names ----------------------------------------------------------------------------------

    def _claim(self, name: str) -> bool:
        """Claim ``name`` for this node; True if it was free (and must be released on failure).
        Raises NameTaken if another node holds it.  Without Redis the name is granted here
        alone (docs/operations.md: the names of a node cut from Redis)."""
        try:
            claimed = self.bus.claim(name_key(name))
        except FAILURES:
            return False
        if claimed < 0:
            raise NameTaken(name)
        return claimed > 0

    def join(self, member: Member, name: str, *args: Any, **kwargs: Any) -> None:
        if member.link is None:
            return super().join(member, name, *args, **kwargs)
        fresh = self._claim(name)
        try:
            super().join(member, name, *args, **kwargs)
        except BaseException:
            if fresh:
                self.bus.release(name_key(name))
            raise

    def rename(self, member: Member, new_name: str) -> None:
        if member.link is None or name_key(new_name) == member.key:
            return super().rename(member, new_name)
        try:
            fresh = self._claim(new_name)
        except NameTaken:
            with self._operation(member):  # answered under the lock, as the registry's own checks
                raise FrameError(ErrorCode.NAME_TAKEN, f"the name {new_name} is taken", "nick") from None
        try:
            super().rename(member, new_name)
        finally:
            if fresh and member.key != name_key(new_name):
                self.bus.release(name_key(new_name))

    # -- the hooks: what local members did, noted under the lock ------------------------------

    def _note(self, member: Member, what: str, **data: Any) -> None:
        """Note a local member's change; a removal then an addition in one operation is a
        rename, an addition then a removal (a login refused late) nothing."""
        if member.link is None:
            return
        before = self._changes.get(id(member))
        if before is not None and before[1] == "join" and what == "leave":
            del self._changes[id(member)]
        elif before is not None and before[1] == "leave" and what == "nick":
            self._changes[id(member)] = (member, "nick", data)
        else:
            self._changes[id(member)] = (member, what, data)

    def _add_locked(self, member: Member, name: str, key: str) -> None:
        old = member.name
        super()._add_locked(member, name, key)
        self._remote_count += member.link is None
        if old is None:
            self._note(member, "join")
        else:
            self._note(member, "nick", old=old, old_key=name_key(old))

    def _remove_locked(self, member: Member) -> None:
        super()._remove_locked(member)
        self._remote_count -= member.link is None
        self._note(member, "leave", key=member.key, name=member.name)

    def _presence_locked(self, out: Any, room: str, frame: Joined | Left, member: Member, size: int) -> None:
        super()._presence_locked(out, room, frame, member, size)
        if member.link is None:
            return
        if isinstance(frame, Joined) and member.name is not None and room != LOBBY:
            self._publish_locked("room", member, {"room": room})
        elif isinstance(frame, Left) and frame.reason == LeaveReason.PART.value:
            rooms = [r for r in member.rooms if r != room]  # it leaves the room after this
            self._publish_locked("part", member, {"room": room}, rooms=rooms)
        elif isinstance(frame, Left) and id(member) in self._changes:
            reason = {"reason": frame.reason, "by": frame.by, "message": frame.message}
            self._changes[id(member)][2].update(reason)

    def publish_changes_locked(self) -> None:
        """Called by the batch's commit, under the lock: publish what the operation changed."""
        changes, self._changes = self._changes, {}
        for member, what, data in changes.values():
            if what == "join":
                self._publish_locked("join", member, {"account": member.account, "since": member.since})
            elif what == "nick":
                self._release_locked(data["old_key"])
                self._publish_locked("nick", member, {"old": data["old"]}, drop=data["old_key"])
            else:
                self._release_locked(data["key"])
                data = {"reason": data.get("reason", LeaveReason.DISCONNECTED.value), **data}
                self.bus.publish("leave", data, [(data["key"], "")])

    def _release_locked(self, key: str) -> None:
        """Free a name in Redis, unless a local member holds it again (a replacing login)."""
        holder = self._members.get(key)
        if holder is None or holder.link is None:
            self.bus.release(key)

    def _publish_locked(
        self,
        kind: str,
        member: Member,
        data: dict[str, Any],
        drop: str | None = None,
        rooms: list[str] | None = None,
    ) -> None:
        """An entry about ``member`` (its name added), with its record for nodes starting (its
        rooms: ``rooms``, or its own now)."""
        record = {
            "node": self.bus.node,
            "name": member.name,
            "rooms": member.rooms if rooms is None else rooms,
            "account": member.account,
        }
        rows = [(member.key, json.dumps(record))] + ([(drop, "")] if drop else [])
        self.bus.publish(kind, {**data, "name": member.name}, rows)

    def announce_all(self) -> None:
        """This node was declared dead while cut off (or Redis lost its data): claim its
        members' names again and publish them again.  A member whose name another node granted
        meanwhile keeps it here alone (logged)."""
        with self._lock:
            local = [m for m in self._members.values() if m.link is not None]
        for member in local:
            if not self._claim_quietly(member):
                log.warning("%s was taken on another node while this one was cut off", member.name)
                continue
            with self._lock:
                if self._is_member_locked(member):
                    data = {"account": member.account, "since": member.since, "rooms": member.rooms}
                    self._publish_locked("join", member, data)

    def _claim_quietly(self, member: Member) -> bool:
        try:
            return self.bus.claim(member.key) >= 0  # (no registry lock held: this is I/O)
        except FAILURES:
            return False

    def topic(self, member: Member, raw: str | None, text: str | None) -> None:
        super().topic(member, raw, text)
        if text is not None and member.link is not None:  # set (an error raised instead)
            room = LOBBY if raw is None else self._room_name(raw, "topic")
            self.bus.publish("topic", {"key": member.key, "name": member.name, "room": room, "text": text})

    def set_away(self, member: Member, text: str | None) -> None:
        super().set_away(member, text)
        if member.link is not None:
            self.bus.publish("away", {"key": member.key, "name": member.name, "text": text})

    def _remove_by_operator_locked(
        self, out: Any, member: Member, reason: LeaveReason, actor: Member, why: str | None
    ) -> None:
        """A kick or ban of another node's member is done by that node (it holds the
        connection): asked here, in the stream's order."""
        if member.link is not None:
            return super()._remove_by_operator_locked(out, member, reason, actor, why)
        data = {"key": member.key, "name": member.name, "reason": reason.value, "by": actor.name, "why": why}
        self.bus.publish("remove", data)

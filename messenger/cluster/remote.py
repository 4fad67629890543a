"""RemoteSteps: what a node does with the entries it reads from the stream (the reader thread).

The members of other nodes are mirrored as ``Member``s whose ``link`` is None (the outlet leaves
them out) and whose ``address`` names their node; the registry's own operations are applied to
them, so every check and frame is the one a local member would cause.  Chat messages read here are
delivered by messages.py, for every node, the publishing one included.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from ..core.durations import describe_expiry
from ..core.members import Member
from ..core.moderating import Banned, covers
from ..core.registry import Registry
from ..protocol.frames import LOBBY, FrameError, LeaveReason
from ..protocol.moderation import Notice
from ..protocol.names import name_key
from .bus import Bus, Entry, Snapshot
from .moderation import SharedBanList, SharedMuteList

log = logging.getLogger("messenger.cluster")


class RemoteSteps:
    """ClusterRegistry's side that applies other nodes' entries; its fields are Registry's."""

    bus: Bus
    _applying: int
    _lock: threading.Lock
    _members: dict[str, Member]
    _next_id: int

    def load(self: Any, snapshot: Snapshot) -> None:
        """The members the other nodes have, as this node starts (nobody local to tell yet)."""
        self._applying = threading.get_ident()
        for record in snapshot.members:
            self._remote_join(record["node"], record)

    def apply_all(self: Any, entries: list[Entry]) -> None:
        """The entries of one read (the reader thread): the chat messages in a row are delivered
        in one operation, so the transport sends them together (one send per reader for the
        lot, not one per message)."""
        messages: list[Entry] = []
        for entry in entries:
            if entry.kind == "say":
                if not (entry.node == self.bus.node and entry.data.get("local")):
                    messages.append(entry)
                continue
            if messages:
                self._deliver_all(messages)
                messages = []
            try:
                self.apply(entry)
            except Exception:  # one entry this node cannot apply must not stop the rest
                log.exception("entry %s (%s from %s) could not be applied", entry.id, entry.kind, entry.node)
        if messages:
            self._deliver_all(messages)

    def apply(self: Any, entry: Entry) -> None:
        """One entry of the stream other than a chat message (the reader thread).  A remote
        member's request that this registry refuses (a state that differs for a moment) is
        logged, never raised."""
        mine = entry.node == self.bus.node
        self._applying = threading.get_ident()
        try:
            if entry.kind == "gap":
                self.tell_gap(entry.data["missed"])
                return
            if mine or entry.kind == "floor":
                return
            data = entry.data
            if entry.kind == "dead":
                self._remote_node_gone(entry.node)
                return
            if entry.kind == "join":
                self._remote_join(entry.node, data)
                return
            if entry.kind in ("ban", "unban"):
                self._remote_ban(entry.kind, data)
                return
            if entry.kind in ("mute", "unmute"):
                self._remote_mute(entry.kind, data)
                return
            member = self._members.get(data.get("key") or name_key(data.get("old") or data["name"]))
            if member is None:
                return
            if entry.kind == "remove":
                self._removed_here(member, data)
            elif member.link is None:
                self._remote_change(member, entry.kind, data)
        except (FrameError, Banned) as exc:
            log.info("entry %s not applied here: %s", entry.id, exc)

    def _remote_change(self: Any, member: Member, kind: str, data: dict[str, Any]) -> None:
        if kind == "leave":
            with self._operation() as out:
                if self._is_member_locked(member):
                    self._remove_locked(member)
                    reason = _reason(data["reason"])
                    by, why = data.get("by"), data.get("message")
                    self._announce_departure_locked(out, member, reason, by=by, message=why)
        elif kind == "nick":
            Registry.rename(self, member, data["name"])
        elif kind == "room":
            Registry.join_room(self, member, data["room"])
        elif kind == "part":
            Registry.part_room(self, member, data["room"])
        elif kind == "topic":
            Registry.topic(self, member, data["room"], data["text"])
        elif kind == "away":
            Registry.set_away(self, member, data["text"])

    def _removed_here(self: Any, member: Member, data: dict[str, Any]) -> None:
        """An operator of another node kicked or banned a member of this one."""
        if member.link is None:
            return
        with self._operation() as out:
            if not self._is_member_locked(member):
                return
            actor = self._members.get(name_key(data["by"])) or Member(link=None, name=data["by"])
            self._remove_by_operator_locked(out, member, _reason(data["reason"]), actor, data.get("why"))

    def _remote_ban(self: Any, kind: str, data: dict[str, Any]) -> None:
        """Another node's ban (or lift), kept here too; it removes this node's own members it
        covers (by name, account or address).  The banning node also asks for the removal of
        the members it knows of, but it may not know yet of one who just logged in here: the
        ban itself must remove them (a second ask finds them gone)."""
        bans: SharedBanList = self.moderation.bans
        bans.apply(kind, data)
        if kind == "ban":
            actor = Member(link=None, name=data["actor"])
            with self._operation() as out:
                covered = [
                    m
                    for m in self._members.values()
                    if m.link is not None and covers(m, data["kind"], data["key"])
                ]
                for member in covered:
                    self._remove_by_operator_locked(
                        out, member, LeaveReason.BANNED, actor, data["reason"] or None
                    )

    def _remote_mute(self: Any, kind: str, data: dict[str, Any]) -> None:
        """Another node's mute (or lift), here too; a member of this node under the name is told,
        as the operator's own node tells its members."""
        mutes: SharedMuteList = self.moderation.mutes
        mute = mutes.apply(kind, data)
        member = self._members.get(data["key"])
        if member is None or member.link is None or member.name is None:
            return
        if kind == "unmute":
            text = None if mute is None else "you are no longer muted"
        else:
            why = f": {data['reason']}" if data["reason"] else ""
            text = f"{data['actor']} muted you {describe_expiry(data['expires'], data['created'])}{why}"
        if text is not None:
            self.notify(member.name, Notice(text=text, re=kind))

    def _remote_join(self: Any, node: str, data: dict[str, Any]) -> None:
        key = name_key(data["name"])
        holder = self._members.get(key)
        if holder is not None:
            if holder.link is not None:
                log.warning("%s is held here and on node %s", data["name"], node)
                return
            if holder.address == f"{node}:":
                return  # announced again (Redis lost its data): mirrored already
            Registry.leave(self, holder, LeaveReason.REPLACED)
        member = Member(link=None, address=f"{node}:", account=data.get("account"))
        Registry.join(self, member, data["name"])
        for room in data.get("rooms", ()):
            if room != LOBBY:
                Registry.join_room(self, member, room)

    def _remote_node_gone(self: Any, node: str) -> None:
        """A node declared dead: its members leave (``disconnected``)."""
        with self._lock:
            gone = [m for m in self._members.values() if m.link is None and m.address == f"{node}:"]
        for member in gone:
            Registry.leave(self, member, LeaveReason.DISCONNECTED)
        log.info("node %s is gone: %d member(s) left", node, len(gone))

    def tell_gap(self: Any, missed: int | None) -> None:
        """Entries of the cluster were lost to this node: every local member is told."""
        what = "some" if missed is None else str(missed)
        text = f"history has a gap: {what} event(s) of the other servers were lost and cannot be recovered"
        with self._operation() as out:
            local = [m for m in self._members.values() if m.link is not None]
            if local:
                out.send(Notice(text=text, re="gap"), local)


def _reason(value: str) -> LeaveReason:
    """A reason from the stream; one this version does not know reads as ``disconnected``."""
    try:
        return LeaveReason(value)
    except ValueError:
        return LeaveReason.DISCONNECTED

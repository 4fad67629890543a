"""RemoteSteps: what a node does with the entries it reads from the stream (the reader thread).

The members of other nodes are mirrored as ``Member``s whose ``link`` is None (the outlet leaves
them out) and whose ``address`` names their node; the registry's own operations are applied to
them, so every check and frame is the one a local member would cause.  Chat messages are
delivered from here for every node, the publishing one included (registry.py).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from ..core.durations import describe_expiry
from ..core.history import StoredMessage
from ..core.members import Member
from ..core.moderating import Banned, covers
from ..core.registry import Registry
from ..protocol.frames import LOBBY, FrameError, LeaveReason, Message
from ..protocol.moderation import AwayStatus, Notice
from ..protocol.names import name_key
from ..server.pending import ACTING
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

    def _deliver_unsent(self: Any) -> None:
        """Redis is gone: this node's messages still queued are delivered here now (with ids of
        this node), and published marked as delivered here once Redis is back."""
        for data in self.bus.take_unsent("say"):
            with self._lock:
                seq = self._next_id
            self._deliver(data, seq)

    def _deliver_all(self: Any, entries: list[Entry]) -> None:
        """Chat messages read from the stream, in one operation."""
        self._applying = threading.get_ident()
        with self._operation() as out:
            for entry in entries:
                self._deliver_locked(out, entry.data, entry.seq)

    def _deliver(self: Any, data: dict[str, Any], seq: int) -> None:
        with self._operation() as out:
            self._deliver_locked(out, data, seq)

    def _deliver_locked(self: Any, out: Any, data: dict[str, Any], seq: int) -> None:
        """A chat message read from the stream, to this node's members it is for; stored here.
        The sender, when on this node, acts for it as on one server (an IRC sender's own copy),
        and its account tags it for IRC readers wherever it is."""
        frame: Message = self._message_from(data, seq)
        self._next_id = max(self._next_id, seq + 1)
        sender = self._members.get(name_key(frame.sender))
        ACTING.outbox = sender.link if sender is not None else None
        ACTING.speaker = sender
        try:
            self._deliver_to_locked(out, frame, sender)
        finally:
            ACTING.outbox = ACTING.speaker = None

    def _deliver_to_locked(self: Any, out: Any, frame: Message, sender: Member | None) -> None:
        ignorers = self._ignorers_locked(sender) if sender is not None else None  # name or account
        target = None
        if frame.to is not None:
            target = self._members.get(name_key(frame.to))
            if target is None:
                return
            self._to_ends_locked(out, frame, sender, target, ignorers)
        else:
            place = frame.room or LOBBY
            if self._pending and sender is not None:
                self._settle_for_locked(out, sender, [place])
            self._to_room_locked(out, place, frame, skip=ignorers)
        self._store_remote_locked(frame, sender, target)

    def _to_ends_locked(
        self: Any, out: Any, frame: Message, sender: Member | None, target: Member, ignorers: Any
    ) -> None:
        """A private message to its ends that are on this node (the recipient unless it ignores
        the sender); why the recipient is away, to a sender here."""
        ends = [m for m in {sender: None, target: None} if m is not None and m.link is not None]
        if ignorers and target in ignorers:
            ends = [m for m in ends if m is not target]
        out.send(frame, ends)
        if target.link is not None and target is not sender:
            target.reply_to = frame.sender
        if sender is not None and sender.link is not None and target.away is not None:
            out.send(AwayStatus(user=target.name, text=target.away), (sender,))

    def _store_remote_locked(self: Any, frame: Message, sender: Member | None, target: Member | None) -> None:
        if self.store is None:
            return
        key = name_key(frame.sender)
        self.store.add(
            StoredMessage(
                id=frame.id,
                ts=frame.ts,
                sender=frame.sender,
                sender_key=sender.history_key if sender is not None else " remote " + key,
                text=frame.text,
                recipient=frame.to,
                recipient_key=None if target is None else target.history_key,
                action=frame.action,
                room=frame.room or LOBBY,
            )
        )

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

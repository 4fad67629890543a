"""ClusterMessages: chat messages in a cluster, their ids, their history and the ``ping`` barrier.

``say`` checks under the registry's lock and publishes; every node, this one too, delivers the
message when its reader reads it from the stream, with the entry's number as its id, and stores
it in its own history under that id.  So all receivers see a room's messages in one order with
increasing ids, and every node's history holds the same messages under the same ids (a node
starting fills in what the stream holds and it lacks: backfill.py).

While Redis is unreachable a node delivers its own users' messages at once, numbered in a range
of its own far above what it has seen (idkeys.py), stores them under that id and publishes them
when Redis is back, keeping the id.  Since a message keeps one id everywhere, ids can only rise
for every reader if a message that comes late — the others' messages of the gap, reaching a node
that numbered its own above them, or a cut-off node's own, reaching the others after they saw
higher ids — is delivered marked as history, after a ``notice`` (``re`` ``late``) saying why.

A ``ping`` after a message is answered once that message came back from the stream: a pong the
transport asks ``hold_pong`` about waits for every message this node published before it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from typing import Any

from ..core.history import StoredMessage
from ..core.members import Member
from ..core.registry import Registry
from ..protocol.frames import LOBBY, Message, Pong, timestamp
from ..protocol.moderation import AwayStatus, Notice
from ..protocol.names import name_key
from ..server.pending import ACTING
from .bus import FAILURES, Bus, Entry
from .idkeys import OUTAGE_JUMP, PUBLISH_AT

HELD_MAX = 10_000  # pongs waiting for echoes on one node; past that a ping is answered at once
LATE_TEXT = (
    "messages sent while servers were cut off from each other follow, marked as history: "
    "their ids are below ones you have already received"
)


class ClusterMessages:
    """ClusterRegistry's message side (a mixin before RemoteSteps and Registry)."""

    bus: Bus
    _lock: threading.Lock
    _members: dict[str, Member]
    _rooms: dict[str, dict[Member, None]]
    _next_id: int
    store: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # All under the registry's lock:
        self.slot = 1  # where this node numbers while cut off (idkeys.SLOT; set by the node)
        self._outage = False  # numbering its own messages in its range (cut off)
        self._ticket = 0  # this node's messages published so far
        self._applied = 0  # the highest ticket delivered back (or given up on: a gap)
        self._held: deque[tuple[int, Member, Pong]] = deque()  # pongs waiting: (ticket, member, pong)
        super().__init__(*args, **kwargs)
        self._live_high = self._next_id - 1  # the highest id delivered live here

    # -- saying ---------------------------------------------------------------------------------

    def say(
        self,
        member: Member,
        text: str,
        to: str | None = None,
        action: bool = False,
        room: str | None = None,
        re: str = "say",
    ) -> None:
        """Check under the lock, then publish: every node delivers it from the stream (this one
        too).  Without Redis, delivered here at once (``_store_locked`` publishes it)."""
        if member.link is None:
            return
        if not self.bus.up:
            self._deliver_unsent()  # what waits in the queue comes first, in its order
            Registry.say(self, member, text, to, action, room, re)  # type: ignore[arg-type]
            return
        place = LOBBY if room is None or room == LOBBY or to is not None else Registry._room_name(room, re)
        with self._operation(member):  # type: ignore[attr-defined]
            if not self._is_member_locked(member):  # type: ignore[attr-defined]
                return
            target = self._may_say_locked(member, to, place, re)  # type: ignore[attr-defined]
            member.active_at = time.monotonic()
            self._ticket += 1
            data = _said(member, target, text, action, None if place == LOBBY else place)
            self.bus.publish("say", {**data, "ts": timestamp(), "local": False, "t": self._ticket})

    def _store_locked(self, member: Member, target: Member | None, frame: Message, place: str) -> None:
        """The core's ``say`` (only while cut off): stored here, and published to keep its id."""
        Registry._store_locked(self, member, target, frame, place)  # type: ignore[arg-type]
        self._live_high = max(self._live_high, frame.id)
        data = _said(member, target, frame.text, frame.action, frame.room)
        self.bus.publish("say", {**data, "ts": frame.ts, "local": True, "id": frame.id}, script=PUBLISH_AT)

    def _enter_outage_locked(self) -> None:
        """Cut off: number this node's messages from its own range on (once per outage)."""
        if not self._outage:
            self._outage = True
            self._next_id = max(self._next_id, self._live_high + 1) + OUTAGE_JUMP * self.slot

    def _deliver_unsent(self) -> None:
        """Redis is gone: this node's messages still queued are delivered here now, numbered
        here, and published with their ids once Redis is back."""
        with self._operation() as out:  # type: ignore[attr-defined]
            self._enter_outage_locked()

            def stamp(data: dict[str, Any]) -> None:
                data["id"] = self._next_id
                self._next_id += 1

            for data in self.bus.take_unsent("say", stamp, PUBLISH_AT):
                self._deliver_locked(out, data, data["id"])
                self._applied = max(self._applied, data.get("t", 0))
            self._answer_held_locked(out)

    # -- delivering what the stream brings ----------------------------------------------------

    def _deliver_all(self, entries: list[Entry]) -> None:
        """Chat messages read from the stream, in one operation (one send per reader)."""
        self._applying = threading.get_ident()
        with self._operation() as out:  # type: ignore[attr-defined]
            self._outage = False  # Redis answers: a next outage numbers in a new range
            told = False
            for entry in entries:
                number = entry.data.get("id", entry.seq)
                if number <= self._live_high and not told:
                    told = True
                    local = [m for m in self._members.values() if m.link is not None]
                    out.send(Notice(text=LATE_TEXT, re="late"), local)
                self._deliver_locked(out, entry.data, number)
                if entry.node == self.bus.node:
                    self._applied = max(self._applied, entry.data.get("t", 0))
            self._answer_held_locked(out)

    def _deliver_locked(self, out: Any, data: dict[str, Any], number: int) -> None:
        """A chat message to this node's members it is for (marked as history if its id is not
        above one delivered here already); stored here.  The sender, when on this node, acts
        for it as on one server (an IRC sender's own copy), and its account tags it for IRC
        readers wherever it is."""
        frame = _message_from(data, number, history=number <= self._live_high)
        self._live_high = max(self._live_high, number)
        self._next_id = max(self._next_id, number + 1)
        sender = self._members.get(name_key(frame.sender))
        before = ACTING.outbox, ACTING.speaker  # (a transport's, when cut off: given back)
        ACTING.outbox = sender.link if sender is not None else None
        ACTING.speaker = sender
        try:
            self._deliver_to_locked(out, data, frame, sender)
        finally:
            ACTING.outbox, ACTING.speaker = before

    def _deliver_to_locked(
        self, out: Any, data: dict[str, Any], frame: Message, sender: Member | None
    ) -> None:
        # Those ignoring the sender by name or by account, as on one server.
        ignorers = self._ignorers_locked(sender) if sender is not None else None  # type: ignore[attr-defined]
        target = None
        if frame.to is not None:
            target = self._members.get(name_key(frame.to))
            if target is not None:
                self._to_ends_locked(out, frame, sender, target, ignorers)
            elif sender is not None and sender.link is not None:
                out.send(frame, (sender,))  # the recipient left meanwhile: the echo still comes
        else:
            place = frame.room or LOBBY
            if self._pending and sender is not None:  # type: ignore[attr-defined]
                self._settle_for_locked(out, sender, [place])  # type: ignore[attr-defined]
            self._to_room_locked(out, place, frame, skip=ignorers)  # type: ignore[attr-defined]
        if self.store is not None:
            self.store.add(_stored(data, frame, sender, target))

    def _to_ends_locked(
        self, out: Any, frame: Message, sender: Member | None, target: Member, ignorers: Any
    ) -> None:
        """A private message to its ends that are on this node (the recipient unless it ignores
        the sender); why the recipient is away, to a sender here."""
        ends = [m for m in {sender: None, target: None} if m is not None and m.link is not None]
        if ignorers and target in ignorers:
            ends = [m for m in ends if m is not target]
        out.send(frame, ends)
        if target.link is not None and target is not sender and not frame.history:
            target.reply_to = frame.sender
        if sender is not None and sender.link is not None and target.away is not None and not frame.history:
            out.send(AwayStatus(user=target.name, text=target.away), (sender,))

    # -- the ping barrier -------------------------------------------------------------------------

    def hold_pong(self, member: Member, pong: Pong) -> bool:
        """Answer ``pong`` to ``member`` once every message this node published before it came
        back from the stream (True: held, sent by the reader then; False: send it now)."""
        if self._applied >= self._ticket:  # the usual case, without the lock
            return False
        if not self.bus.up:  # cut off: what waits in the queue is delivered here, now
            self._deliver_unsent()
        with self._lock:
            if self._applied >= self._ticket or len(self._held) >= HELD_MAX:
                return False
            if not self._is_member_locked(member):  # type: ignore[attr-defined]
                return False
            self._held.append((self._ticket, member, pong))
            return True

    def _answer_held_locked(self, out: Any) -> None:
        while self._held and self._held[0][0] <= self._applied:
            _, member, pong = self._held.popleft()
            if self._is_member_locked(member):  # type: ignore[attr-defined]
                out.send(pong, (member,))

    def tell_gap(self, missed: int | None) -> None:
        """Entries were lost: told (remote.py); no pong waits for a message that may be among
        them; after Redis lost its data, its counter is raised past the ids seen here."""
        super().tell_gap(missed)  # type: ignore[misc]
        with self._operation() as out:  # type: ignore[attr-defined]
            self._applied = self._ticket
            self._answer_held_locked(out)
            high = self._live_high
        if missed is None:
            with contextlib.suppress(*FAILURES):
                self.bus.raise_ids_to(high)


def history_key_of(member: Member) -> str:
    """The key a member's private history is kept under on every node: its account's, or (a
    member of another node without one) its mirror's, which nobody here holds."""
    if member.link is None and member.account:
        return name_key(member.account)
    return member.history_key


def _said(member: Member, target: Member | None, text: str, action: bool, room: str | None) -> dict[str, Any]:
    """A ``say`` entry's data: the message and whose private history it belongs to."""
    data = {"name": member.name, "text": text, "to": None, "action": action, "room": room}
    if target is not None:  # (a message to a room is everyone's: no keys)
        data["to"], data["skey"], data["rkey"] = target.name, member.history_key, history_key_of(target)
    return data


def _message_from(data: dict[str, Any], number: int, history: bool = False) -> Message:
    room = data.get("room")
    return Message(
        id=number,
        sender=data["name"],
        text=data["text"],
        ts=data["ts"],
        to=data.get("to"),
        action=bool(data.get("action")),
        history=history,
        room=None if room in (None, LOBBY) else room,
    )


def _stored(
    data: dict[str, Any], frame: Message, sender: Member | None, target: Member | None
) -> StoredMessage:
    """The message as kept: under the keys its entry names (a local end's own key first)."""
    sender_key = sender.history_key if sender is not None and sender.link is not None else None
    recipient_key = target.history_key if target is not None and target.link is not None else None
    return StoredMessage(
        id=frame.id,
        ts=frame.ts,
        sender=frame.sender,
        sender_key=sender_key or data.get("skey") or " remote " + name_key(frame.sender),
        text=frame.text,
        recipient=frame.to,
        recipient_key=None if frame.to is None else recipient_key or data.get("rkey") or " remote ?",
        action=frame.action,
        room=frame.room or LOBBY,
    )


def stored_from_entry(data: dict[str, Any], number: int) -> StoredMessage:
    """A ``say`` entry as kept by a node that delivered it to nobody (backfill.py)."""
    return _stored(data, _message_from(data, number), None, None)

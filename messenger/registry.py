"""Who is connected, and getting frames to them without ever blocking on a socket.

The Registry owns the logged-in members under one lock.  Every broadcast happens inside that
lock (so all receivers see one order of messages, with ids increasing), is encoded once per
mode, and the same bytes are appended to each recipient's Outbox; each connection's own writer
thread drains its Outbox to the socket.  No socket I/O ever happens under the lock: a member
whose Outbox passes its limit is removed, announced as ``too_slow``, and cut off by calling its
``abort`` callback after the lock is released.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .protocol import (
    ErrorCode,
    FrameError,
    Joined,
    Left,
    Message,
    Mode,
    Renamed,
    ServerFrame,
    Welcome,
    encode_for,
    name_key,
    timestamp,
)

log = logging.getLogger(__name__)


class Outbox:
    """A bounded queue of encoded bytes for one connection, drained by its writer thread.

    ``put`` never blocks; it reports False once more than ``limit`` bytes wait unsent (queued,
    or taken by the writer and not yet fully sent), and the caller then cuts the connection
    off.  ``take`` hands the writer everything queued as one chunk, so a busy connection gets
    one ``sendall`` per wake-up rather than one per frame; the writer calls ``take`` again only
    once that chunk is sent, which is when it stops counting as unsent.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._in_flight = 0
        self._closed = False
        self._cond = threading.Condition(threading.Lock())

    @property
    def pending(self) -> int:
        """Bytes not yet sent: queued, or taken by the writer and still being sent."""
        return self._size + self._in_flight

    @property
    def closed(self) -> bool:
        return self._closed

    def put(self, data: bytes) -> bool:
        """Queue ``data``; False when the queue is now over its limit.  Ignored once closed."""
        with self._cond:
            if self._closed:
                return True
            self._chunks.append(data)
            self._size += len(data)
            self._cond.notify()
            return self._size + self._in_flight <= self.limit

    def close(self, discard: bool = False) -> None:
        """Accept nothing more; the writer sends what is queued (unless ``discard``), then ends."""
        with self._cond:
            self._closed = True
            if discard:
                self._chunks.clear()
                self._size = 0
                self._in_flight = 0
            self._cond.notify_all()

    def take(self) -> bytes | None:
        """Wait for queued bytes and return them all; None once closed and drained."""
        with self._cond:
            self._in_flight = 0  # the previous chunk has been sent
            while not self._chunks and not self._closed:
                self._cond.wait()
            if not self._chunks:
                return None
            data = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
            self._chunks.clear()
            self._in_flight = len(data)
            self._size = 0
            return data


@dataclass(eq=False)
class Member:
    """One connection as the registry sees it: its mode, its outbox, and how to cut it off."""

    mode: Mode
    outbox: Outbox
    abort: Callable[[], None]
    address: str = ""
    name: str | None = None
    history: int | None = field(default=None, repr=False)

    @property
    def key(self) -> str:
        assert self.name is not None
        return name_key(self.name)


class NameTaken(Exception):
    """The name (compared case-insensitively after normalisation) is in use."""


class ServerFull(Exception):
    """The server already holds its maximum number of logged-in members."""


class Registry:
    """The logged-in members and every delivery to them.

    Callers use join / rename / leave / say / users / reply / close_all.  All of them are
    thread-safe; none of them blocks on a socket.
    """

    def __init__(self, server_name: str, max_members: int | None = None) -> None:
        self.server_name = server_name
        self.max_members = max_members
        self._lock = threading.Lock()
        self._members: dict[str, Member] = {}
        self._next_id = 1

    # -- queries ------------------------------------------------------------------------------

    def users(self) -> tuple[str, ...]:
        with self._lock:
            return self._users_locked()

    def __len__(self) -> int:
        return len(self._members)

    def _users_locked(self) -> tuple[str, ...]:
        return tuple(sorted((m.name for m in self._members.values() if m.name), key=name_key))

    # -- membership ---------------------------------------------------------------------------

    def join(self, member: Member, name: str) -> None:
        """Log ``member`` in as ``name``: welcome it, then announce it to everyone (itself too).

        Raises NameTaken or ServerFull.
        """
        key = name_key(name)
        with self._lock:
            if key in self._members:
                raise NameTaken(name)
            if self.max_members is not None and len(self._members) >= self.max_members:
                raise ServerFull(name)
            member.name = name
            self._members[key] = member
            welcome = Welcome(user=name, users=self._users_locked(), server=self.server_name)
            slow = [] if member.outbox.put(encode_for(member.mode, welcome)) else [member]
            slow += self._fanout_locked(Joined(user=name, ts=timestamp()), self._members.values())
            cut = self._remove_slow_locked(slow)
        self._abort(cut)

    def rename(self, member: Member, new_name: str) -> None:
        """Change ``member``'s name and tell everyone.  Only the case of one's own name may
        collide with one's own name; any other match raises NameTaken."""
        new_key = name_key(new_name)
        with self._lock:
            old_name = member.name
            if old_name is None or self._members.get(member.key) is not member:
                return
            if new_key != member.key and new_key in self._members:
                raise NameTaken(new_name)
            del self._members[member.key]
            member.name = new_name
            self._members[new_key] = member
            frame = Renamed(old=old_name, new=new_name, ts=timestamp())
            cut = self._remove_slow_locked(self._fanout_locked(frame, self._members.values()))
        self._abort(cut)

    def leave(self, member: Member, reason: str) -> bool:
        """Remove ``member`` and announce it as left; False if it was not a member."""
        with self._lock:
            if member.name is None or self._members.get(member.key) is not member:
                return False
            cut = self._remove_slow_locked([], first=(member, reason))
        self._abort(cut)
        return True

    def close_all(self) -> list[Member]:
        """Forget every member without announcing anything (the server is stopping)."""
        with self._lock:
            members = list(self._members.values())
            self._members.clear()
        return members

    # -- messages -----------------------------------------------------------------------------

    def say(self, member: Member, text: str, to: str | None = None, action: bool = False) -> None:
        """Deliver a chat message from ``member``: to everyone, or privately to ``to`` (and the
        sender).  Raises FrameError ``unknown_user`` when ``to`` is not online."""
        with self._lock:
            if member.name is None or self._members.get(member.key) is not member:
                return
            if to is None:
                recipients: Iterable[Member] = self._members.values()
                to_name = None
            else:
                target = self._members.get(name_key(to))
                if target is None:
                    raise FrameError(ErrorCode.UNKNOWN_USER, f"no user named '{to}' is online", "say")
                recipients = (member,) if target is member else (member, target)
                to_name = target.name
            frame = Message(
                id=self._next_id, sender=member.name, text=text, ts=timestamp(), to=to_name, action=action
            )
            self._next_id += 1
            cut = self._remove_slow_locked(self._fanout_locked(frame, recipients))
        self._abort(cut)

    def reply(self, member: Member, data: bytes) -> None:
        """Queue bytes for one connection (an answer to its own request)."""
        if not member.outbox.put(data):
            with self._lock:
                cut = self._remove_slow_locked([member])
            self._abort(cut or [member])

    # -- internals ----------------------------------------------------------------------------

    def _fanout_locked(self, frame: ServerFrame, recipients: Iterable[Member]) -> list[Member]:
        """Queue ``frame`` for each recipient, encoded once per mode; return the overflowed."""
        encoded: dict[Mode, bytes] = {}
        slow = []
        for member in recipients:
            data = encoded.get(member.mode)
            if data is None:
                data = encoded[member.mode] = encode_for(member.mode, frame)
            if not member.outbox.put(data):
                slow.append(member)
        return slow

    def _remove_slow_locked(
        self, slow: list[Member], first: tuple[Member, str] | None = None
    ) -> list[Member]:
        """Remove members and announce them as left, until no announcement overflows anyone
        else; return the members cut for being too slow."""
        pending = [(m, "too_slow") for m in slow]
        if first is not None:
            pending.insert(0, first)
        cut: list[Member] = []
        while pending:
            member, reason = pending.pop(0)
            if member.name is None or self._members.get(member.key) is not member:
                if reason == "too_slow" and member not in cut:
                    cut.append(member)
                continue
            del self._members[member.key]
            if reason == "too_slow":
                cut.append(member)
                member.outbox.close(discard=True)
            frame = Left(user=member.name, ts=timestamp(), reason=reason)
            pending += [(m, "too_slow") for m in self._fanout_locked(frame, self._members.values())]
        return cut

    @staticmethod
    def _abort(members: list[Member]) -> None:
        for member in members:
            log.warning(
                "%s (%s) cut off: more than %d bytes waiting unsent",
                member.name,
                member.address,
                member.outbox.limit,
            )
            member.abort()


__all__ = ["Member", "NameTaken", "Outbox", "Registry", "ServerFull"]

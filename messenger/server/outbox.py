"""What the ChatLog hands out: its Entries, each connection's Outbox (a cursor into the log and
the unsent rest of a chunk), and one Flusher round's Snapshot of the log and the Batches it
joins for every cursor.  delivery.py owns the log itself and the Flusher thread."""

from __future__ import annotations

import bisect
import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

from ..protocol.frames import Mode

log = logging.getLogger(__name__)

NEVER = 1 << 62  # a sequence number no log reaches


class Entry:
    """One frame in the log: its bytes in each mode and, unless it is for every member, the
    Outboxes it is for; ``own``: a broadcast's bytes for the one reader it is about, when they
    differ from its mode's (an IRC sender without echo-message gets nothing back); ``message``:
    it is a chat message (the metrics count its deliveries apart from everything else's).

    A mode is a ``Mode`` or an IRC variant's key (ircout.py); ``data`` may compute a variant's
    bytes the first time it is asked for one it lacks."""

    __slots__ = ("data", "message", "own", "targets")

    def __init__(
        self,
        data: dict[Any, bytes],
        targets: frozenset[Outbox] | None,
        own: tuple[Outbox, bytes] | None = None,
        message: bool = False,
    ) -> None:
        self.data = data
        self.targets = targets
        self.own = own
        self.message = message  # a chat message: counted apart in the metrics


class Outbox:
    """The output of one connection: a cursor into the log, and the unsent rest of the last
    chunk the kernel did not take whole.

    Broadcast entries reach it only while it is a member (between ``join`` and ``leave``
    sequence numbers, set by the ChatLog); entries naming it always do.  ``close`` lets what is
    queued go out, then shuts the socket (which also wakes the connection's reader);
    ``abort`` drops it and shuts the socket at once.  ``released`` is set once the Flusher will
    not touch the socket again, so it may be closed.
    """

    def __init__(
        self,
        sock: socket.socket,
        mode: Any,
        limit: int,
        on_overflow: Callable[[], None] | None = None,
        encrypt: Callable[[bytes], bytes] | None = None,
    ) -> None:
        # Fixed at creation, read by any thread:
        self.sock = sock
        # A Mode, or an IRC variant's key, which the IRC connection replaces (under the log's
        # lock, ChatLog.set_mode) when its client changes its capabilities:
        self.mode = mode
        self.limit = limit
        self.on_overflow = on_overflow
        self.encrypt = encrypt  # TLS: each chunk becomes ciphertext as it is taken from the log
        self.released = threading.Event()  # set by the Flusher, waited on by the handler
        # Set once by its connection, right after: the Member whose link it is (the outlet reads
        # a sender's account from it, for IRC's account-tag) and, for IRC, its IRCConnection.
        self.member: Any = None
        self.irc: Any = None
        # Set by ``attach`` under the log's lock, then written by the Flusher only (outside the
        # lock: an int store) and read under the lock by ``unsent`` and trimming:
        self.cursor = 0
        # Written under the log's lock by ``join`` / ``leave`` (in the registry's operations);
        # the Flusher reads them outside it.  An outbox joins at most once and then leaves at
        # most once (a connection never logs in again after leaving), each time moving one of
        # them from NEVER to a sequence number at or past the head of the log; so a round that
        # reads either value, old or new, sends the same thing: everything below the head it took.
        self.member_from = NEVER
        self.member_until = NEVER
        # Set (never cleared) under the log's lock by ``close`` / ``abort``; ``dead`` also by the
        # Flusher when the socket fails.  The Flusher reads ``closed`` in its snapshot.
        self.closed = False
        self.dead = False
        # Under the log's lock (``own_bytes``): the bytes of the entries addressed to it in
        # [cursor, counted_to), valid while the cursor is still ``counted_from``.
        self.counted_from = -1
        self.counted_to = 0
        self.counted = 0
        # Touched by the Flusher thread only:
        self.rest = b""
        self.waiting = False
        self.registered = False
        self.overflowed = False


class Snapshot:
    """What a Flusher round reads of the log, taken under its lock.

    ``entries`` and ``targeted`` are the log's own lists, not copies (copying them would cost
    every round O(log length)): their items below ``head`` and ``targeted_count`` never change
    until they are trimmed, and only the Flusher trims, after the round.  Appends made since the
    snapshot lie beyond both bounds, so a round never looks at them.
    """

    __slots__ = ("base", "entries", "head", "owned", "owned_count", "targeted", "targeted_count")

    def __init__(self, entries: list[Entry], base: int, targeted: list[int], owned: list[int]) -> None:
        self.entries = entries
        self.base = base
        self.head = base + len(entries)
        self.targeted = targeted
        self.targeted_count = len(targeted)  # every targeted entry so far lies below ``head``
        self.owned = owned  # broadcasts with an ``own`` reader (IRC senders' messages)
        self.owned_count = len(owned)

    def targets_since(self, start: int) -> set[Outbox] | None:
        """The outboxes the entries in [start, head) are for, or None if one is a broadcast.

        A round whose new entries are all targeted (a login storm's welcomes, pongs) need only
        visit these, not every connection."""
        end = self.targeted_count
        first = bisect.bisect_left(self.targeted, start, 0, end)
        if end - first != self.head - start:
            return None  # a broadcast: the round visits everyone, and never walks these
        return self.targeted_since(start)

    def targeted_since(self, start: int) -> set[Outbox]:
        """The outboxes the targeted entries in [start, head) are for (broadcasts left out)."""
        end = self.targeted_count
        found: set[Outbox] = set()
        entries, base = self.entries, self.base
        for seq in self.targeted[bisect.bisect_left(self.targeted, start, 0, end) : end]:
            found.update(entries[seq - base].targets or ())
        return found


class Batches:
    """What one Flusher round hands each connection: everything from its cursor to the head.

    Broadcast entries form one list per mode, so a connection's broadcasts are one slice of it
    (found by bisection) joined in C, and connections at the same cursor share the joined bytes.
    The few entries addressed to one connection are merged in by sequence number.  A round thus
    costs each connection O(log n) plus its own entries, however long the slice.
    """

    def __init__(self, snapshot: Snapshot, outboxes: list[Outbox]) -> None:
        entries, base, head, targeted = snapshot.entries, snapshot.base, snapshot.head, snapshot.targeted
        starts = [o.cursor for o in outboxes if o.cursor < head and not o.waiting]
        self.low = max(min(starts, default=head), base)
        self.head = head
        self.window = entries[self.low - base : head - base]
        # Only the targeted entries below the head: appends made since the snapshot lie past it.
        end = snapshot.targeted_count
        first_targeted = bisect.bisect_left(targeted, self.low, 0, end)
        self.own: dict[Outbox, list[int]] = {}
        for seq in targeted[first_targeted:end]:
            for outbox in self.window[seq - self.low].targets or ():
                self.own.setdefault(outbox, []).append(seq)
        owners = self._owners(snapshot)
        if first_targeted == end:
            self.broadcast_seqs = range(self.low, head)
        else:
            self.broadcast_seqs = [s for s, e in enumerate(self.window, self.low) if e.targets is None]
        self._data: dict[Mode, list[bytes]] = {}
        self._joined: dict[tuple[Mode, int, int], bytes] = {}  # by indexes into broadcast_seqs
        self.ranges: dict[tuple[Mode, int, int], bytes] = {}  # by sequence numbers [lo, hi)
        for outbox in owners:
            self.own[outbox].sort()

    def _owners(self, snapshot: Snapshot) -> set[Outbox]:
        """Add the broadcasts with ``own`` bytes to their owners' entries; return the owners."""
        owners: set[Outbox] = set()
        owned, end = snapshot.owned, snapshot.owned_count
        for seq in owned[bisect.bisect_left(owned, self.low, 0, end) : end]:
            if seq < self.head:
                outbox = self.window[seq - self.low].own[0]  # type: ignore[index]  # owned
                self.own.setdefault(outbox, []).append(seq)
                owners.add(outbox)
        return owners

    def _broadcasts(self, mode: Mode, lo: int, hi: int) -> bytes:
        """Joined broadcast entries with sequence numbers in [lo, hi), in ``mode``."""
        i = bisect.bisect_left(self.broadcast_seqs, lo)
        j = bisect.bisect_left(self.broadcast_seqs, hi)
        if i >= j:
            return b""
        key = (mode, i, j)
        joined = self._joined.get(key)
        if joined is None:
            data = self._data.get(mode)
            if data is None:
                low = self.low
                entries = [self.window[seq - low].data for seq in self.broadcast_seqs]
                data = self._data[mode] = [in_mode(entry, mode) for entry in entries]
            joined = self._joined[key] = b"".join(data[i:j])
        return joined

    def for_outbox(self, outbox: Outbox) -> bytes:
        mode, start = outbox.mode, outbox.cursor
        lo, hi = max(start, outbox.member_from), min(self.head, outbox.member_until)
        if outbox not in self.own:  # the common case, kept short: it runs once per connection
            if lo >= hi:
                return b""
            key = (mode, lo, hi)
            joined = self.ranges.get(key)
            if joined is None:
                joined = self.ranges[key] = self._broadcasts(mode, lo, hi)
            return joined
        own = [seq for seq in self.own[outbox] if seq >= start]
        if not own:
            return self._broadcasts(mode, lo, hi) if lo < hi else b""
        pieces = []
        for seq in own:
            if lo < min(seq, hi):
                pieces.append(self._broadcasts(mode, lo, min(seq, hi)))
            entry = self.window[seq - self.low]
            if entry.own is not None and entry.own[0] is outbox:
                if entry.targets is not None or lo <= seq < hi:  # a broadcast: while a member
                    pieces.append(entry.own[1])
            elif entry.targets is not None:
                pieces.append(entry.data[mode])
            lo = max(lo, seq + 1)
        if lo < hi:
            pieces.append(self._broadcasts(mode, lo, hi))
        return b"".join(pieces)


def in_mode(data: dict[Any, bytes], mode: Any) -> bytes:
    """A broadcast's bytes in ``mode``.  The window a round joins starts at the lowest cursor it
    visits, so it may hold broadcasts from before any connection had ``mode`` (an IRC variant
    nobody used yet): a plain dict without it, read by no one in that mode, hence b"".  Entries
    that can gain a mode compute it (ircout.IRCData), or encode a Mode on demand and give
    b"" for an IRC key as a plain dict would (outlet.FrameBytes)."""
    if mode in data or type(data) is not dict:
        return data[mode]
    return b""


def take(outbox: Outbox, batches: Batches) -> bytes:
    """The next chunk for ``outbox`` (ciphertext for TLS); a connection whose TLS broke is
    marked dead and gets nothing, and so is one whose chunk could not be made (a bug: it costs
    that connection, not the round's deliveries to everyone else)."""
    try:
        chunk = batches.for_outbox(outbox)
    except Exception:
        log.error(
            "no output could be made for %s; closing it",
            outbox.sock,
            exc_info=log.isEnabledFor(logging.DEBUG),
        )
        outbox.dead = True
        return b""
    if outbox.encrypt is None:
        return chunk
    try:
        return outbox.encrypt(chunk)
    except Exception:  # a broken TLS connection: nothing more can go out on it
        log.debug("encrypting for %s failed", outbox.sock, exc_info=True)
        outbox.dead = True
        return b""


def own_bytes(outbox: Outbox, entries: list[Entry], base: int, targeted: list[int]) -> int:
    """Bytes of the entries addressed to ``outbox`` from its cursor on (log lock held).

    Each call looks only at the targeted entries appended since the last call for the same
    cursor, so a connection waiting through a login storm costs each round O(new entries),
    not O(everything queued since it began to wait)."""
    start = max(outbox.cursor, base)
    if outbox.counted_from != outbox.cursor or outbox.counted_to < start:
        outbox.counted_from, outbox.counted_to, outbox.counted = outbox.cursor, start, 0
    counted, mode = outbox.counted, outbox.mode
    for seq in targeted[bisect.bisect_left(targeted, outbox.counted_to) :]:
        entry = entries[seq - base]
        if outbox in entry.targets:  # type: ignore[operator]  # targeted: never None
            counted += len(entry.data.get(mode, b""))
    outbox.counted, outbox.counted_to = counted, base + len(entries)
    return counted

"""Getting frames onto sockets: one shared log of encoded frames, one Flusher thread.

Every frame the server sends is appended once to the ChatLog, in one global order: a broadcast
as one entry for every member, a reply or private message as one entry naming its recipients.
Appending costs O(1) whatever the number of connections.  Each connection's Outbox is a cursor
into that log.  The Flusher thread, woken once per batch, hands every Outbox everything new
since its cursor in one non-blocking ``send`` (connections that are caught up share one joined
chunk), and waits with epoll for the sockets whose kernel buffers are full.  An Outbox whose
unsent bytes pass its limit is reported through its ``on_overflow`` callback, and the log is
trimmed behind the slowest cursor, so memory stays bounded.

Why not a queue and a writer thread per connection (the first design): a broadcast then costs a
locked queue operation and a thread wake-up per recipient, and at a thousand connections the
wake-ups alone use more than a core (docs/performance.md has the figures).

This module knows sockets and modes, not frames: it moves bytes.  The Outbox, the log's
Entries and a round's Batches are in outbox.py.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterable
from typing import Any

from ..protocol.frames import Mode
from .counters import DeliveryStats
from .hold import Hold
from .modes import ModesInUse
from .outbox import NEVER, Batches, Entry, Outbox, Snapshot, own_bytes, take
from .pending import Operation, Pending
from .sockets import Sockets

MSG_DONTWAIT = socket.MSG_DONTWAIT

log = logging.getLogger(__name__)

# Trim the log once this many entries lie behind the slowest cursor: often enough that a burst
# of logins (each welcome lists every user) does not pile up, rarely enough to cost nothing.
TRIM_EVERY = 256


class ChatLog:
    """The shared log of everything sent, and the Flusher thread that writes it out.

    Callers use ``attach`` / ``join`` / ``leave`` / ``append`` / ``close`` / ``abort`` /
    ``unsent`` and ``stop``, or ``pending`` to apply several of them at once; all are
    thread-safe and none blocks on a socket.  ``gather``: the hold's length in seconds (hold.py).
    """

    def __init__(self, gather: float = 0.0) -> None:
        self._lock = threading.Lock()
        self._entries: list[Entry] = []
        self._base = 0  # sequence number of _entries[0]
        self._targeted: list[int] = []  # sequence numbers of entries with targets, ascending
        self._owned: list[int] = []  # sequence numbers of broadcasts with ``own`` bytes, ascending
        # Bytes of the broadcasts before each entry, per mode (targeted entries count 0).
        self._offsets: dict[Any, list[int]] = {mode: [0] for mode in Mode}
        self.in_use = ModesInUse()  # the modes open outboxes have (modes.py)
        self._outboxes: set[Outbox] = set()
        self._seen_head = 0  # the head at the last round that held nothing back
        # Flusher only: whether the last round left every connection waiting or caught up, and
        # the pokes (close, abort) it had seen; a poke since then means another round is due.
        self._settled = True
        self._pokes = 0  # under the lock: closes and aborts so far
        self._pokes_seen = 0
        self._poked: list[Outbox] = []  # under the lock: outboxes closed or aborted since the last snapshot
        # Flusher only: outboxes closed (or found dead) and not released yet, and those waiting
        # for their socket (their cursors are the only ones that hold back trimming).
        self._closing: set[Outbox] = set()
        self._members = 0  # outboxes that joined and have not left: a broadcast's recipients
        self._stamps: list[float] = []  # when each chat message appended since the last round was read
        self._hold = Hold(gather)  # broadcasts held back under load (``_scope_locked``)
        self._scoped_head = 0  # Flusher only: the head at the last round, held back or not
        self._urgent = False  # under the lock: an entry for someone, a close or stop since the snapshot
        self.stats = DeliveryStats()
        self._asleep = False
        self._stopping = False
        self._sockets = Sockets(self.stats)
        self._thread = threading.Thread(target=self._run, name="flusher", daemon=True)
        self._thread.start()

    @property
    def head(self) -> int:
        return self._base + len(self._entries)

    # -- for the server and the registry ------------------------------------------------------

    def attach(self, outbox: Outbox) -> None:
        """Start delivering to ``outbox``: replies addressed to it from now on."""
        with self._lock:
            outbox.cursor = self.head
            self._outboxes.add(outbox)
            if isinstance(outbox.mode, Mode):  # an IRC key was counted by set_mode
                self.in_use.count(outbox.mode, 1)

    def join(self, outbox: Outbox) -> None:
        """Broadcasts appended from now on reach ``outbox`` too."""
        with self._lock:
            self._join_locked(outbox)

    def leave(self, outbox: Outbox) -> None:
        """Broadcasts appended from now on no longer reach ``outbox``."""
        with self._lock:
            self._leave_locked(outbox)

    def append(self, data: dict[Any, bytes], targets: Iterable[Outbox] | None = None) -> None:
        """Queue one frame (``data`` in each mode) for every member, or for ``targets``."""
        entry = Entry(data, None if targets is None else frozenset(targets))
        with self._lock:
            self._append_locked(entry)
            self._wake_locked()

    def set_mode(self, outbox: Outbox, mode: Any) -> None:
        """Give ``outbox`` another mode (an IRC variant's key, ircout.py) from now on; a key not
        seen before gets its byte counts (the entries before it count 0: it had none of them)."""
        with self._lock:
            if mode not in self._offsets:  # at most one per variant: 32
                self._offsets[mode] = [0] * (len(self._entries) + 1)
            self.in_use.count(outbox.mode, -1)  # (a client cycling through its capabilities
            self.in_use.count(mode, 1)  # leaves no extra encoding behind)
            outbox.mode = mode

    def close(self, outbox: Outbox) -> None:
        """Send what is queued for ``outbox``, then shut its socket down."""
        with self._lock:
            self._close_locked(outbox)
            self._wake_locked()

    def pending(self) -> Pending:
        """Collect appends, joins, leaves and closes, to be applied together by ``commit``."""
        return Pending(self)

    def abort(self, outbox: Outbox) -> None:
        """Drop what is queued for ``outbox`` and shut its socket down now; never blocks."""
        with self._lock:
            outbox.closed = outbox.dead = self._urgent = True
            self._pokes += 1
            self._poked.append(outbox)
            self._wake_locked()
        with contextlib.suppress(OSError):
            outbox.sock.shutdown(socket.SHUT_RDWR)

    def unsent(self, outbox: Outbox) -> int:
        """Bytes queued for ``outbox`` that the kernel has not taken yet."""
        with self._lock:
            return self._unsent_locked(outbox)

    def stop(self) -> None:
        """End the Flusher thread (after every connection was released)."""
        with self._lock:
            self._stopping = self._urgent = True
            self._wake_locked()
        self._thread.join(timeout=2)

    # -- internals (log lock held) ------------------------------------------------------------

    def _commit(self, operations: list[Operation]) -> None:
        with self._lock:
            for name, argument in operations:
                getattr(self, name)(argument)
            self._wake_locked()

    def _append_locked(self, entry: Entry) -> None:
        seq = self._base + len(self._entries)
        self._entries.append(entry)
        if entry.targets is not None:
            self._targeted.append(seq)
            self._urgent = True
            count = len(entry.targets)
            for offsets in self._offsets.values():  # (they count broadcasts only)
                offsets.append(offsets[-1])
        else:
            if entry.own is not None:
                self._owned.append(seq)
            count = self._members
            data = entry.data
            for mode, offsets in self._offsets.items():
                offsets.append(offsets[-1] + len(data.get(mode, b"")))
        self.stats.deliveries += count
        if entry.message:
            self.stats.message_deliveries += count

    def _join_locked(self, outbox: Outbox) -> None:
        if outbox.member_from == NEVER:  # it joins at most once
            self._members += 1
        outbox.member_from = self.head
        outbox.member_until = NEVER

    def _leave_locked(self, outbox: Outbox) -> None:
        if outbox.member_from != NEVER and outbox.member_until == NEVER:
            self._members -= 1
        outbox.member_until = self.head

    def _message_locked(self, read: tuple[float, int]) -> None:
        self.stats.messages += read[1]
        self._stamps.append(read[0])

    def _close_locked(self, outbox: Outbox) -> None:
        outbox.closed = self._urgent = True
        self._pokes += 1
        self._poked.append(outbox)

    def _wake_locked(self) -> None:
        """Wake the Flusher, unless all that is new is broadcasts held back until a set time."""
        if self._asleep and (self._urgent or not self._hold.on):
            self._asleep = False
            self._sockets.wake()

    def _unsent_locked(self, outbox: Outbox) -> int:
        """The rest, the broadcasts since the cursor while it is a member, and the entries
        addressed to it (counted once each, see ``own_bytes``): never what is for others."""
        base, head = self._base, self.head
        lo = min(max(outbox.cursor, outbox.member_from, base), head) - base
        hi = max(min(outbox.member_until, head), base) - base
        offsets = self._offsets[outbox.mode]
        broadcasts = offsets[hi] - offsets[lo] if lo < hi else 0
        return len(outbox.rest) + broadcasts + own_bytes(outbox, self._entries, base, self._targeted)

    def _trim_locked(self) -> None:
        if len(self._entries) < TRIM_EVERY:
            return
        # Only a connection waiting for its socket lags behind the last round's head: every
        # other one has had everything for it below that head, whatever its cursor says.
        low = min((o.cursor for o in self._sockets.waiters), default=self._seen_head)
        low = min(low, self._seen_head)
        drop = low - self._base
        if drop < TRIM_EVERY:
            return
        del self._entries[:drop]
        for offsets in self._offsets.values():
            del offsets[:drop]
        self._base = low
        del self._targeted[: bisect.bisect_left(self._targeted, low)]
        del self._owned[: bisect.bisect_left(self._owned, low)]

    # -- the Flusher thread -------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                try:
                    if not self._round():
                        return
                except Exception:  # pragma: no cover - a bug; log it and keep delivering
                    log.exception("a flusher round failed")
        finally:
            self._sockets.close()

    def _idle_locked(self) -> bool:
        """Nothing to do until something is appended or a socket becomes writable."""
        head = self.head
        if head != self._seen_head:
            return False  # new entries: someone may have more to send, or be further behind
        return self._settled and self._pokes == self._pokes_seen

    def _sleep_locked(self) -> float | None:
        """How long the Flusher may wait for a wake-up or a writable socket (0: a round is due)."""
        if self._hold.on and not self._urgent:
            return self._hold.left()
        return None if self._idle_locked() else 0

    def _round(self) -> bool:
        with self._lock:
            if self._stopping:
                return False
            timeout = self._sleep_locked()
            self._asleep = timeout != 0
        writable = self._sockets.wait(timeout)
        with self._lock:
            self._asleep = self._urgent = False
            snapshot = Snapshot(self._entries, self._base, self._targeted, self._owned)
            previous, head = self._seen_head, snapshot.head
            targets, held = self._scope_locked(snapshot)
            outboxes = list(self._outboxes) if targets is None else None
            self._closing.update(self._poked)  # closed before this snapshot: all queued lies below head
            self._poked = []
            self._pokes_seen = self._pokes
            stamps: list[float] = []
            if not held:  # metrics: the messages this round sends first
                stamps, self._stamps = self._stamps, []
        if outboxes is None:  # every entry since the last round is targeted
            outboxes = self._visits(targets or set(), previous, writable)
        overflowed = self._deliver(outboxes, Batches(snapshot, outboxes), head)
        self.stats.round_done(stamps)  # metrics: the fan-out latency of those messages
        with self._lock:
            if targets is None:  # a round to everyone: the hold begins as it ends
                self._hold.begin(time.monotonic())
            self._trim_locked()
        for outbox in overflowed:
            if outbox.on_overflow is not None:
                outbox.on_overflow()
        return True

    def _scope_locked(self, snapshot: Snapshot) -> tuple[set[Outbox] | None, bool]:
        """Whom this round visits (None: everyone), and whether it holds broadcasts back (hold.py):
        a round in a hold visits only those the entries since the last round name (answers,
        private messages, pongs), who get everything up to the head, broadcasts included."""
        previous, head, now = self._seen_head, snapshot.head, time.monotonic()
        targets = snapshot.targets_since(previous)
        held = self._hold.holds(now) and targets is None
        if held:
            targets = snapshot.targeted_since(max(previous, self._scoped_head))
        else:
            self._seen_head = head
        self._scoped_head = head
        return targets, held

    def _visits(self, chosen: set[Outbox], previous: int, writable: list[Outbox]) -> list[Outbox]:
        """The connections a round with no broadcast since the last one must visit: the targets
        of its entries (``chosen``), the sockets that became writable, and the closing ones.
        Every other connection not waiting had everything for it below the last round's head,
        so a cursor it has not moved since may jump there (its rest is empty: nothing is
        skipped)."""
        chosen.update(writable)
        chosen.update(self._closing)
        visits = [outbox for outbox in chosen if not outbox.released.is_set()]
        for outbox in visits:
            if not outbox.waiting and not outbox.rest and outbox.cursor < previous:
                outbox.cursor = previous
        return visits

    def _deliver(self, outboxes: list[Outbox], batches: Batches, head: int) -> list[Outbox]:
        """Send each of ``outboxes`` what it has up to ``head``; return those now over their limit."""
        overflowed: list[Outbox] = []
        settled = True
        ranges, own, closing = batches.ranges, batches.own, self._closing
        sent_bytes = 0
        for outbox in outboxes:
            # The common case first, with no call but the send (this runs once per connection
            # per round): a member without TLS, in the round's window from its cursor to the
            # head, nothing of its own there, nothing left over, not closing, whose chunk an
            # earlier connection at the same cursor already joined.  Anything else, or a chunk
            # the kernel does not take whole, takes the general path below.
            if (
                outbox.member_from <= outbox.cursor < head <= outbox.member_until
                and outbox.encrypt is None
                and not outbox.rest
                and not outbox.waiting
                and not outbox.dead
                and outbox not in own
                and outbox not in closing
            ):
                chunk = ranges.get((outbox.mode, outbox.cursor, head))
                if chunk is not None:
                    try:
                        sent = outbox.sock.send(chunk, MSG_DONTWAIT) if chunk else 0
                    except BlockingIOError:
                        sent = 0
                    except OSError:
                        sent = -1
                    outbox.cursor = head
                    if sent == len(chunk):
                        sent_bytes += sent
                        continue
                    sent_bytes += max(sent, 0)
                    outbox.rest = chunk[max(sent, 0) :]  # the general path sends it, or fails
            if outbox.dead:
                self._release(outbox)
                continue
            if not outbox.waiting:
                if outbox.rest:
                    self._sockets.send(outbox)
                if not outbox.rest and not outbox.waiting and outbox.cursor < head:
                    outbox.rest = take(outbox, batches)
                    outbox.cursor = head
                    if outbox.rest:
                        self._sockets.send(outbox)
                if not outbox.rest and outbox in self._closing and outbox.cursor >= head:
                    self._release(outbox)
                    continue
                if outbox.dead or (outbox.closed and not outbox.waiting):
                    settled = False
                    self._closing.add(outbox)
            if outbox.waiting and not outbox.overflowed and self.unsent(outbox) > outbox.limit:
                outbox.overflowed = True
                overflowed.append(outbox)
        self._settled = settled
        self.stats.bytes_sent += sent_bytes  # metrics
        return overflowed

    def _release(self, outbox: Outbox) -> None:
        self._sockets.forget(outbox)
        self._closing.discard(outbox)
        with self._lock:
            if outbox in self._outboxes:  # released once: its IRC key is counted out once
                self._outboxes.discard(outbox)
                self.in_use.count(outbox.mode, -1)
        with contextlib.suppress(OSError):
            outbox.sock.shutdown(socket.SHUT_RDWR)
        outbox.rest = b""
        outbox.released.set()

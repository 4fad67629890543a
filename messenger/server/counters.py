"""The server's own figures as plain numbers, for ``GET /metrics`` (metrics.py reads them).

Each figure has one writer: one thread, or whichever thread holds a lock it takes anyway, so
the message path never takes a lock, or even a Prometheus object, for a figure.  The collector
reads them at scrape time without any lock: reading an int or a float is atomic in CPython, and
a scrape may see one figure a moment older than another, which Prometheus tolerates.  Who writes
what is said at each field (and in docs/architecture.md).  No figure is keyed by anything a user
chose: labels come from fixed sets (transports, error codes).
"""

from __future__ import annotations

import bisect
import threading
import time

# Upper bounds (seconds) of the fan-out latency buckets: fine between 0.1 and 10 ms, where p99
# is read, coarse above.
LATENCY_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.0025, 0.003, 0.004, 0.005,
    0.006, 0.008, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip

TRANSPORTS = ("tcp", "tls", "web", "irc", "ircs")


class ReadTime(threading.local):
    """When this thread last read bytes from its connection: where a chat message's fan-out
    latency starts.  A reader thread sets it after every ``recv`` (and again after a
    flood-control wait, which is the server's policy, not its work); the outlet reads it when it
    commits an operation that sent a chat message, in the same thread.  A reader thread serves
    one connection, so the value is that of the read that completed the line."""

    at = 0.0


READ_TIME = ReadTime()


class Histogram:
    """Counts per bucket (not cumulative), their sum and count; written by one thread."""

    __slots__ = ("bounds", "count", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one: above every bound (+Inf)
        self.sum = 0.0
        self.count = 0

    def observe_since(self, starts: list[float], now: float) -> None:
        """One observation of ``now - start`` for each of ``starts``."""
        bounds, counts = self.bounds, self.counts
        for start in starts:
            value = now - start
            counts[bisect.bisect_left(bounds, value)] += 1
            self.sum += value
        self.count += len(starts)

    def cumulative(self) -> list[tuple[str, float]]:
        """The buckets as Prometheus has them: (upper bound, observations at or below it)."""
        total, buckets = 0, []
        for bound, count in zip((*map(repr, self.bounds), "+Inf"), self.counts, strict=True):
            total += count
            buckets.append((bound, float(total)))
        return buckets


class DeliveryStats:
    """The ChatLog's figures."""

    def __init__(self) -> None:
        # Under the log's lock (by whichever thread commits there): frames addressed to a
        # connection (a frame for everyone counts once per member then), and chat messages.
        self.deliveries = 0
        self.message_deliveries = 0  # of them, chat messages'
        self.messages = 0
        # The Flusher thread only: bytes the kernel took, rounds, cut-offs (``too_slow`` runs in
        # the Flusher), and each chat message's fan-out latency.
        self.bytes_sent = 0
        self.rounds = 0
        self.too_slow = 0
        self.fanout = Histogram(LATENCY_BUCKETS)

    def round_done(self, stamps: list[float]) -> None:
        """A Flusher round ended, having handed out the chat messages read at ``stamps``."""
        self.rounds += 1
        if stamps:
            self.fanout.observe_since(stamps, time.monotonic())


class ReaderStats:
    """Figures of the reader threads, which are many: each event here is rare (a login, a
    refused login, a flood-control wait, a connection opening or closing), so one lock of their
    own costs the message path nothing."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.logins = 0
        self.refused: dict[str, int] = {}  # error code (ErrorCode's value) -> logins refused
        self.flood_delays = 0
        self.flood_delay_seconds = 0.0
        self.open = dict.fromkeys(TRANSPORTS, 0)  # connections open now, by transport
        self.opened = dict.fromkeys(TRANSPORTS, 0)  # and since the start

    def logged_in(self) -> None:
        with self._lock:
            self.logins += 1

    def refuse(self, code: str) -> None:
        """A ``hello`` answered with the error ``code`` (an ErrorCode value: a fixed set)."""
        with self._lock:
            self.refused[code] = self.refused.get(code, 0) + 1

    def flood_delayed(self, seconds: float) -> None:
        with self._lock:
            self.flood_delays += 1
            self.flood_delay_seconds += seconds

    def connection(self, transport: str, change: int) -> None:
        """A connection of ``transport`` opened (+1) or closed (-1)."""
        with self._lock:
            self.open[transport] += change
            if change > 0:
                self.opened[transport] += 1

    def refused_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self.refused)

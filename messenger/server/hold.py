"""Holding broadcasts back for a moment under load (the Flusher's, delivery.py).

A delivery round costs one ``send`` per connection, whatever it carries, and most of that is
the kernel's.  At everyday rates (a few hundred messages a second to a hundred people) a round
carried one or two messages; holding broadcasts for a few milliseconds after a round to
everyone lets the next one carry several, for a fraction of the CPU (docs/performance.md).  A
message after a quiet spell goes at once; answers, private messages and pongs never wait."""

from __future__ import annotations

import time


class Hold:
    """The hold that begins as a round to everyone ends: broadcasts appended meanwhile wait for its end.

    ``until`` is the Flusher's alone; ``on`` is written by the Flusher under the log's lock and
    read under it by the threads that append (a broadcast then need not wake the Flusher)."""

    __slots__ = ("gather", "on", "until")

    def __init__(self, gather: float) -> None:
        self.gather = gather  # seconds; 0: never hold
        self.until = 0.0
        self.on = False

    def begin(self, now: float) -> None:
        """A round to everyone ended at ``now``."""
        if self.gather:
            self.until = now + self.gather
            self.on = True

    def holds(self, now: float) -> bool:
        """Whether broadcasts appended since the last round to everyone still wait."""
        self.on = now < self.until
        return self.on

    def left(self) -> float:
        """Seconds until the hold ends."""
        return max(0.0, self.until - time.monotonic())

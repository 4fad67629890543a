"""When the Flusher starts a round after a wake-up: at once, or after gathering for a moment.

A Flusher round costs one ``send`` per connection whatever it carries, so a round that carries
one message costs as much as one that carries five.  At everyday rates (a few hundred messages a
second, each waking the Flusher alone) nearly every round carries one message.  So when wake-ups
come fast, the Flusher waits a little before taking its snapshot, and what arrives meanwhile goes
out in the same round.  The wait is bounded by a latency budget: it is the budget less twice the
recent round time (a message that arrives just after a snapshot waits for that round and then its
own), so where rounds are long (many connections) it shrinks to nothing, and a lone message
(a quiet chat) never waits.  docs/performance.md has the measurements.

Used by the Flusher thread only.
"""

from __future__ import annotations

# A message should be in the kernel within about this long of being read (seconds).
LATENCY_BUDGET = 0.005
# The longest gathering wait, whatever the budget leaves.
GATHER_MAX = 0.004
# Wake-ups closer together than this are a stream worth gathering (seconds).
STREAM_GAP = 0.02
# Weight of the newest round in the running estimate of a round's duration.
ROUND_WEIGHT = 0.2


class Pacer:
    """The Flusher's memory of its recent wake-ups and rounds."""

    __slots__ = ("_last_wake", "round_s")

    def __init__(self) -> None:
        self._last_wake = -1.0
        self.round_s = 0.0  # running estimate of a round's duration, seconds

    def gather_for(self, now: float) -> float:
        """Seconds to wait after a wake-up at ``now`` (``time.monotonic``) before the round."""
        streaming = now - self._last_wake < STREAM_GAP
        self._last_wake = now
        if not streaming:
            return 0.0
        return max(0.0, min(GATHER_MAX, LATENCY_BUDGET - 2 * self.round_s))

    def round_took(self, seconds: float) -> None:
        """Note how long a round took."""
        self.round_s += ROUND_WEIGHT * (seconds - self.round_s)

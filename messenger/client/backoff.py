"""How long a link waits before each attempt to reconnect."""

from __future__ import annotations

# Reconnect delays: the first retry comes quickly (a restarting server is usually back within a
# second or two), then doubling spares a server that is down for longer, capped so a person
# never waits more than half a minute after it returns.
BACKOFF_FIRST = 1.0
BACKOFF_LONGEST = 30.0


class Backoff:
    """Delays of 1 s doubling up to 30 s; ``reset`` after a successful login."""

    def __init__(self, first: float = BACKOFF_FIRST, longest: float = BACKOFF_LONGEST) -> None:
        self.first = first
        self.longest = longest
        self._next = first

    def next_delay(self) -> float:
        delay = self._next
        self._next = min(delay * 2, self.longest)
        return delay

    def reset(self) -> None:
        self._next = self.first

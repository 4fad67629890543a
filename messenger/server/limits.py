"""Rate limits: the token bucket, what one address may do (connections, password attempts), and
how many passwords the whole server checks at once.

``AddressLimits`` is the server's per-address bookkeeping, behind its own lock: connections open
at once and new ones per second (checked when a connection is accepted, before any thread is
started for it), and password attempts (reserved before the password is checked, so attempts
made at the same moment cannot all slip under the limit).  Tables of quiet addresses are
forgotten, so they do not grow with every address ever seen.  ``CheckGate`` bounds the password
checks running at once, and with them the memory scrypt takes.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

T = TypeVar("T")

log = logging.getLogger("messenger.server")

# Burst of new connections per address when there is no per-address connection limit.
DEFAULT_CONN_BURST = 64
# Failed logins per address: 5 at once, then one every 12 seconds: a person who mistypes is
# never slowed down, a script guessing passwords gets 300 tries an hour instead of millions.
FAILED_LOGIN_BURST = 5
FAILED_LOGIN_RATE = 1 / 12
# Password checks running at once, server-wide: each scrypt holds 16 MiB (accounts.SCRYPT_N), so
# 3 keep a storm of logins within 48 MiB, under the 64 MiB the server promises to add at most
# (the threads waiting in line cost little); and more than the cores would only make each wait.
CHECKS_AT_ONCE = max(1, min(3, os.cpu_count() or 1))
# How long a login waits for a free check before it is refused with rate_limited.  A burst of
# 64 people logging in again after a restart (about 60 ms of CPU each) gets through well within it.
CHECK_WAIT = 5.0
# Refused connections are logged at most this often per address.
WARN_EVERY = 60.0


class TokenBucket:
    """At most ``rate`` events a second on average, with ``burst`` at once."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self.tokens = float(self.burst)
        self.stamp = time.monotonic()

    def available(self) -> float:
        """The tokens there are now (without taking one)."""
        return min(self.burst, self.tokens + (time.monotonic() - self.stamp) * self.rate)

    def is_full(self) -> bool:
        return self.available() >= self.burst

    def delay(self) -> float:
        """Take one token; return the seconds to wait before using it (0 if available)."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class AddressLimits:
    """Per-address limits: ``max_open`` connections at once (0 = none), ``conn_rate`` new ones a
    second after a burst of ``max_open`` (0 = none), and failed logins."""

    def __init__(self, max_open: int, conn_rate: float) -> None:
        self.max_open = max_open
        self.conn_rate = conn_rate
        self._lock = threading.Lock()
        self._open: dict[str, int] = {}
        self._admitted: dict[object, str] = {}  # request -> its address, until released
        self._new: dict[str, TokenBucket] = {}
        self._failures: dict[str, TokenBucket] = {}
        self._warned_at: dict[str, float] = {}

    def admit(self, request: object, address: str) -> bool:
        """Count a new connection from ``address``, or refuse it (False) over a limit."""
        with self._lock:
            if self.max_open and self._open.get(address, 0) >= self.max_open:
                self._warn(address, f"more than {self.max_open} connections at once")
                return False
            if self.conn_rate > 0:
                bucket = self._new.get(address)
                if bucket is None:
                    bucket = self._new[address] = TokenBucket(
                        self.conn_rate, self.max_open or DEFAULT_CONN_BURST
                    )
                if bucket.delay() > 0:
                    bucket.tokens += 1  # refused connections do not use up the allowance
                    self._warn(address, f"more than {self.conn_rate:g} new connections a second")
                    return False
            self._open[address] = self._open.get(address, 0) + 1
            self._admitted[request] = address
        return True

    def release(self, request: object) -> None:
        """The connection ``admit`` counted has closed."""
        with self._lock:
            address = self._admitted.pop(request, None)
            if address is None:
                return
            left = self._open[address] - 1
            if left:
                self._open[address] = left
            else:
                del self._open[address]

    def failures_exceeded(self, address: str) -> bool:
        """Whether ``address`` has used up its failed logins for now."""
        with self._lock:
            bucket = self._failures.get(address)
            return bucket is not None and bucket.available() < 1

    def reserve_attempt(self, address: str) -> bool:
        """Count a password attempt from ``address`` as failed before it is checked (False, and
        nothing counted, when none is left): checking and counting in one step under the lock
        is what keeps simultaneous guesses within the limit.  A success calls ``give_back``."""
        with self._lock:
            bucket = self._failures.setdefault(address, TokenBucket(FAILED_LOGIN_RATE, FAILED_LOGIN_BURST))
            if bucket.available() < 1:
                return False
            bucket.delay()
            return True

    def give_back(self, address: str) -> None:
        """Undo a ``reserve_attempt``: the password was right, or it was never checked."""
        with self._lock:
            bucket = self._failures.get(address)
            if bucket is not None:
                bucket.tokens = min(bucket.burst, bucket.tokens + 1)

    def forget_quiet(self) -> None:
        """Drop the buckets of addresses that have earned everything back."""
        with self._lock:
            for address, bucket in list(self._new.items()):
                if address not in self._open and bucket.is_full():
                    del self._new[address]
            for address, bucket in list(self._failures.items()):
                if bucket.is_full():
                    del self._failures[address]
            if len(self._warned_at) > 1000:
                self._warned_at.clear()

    def refused(self, address: str, why: str) -> None:
        """Log a refusal decided elsewhere (a banned address), as rarely as the limits' own."""
        with self._lock:
            self._warn(address, why)

    def _warn(self, address: str, why: str) -> None:
        """Log a refusal at most once a minute per address (a flood must not flood the log)."""
        now = time.monotonic()
        if now - self._warned_at.get(address, -WARN_EVERY) >= WARN_EVERY:
            self._warned_at[address] = now
            log.warning("refusing connections from %s: %s", address, why)


class CheckGate:
    """Password checks, run on ``size`` worker threads of their own, server-wide; a login waits in
    line up to ``wait`` seconds.  Dedicated threads bound the memory scrypt takes (16 MiB per
    check), not only while checks run but after: the C allocator keeps a thread's freed block for
    that thread, so checks run on every connection's own thread (even a few at a time) would
    leave 16 MiB behind on each of them."""

    def __init__(self, size: int = CHECKS_AT_ONCE, wait: float = CHECK_WAIT) -> None:
        self.size = size
        self.wait = wait
        self._pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="password-check")

    def run(self, check: Callable[[], T], since: float | None = None) -> tuple[bool, T | None]:
        """``(True, check())`` once a worker ran it, or ``(False, None)`` when none was free in
        time (the check is then dropped from the line, never run).  The wait counts from
        ``since`` (monotonic) when given: the time a login already spent in line before."""
        try:
            future = self._pool.submit(check)
        except RuntimeError:  # closed: the server is stopping
            return False, None
        waited = 0.0 if since is None else max(0.0, time.monotonic() - since)
        try:
            return True, future.result(timeout=max(0.0, self.wait - waited))
        except FutureTimeout:
            if future.cancel():
                return False, None
            return True, future.result()  # it had just started: a check takes milliseconds

    def close(self) -> None:
        """Drop the checks still waiting; the workers end after the ones running."""
        self._pool.shutdown(wait=False, cancel_futures=True)

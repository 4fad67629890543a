"""Giving memory the server no longer uses back to the system.

Every connection is a thread, and glibc's malloc gives threads arenas of their own, which it
seldom shrinks: after a storm of logins (each one's welcome and join notices allocated by some
thread, then freed) the arenas keep the free pages, spread among live data.  ``malloc_trim``
returns them (measured at 5,000 clients: 8 KiB per connection, in 40 ms; docs/performance.md).
The accept thread calls ``release_free_memory`` every ``TRIM_EVERY`` seconds; ctypes drops the
GIL for the call, so nobody else waits on it but allocations from an arena being trimmed.
Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

# Seconds between trims: rare enough to cost nothing (tens of milliseconds at thousands of
# connections), soon enough after a storm of logins.
TRIM_EVERY = 60.0


def _find_malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        function = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    function.argtypes = [ctypes.c_size_t]
    function.restype = ctypes.c_int
    return function  # type: ignore[no-any-return]


_MALLOC_TRIM = _find_malloc_trim()


def release_free_memory() -> bool:
    """Return the C allocator's free pages to the system; whether any were (always False where
    the allocator cannot)."""
    if _MALLOC_TRIM is None:
        return False
    return bool(_MALLOC_TRIM(0))

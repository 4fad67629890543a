"""What ``messenger serve`` asks of the operating system before it listens: as many open files
as it is allowed (a connection is a descriptor; 10,000 clients need more than the usual 1,024),
and a warning in the log when that is still fewer than ``--max-clients`` needs.  The kernel's
own limits on a burst of connections (the listen backlog) are in docs/operations.md."""

from __future__ import annotations

import logging

try:
    import resource
except ImportError:  # pragma: no cover - not on Windows
    resource = None  # type: ignore[assignment]

log = logging.getLogger("messenger")

# Descriptors the server holds besides its clients' (listening sockets, the database, the
# Flusher's epoll and wake-up pair, logs) and a little room for connections being refused.
SPARE_FILES = 64


def raise_open_files() -> int | None:
    """Raise the soft limit on open files to the hard limit; return the limit now in force
    (None where the platform has no such limit).  Never fails: a limit that cannot be raised
    is only reported, by ``check_open_files``."""
    if resource is None:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (OSError, ValueError):
            pass
    return soft


def check_open_files(limit: int | None, max_clients: int, web: bool) -> None:
    """Warn when ``max_clients`` connections (on both ports, with the web page on) would run
    out of descriptors: the accept would then fail and clients be refused without a word."""
    if limit is None or limit == getattr(resource, "RLIM_INFINITY", -1):
        return
    needed = max_clients + SPARE_FILES
    if limit < needed:
        log.warning(
            "open files are limited to %d, fewer than --max-clients %d needs%s; raise the hard "
            "limit (ulimit -Hn, or LimitNOFILE= in a systemd unit)",
            limit,
            max_clients,
            " (each web or chat connection is one)" if web else "",
        )
    else:
        log.info("open files: up to %d", limit)

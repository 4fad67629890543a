"""backfill(): a node starting stores the stream's chat messages its own history lacks.

Every node keeps the whole history in its own database: each message it delivers is stored
under its cluster id (messages.py).  What a node missed while it was down — or all of it, for a
node starting with an empty database — is in the stream, up to its bound (bus.MAXLEN entries):
read once at start, before the node serves anyone, from the oldest entry to the snapshot's
position (the reader goes on from there), and stored.  A message its database holds already is
left alone, so a restart stores nothing twice; one older than the oldest it holds is not
filled in (its retention deleted it).

What the stream no longer holds (trimmed while the node was down longer than the stream
reaches back) cannot be filled in: logged, with the ids missing (docs/operations.md: copy a
database from another node to start a node with the full history).
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
from typing import Any

from ..core.history import MessageStore
from ..core.store import MEMORY
from . import keys
from .bus import Bus
from .messages import stored_from_entry

log = logging.getLogger("messenger.cluster")

CHUNK = 1000  # entries per XRANGE


def backfill(bus: Bus, store: MessageStore, upto: str) -> int:
    """Store the ``say`` entries up to stream id ``upto`` whose ids ``store`` lacks; returns how
    many.  Raises redis errors."""
    if upto == "0-0":
        return 0
    said: dict[int, dict[str, Any]] = {}
    sent: set[tuple[bytes, bytes]] = set()  # (node, n): a retried publish is in the stream twice
    first_seq, start = None, "-"
    while True:
        rows = bus.writer.xrange(keys.STREAM, min=start, max=upto, count=CHUNK)
        for _, fields in rows:
            seq = int(fields[b"seq"])
            first_seq = seq if first_seq is None else first_seq
            if fields[b"kind"] == b"say" and (fields[b"node"], fields[b"n"]) not in sent:
                sent.add((fields[b"node"], fields[b"n"]))
                data = json.loads(fields[b"data"])
                said.setdefault(int(data.get("id", seq)), data)
        if len(rows) < CHUNK:
            break
        start = "(" + rows[-1][0].decode()
    oldest, stored = _stored_ids(store, min(said, default=0))
    missing = sorted(number for number in said if number not in stored and number > oldest)
    for number in missing:
        store.add(stored_from_entry(said[number], number))
    _say_what_is_missing(store, first_seq, len(missing))
    return len(missing)


def _stored_ids(store: MessageStore, low: int) -> tuple[int, set[int]]:
    """The oldest id the database holds (0: none), and the ids from ``low`` on it holds (read
    on a connection of its own: the store's writer is idle, nothing was said here yet).  What
    is older than its oldest was deleted by its retention, or said before it joined: not
    filled in again."""
    path = getattr(store, "path", MEMORY)
    if path == MEMORY or low <= 0:
        return 0, set()
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        oldest = db.execute("SELECT MIN(id) FROM messages").fetchone()[0] or 0
        return oldest, {row[0] for row in db.execute("SELECT id FROM messages WHERE id >= ?", (low,))}


def _say_what_is_missing(store: MessageStore, first_seq: int | None, added: int) -> None:
    last = store.last_id()
    if added:
        log.info("history: %d message(s) of the cluster stored from its stream", added)
    if first_seq is not None and first_seq > 1 and last < first_seq - 1:
        log.warning(
            "history: the cluster's stream reaches back only to entry %d; older messages this "
            "node never stored (ids up to %d) are missing from its history",
            first_seq,
            first_seq - 1,
        )

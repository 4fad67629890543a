"""The audit trail: every moderation action (who, what, whom, why, for how long), kept in the
database for ``messenger users audit``."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from .moddb import ModerationDb

MAX_RECENT = 10_000  # the most ``recent`` returns at once


@dataclass(frozen=True)
class AuditEntry:
    ts: float  # seconds since the epoch
    actor: str
    action: str  # kick, ban, unban, mute, unmute, role, topic, mode ...
    target: str
    reason: str
    duration: int | None  # seconds; None: none given

    def when(self) -> str:
        """The time in UTC, as the accounts' ``created`` is written."""
        return datetime.fromtimestamp(self.ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class AuditTrail:
    def __init__(self, db: ModerationDb, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self.clock = clock

    def record(
        self,
        actor: str,
        action: str,
        target: str,
        reason: str = "",
        duration: int | None = None,
        now: float | None = None,
    ) -> AuditEntry:
        """Keep one action; ModerationError if the database refuses it."""
        entry = AuditEntry(self.clock() if now is None else now, actor, action, target, reason, duration)
        self._db.write(
            "INSERT INTO audit (ts, actor, action, target, reason, duration) VALUES (?, ?, ?, ?, ?, ?)",
            (entry.ts, actor, action, target, reason, duration),
        )
        return entry

    def recent(self, n: int = 50) -> list[AuditEntry]:
        """The last ``n`` actions, oldest first (as a log reads)."""
        n = max(0, min(n, MAX_RECENT))
        rows = self._db.read(
            "SELECT ts, actor, action, target, reason, duration FROM audit ORDER BY id DESC LIMIT ?", (n,)
        )
        return [AuditEntry(*row) for row in reversed(rows)]

"""Moderation's data in one object: bans, mutes, ignores and the audit trail of one database.

Transport-free: the server asks it questions (``bans.check_address`` at accept, ``bans.check_name``
at login and ``nick``, ``mutes.check`` on a message, ``ignores.ignorers_of`` on delivery) and
records what moderators do; the rules of who may do what are in roles.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from .audit import AuditTrail
from .bans import Ban, BanList
from .moddb import ModerationDb
from .mutes import IgnoreList, Mute, MuteList


class Moderation:
    def __init__(self, path: str | Path, clock: Callable[[], float] = time.time) -> None:
        self.db = ModerationDb(path)
        self.clock = clock
        self.bans = BanList(self.db, clock)
        self.mutes = MuteList(self.db, clock)
        self.ignores = IgnoreList(self.db)
        self.audit = AuditTrail(self.db, clock)

    def expire(self, now: float | None = None) -> tuple[list[Ban], list[Mute]]:
        """Drop bans and mutes whose time is over (checks already ignore them); returns them,
        for the log."""
        now = self.clock() if now is None else now
        return self.bans.expire(now), self.mutes.expire(now)

    def close(self) -> None:
        self.db.close()

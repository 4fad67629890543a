"""Mutes (a name may read but not speak, for a while or until lifted) and ignores (one person
stops receiving another's messages), in memory for the send path and saved in the database.

Both are keyed by name_key, so case and lookalikes count.  Ignores of a registered account are
saved under its key and come back at its next login; a session without an account ignores for
as long as it lasts (``remember=False``; ``forget`` drops them when it ends).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .durations import Expiring
from .moddb import ModerationDb, ModerationError

MAX_IGNORES = 500  # per person: enough for anyone, and bounds what one session can make us hold


@dataclass(frozen=True)
class Mute(Expiring):
    key: str  # the muted name's name_key
    name: str
    actor: str
    reason: str
    created: float
    expires: float | None  # None: until lifted


class MuteList:
    """The mutes of one database, in memory; every change is written to the database first."""

    def __init__(self, db: ModerationDb, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self.clock = clock
        rows = db.read("SELECT key, name, actor, reason, created, expires FROM mutes")
        self._mutes: dict[str, Mute] = {row[0]: Mute(*row) for row in rows}

    def mute(
        self,
        key: str,
        name: str,
        actor: str,
        reason: str = "",
        duration: float | None = None,
        now: float | None = None,
    ) -> Mute:
        """Mute the name whose name_key is ``key`` for ``duration`` seconds (None: until lifted)."""
        now = self.clock() if now is None else now
        mute = Mute(key, name, actor, reason, now, None if duration is None else now + duration)
        self._db.write(
            "INSERT OR REPLACE INTO mutes (key, name, actor, reason, created, expires) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (key, name, actor, reason, now, mute.expires),
        )
        self._mutes[key] = mute
        return mute

    def unmute(self, key: str) -> Mute | None:
        """Lift the mute of ``key``; the mute lifted, or None if there was none."""
        self._db.write("DELETE FROM mutes WHERE key = ?", (key,))
        return self._mutes.pop(key, None)

    def check(self, key: str, now: float | None = None) -> Mute | None:
        """The mute in force on ``key``, or None (one dict look-up)."""
        mute = self._mutes.get(key)
        return mute if mute is not None and mute.active(self.clock() if now is None else now) else None

    def active(self, now: float | None = None) -> list[Mute]:
        now = self.clock() if now is None else now
        return sorted((m for m in list(self._mutes.values()) if m.active(now)), key=lambda m: m.created)

    def expire(self, now: float | None = None) -> list[Mute]:
        """Remove the mutes whose time is over; returns them."""
        now = self.clock() if now is None else now
        over = [mute for mute in list(self._mutes.values()) if not mute.active(now)]
        self._db.write("DELETE FROM mutes WHERE expires IS NOT NULL AND expires <= ?", (now,))
        for mute in over:
            self._mutes.pop(mute.key, None)
        return over


class IgnoreList:
    """Who ignores whom: owner key -> {ignored name_key: name as given}, and the reverse index
    (ignored key -> owners), so the send path asks once per message, not once per recipient."""

    def __init__(self, db: ModerationDb) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._by_owner: dict[str, dict[str, str]] = {}
        self._ignorers: dict[str, frozenset[str]] = {}
        for owner, target, name in db.read("SELECT owner, target, name FROM ignores"):
            self._add(owner, target, name)

    def ignore(self, owner: str, target: str, name: str, remember: bool = True) -> bool:
        """``owner`` ignores the name whose name_key is ``target``; False if it already did.
        ``remember``: save it (an account's key), else keep it for the session only.
        ModerationError past MAX_IGNORES or when the database refuses it."""
        if target in self._by_owner.get(owner, {}):
            return False
        if len(self._by_owner.get(owner, {})) >= MAX_IGNORES:
            raise ModerationError(f"you already ignore {MAX_IGNORES} names; unignore some first")
        if remember:
            self._db.write(
                "INSERT OR REPLACE INTO ignores (owner, target, name) VALUES (?, ?, ?)", (owner, target, name)
            )
        with self._lock:
            self._add(owner, target, name)
        return True

    def unignore(self, owner: str, target: str) -> bool:
        """``owner`` no longer ignores ``target``; False if it did not."""
        self._db.write("DELETE FROM ignores WHERE owner = ? AND target = ?", (owner, target))
        with self._lock:
            names = self._by_owner.get(owner, {})
            if names.pop(target, None) is None:
                return False
            if not names:
                del self._by_owner[owner]
            rest = self._ignorers.get(target, frozenset()) - {owner}
            self._ignorers[target] = rest
            if not rest:
                del self._ignorers[target]
        return True

    def ignorers_of(self, sender: str) -> frozenset[str]:
        """The owners who ignore the name_key ``sender`` (empty for nearly everyone): skip the
        recipients whose key is in it."""
        return self._ignorers.get(sender, frozenset())

    def ignores(self, owner: str, sender: str) -> bool:
        """Whether ``owner`` ignores the name_key ``sender`` (for a private message)."""
        return owner in self._ignorers.get(sender, frozenset())

    def ignored(self, owner: str) -> list[str]:
        """The names ``owner`` ignores, as given, sorted (for ``/ignored``)."""
        return sorted(self._by_owner.get(owner, {}).values(), key=str.casefold)

    def forget(self, owner: str) -> None:
        """Drop ``owner``'s ignores from memory (a session without an account has ended); what
        the database holds for an account stays."""
        with self._lock:
            for target in self._by_owner.pop(owner, {}):
                rest = self._ignorers.get(target, frozenset()) - {owner}
                if rest:
                    self._ignorers[target] = rest
                else:
                    self._ignorers.pop(target, None)

    def load(self, owner: str) -> None:
        """Bring back what the database holds for ``owner`` (an account logging in again after
        ``forget``)."""
        for _, target, name in self._db.read(
            "SELECT owner, target, name FROM ignores WHERE owner = ?", (owner,)
        ):
            with self._lock:
                self._add(owner, target, name)

    def _add(self, owner: str, target: str, name: str) -> None:
        self._by_owner.setdefault(owner, {})[target] = name
        self._ignorers[target] = self._ignorers.get(target, frozenset()) | {owner}

"""The registry's moderation operations: kicking, removing whoever a new ban covers, telling one
person something, roles of people online; and the checks of bans and mutes that logins, renames
and messages pass under the registry's lock.

ModerationSteps is a mixin of Registry and keeps its rule: every operation runs under the
registry's lock (``_operation``) and commits its events at once.  The bans and mutes themselves
(core/moderation.py) are written to the database before an operation here runs; reading them is
a dictionary lookup, cheap enough for every message.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Callable

from ..protocol.frames import ErrorCode, FrameError, LeaveReason, Left, ServerFrame, timestamp
from ..protocol.names import name_key
from .bans import BanKind, plain_address
from .durations import describe_expiry
from .events import Batch
from .members import Member
from .moderation import Moderation
from .roles import Role, stored_role

log = logging.getLogger(__name__)

# Whether the actor may act on someone of this role (roles.may_act_on, with the actor's role).
RankCheck = Callable[[Role | None], bool]


class Banned(Exception):
    """A login refused: the name, or the account it logs in to, is banned; ``str()`` says so."""


class ModerationSteps:
    """Registry's moderation methods; the fields and helpers they use are Registry's."""

    _lock: threading.Lock
    _members: dict[str, Member]
    moderation: Moderation

    # -- checks (registry lock held) ----------------------------------------------------------

    def _ban_of_locked(self, key: str, account: str | None) -> str | None:
        """Why a login or rename to the name ``key`` (logged in to ``account``) is refused."""
        bans = self.moderation.bans
        ban = bans.check_name(key) or (bans.check_name(name_key(account)) if account else None)
        if ban is None:
            return None
        how_long = describe_expiry(ban.expires, bans.clock())
        return f"{ban.target.shown} is banned {how_long}" + (f": {ban.reason}" if ban.reason else "")

    def _check_not_muted_locked(self, member: Member, re: str) -> None:
        mutes = self.moderation.mutes
        mute = mutes.check(member.key) or (mutes.check(name_key(member.account)) if member.account else None)
        if mute is not None:
            how_long = describe_expiry(mute.expires, mutes.clock())
            raise FrameError(ErrorCode.MUTED, f"you are muted {how_long}; you may read but not send", re)

    # -- operations ---------------------------------------------------------------------------

    def kick(self, actor: Member, name: str, reason: str | None, may_act_on: RankCheck) -> str:
        """Disconnect ``name``: its rooms see it leave with reason ``kicked``.  Returns the name
        kicked.  Answers (and raises Answered) ``unknown_user`` or ``not_permitted``."""
        with self._operation(actor) as out:
            target = self._members.get(name_key(name))
            if target is None or target.name is None:
                raise FrameError(ErrorCode.UNKNOWN_USER, f"no user named '{name}' is online", "kick")
            if target is actor:
                raise FrameError(ErrorCode.NOT_PERMITTED, "you cannot kick yourself; /quit instead", "kick")
            if not may_act_on(stored_role(target.role)):
                raise FrameError(
                    ErrorCode.NOT_PERMITTED, f"{target.name} is an operator; only an admin may", "kick"
                )
            self._remove_by_operator_locked(out, target, LeaveReason.KICKED, actor, reason)
            return target.name

    def remove_banned(
        self, actor: Member, kind: str, key: str, reason: str | None, may_act_on: RankCheck
    ) -> list[str]:
        """Disconnect everyone online whom a new ban covers and the actor outranks (reason
        ``banned``); returns their names.  The ban is in force already, so no later login
        gets in."""
        with self._operation(actor) as out:
            covered = [m for m in self._members.values() if covers(m, kind, key)]
            removed = []
            for member in covered:
                if member is not actor and may_act_on(stored_role(member.role)) and member.name is not None:
                    removed.append(member.name)
                    self._remove_by_operator_locked(out, member, LeaveReason.BANNED, actor, reason)
            return removed

    def ban_spares(self, actor: Member, kind: str, key: str, may_act_on: RankCheck) -> str | None:
        """Why an address or network ban may not be made: it would cover the actor's own
        connection, or someone online the actor may not act on (an operator locking out the
        admins); None when it may."""
        with self._lock:
            for member in self._members.values():
                if kind == BanKind.NAME.value or not covers(member, kind, key):
                    continue
                if member is actor:
                    return "that would ban your own address"
                if not may_act_on(stored_role(member.role)):
                    return f"that would ban the address of {member.name}, whom you may not ban"
        return None

    def _remove_by_operator_locked(
        self, out: Batch, member: Member, reason: LeaveReason, actor: Member, why: str | None
    ) -> None:
        """Tell ``member`` it was removed and by whom, announce it as left in each of its rooms
        with the same words, then close its connection."""
        assert member.name is not None
        out.send(Left(member.name, timestamp(), reason.value, None, actor.name, why), (member,))
        self._remove_locked(member)
        out.dismiss(member)
        self._announce_departure_locked(out, member, reason, by=actor.name, message=why)
        out.close(member)
        log.info("%s (%s) %s by %s", member.name, member.address, reason.value, actor.name)

    def notify(self, name: str, frame: ServerFrame) -> None:
        """Send ``frame`` to ``name`` if it is online (a mute's notice); nothing otherwise."""
        with self._operation() as out:
            target = self._members.get(name_key(name))
            if target is not None:
                out.send(frame, (target,))

    def role_of(self, name: str, stored: Role | None) -> Role | None:
        """The role of ``name``: that of whoever is online under it, else ``stored`` (its
        account's, from the database)."""
        with self._lock:
            member = self._members.get(name_key(name))
            return stored_role(member.role) if member is not None and member.account else stored

    def set_role(self, account: str, role: str) -> None:
        """An admin changed ``account``'s role: it applies to its sessions online at once."""
        key = name_key(account)
        with self._lock:
            for member in self._members.values():
                if member.account is not None and name_key(member.account) == key:
                    member.role = role


def covers(member: Member, kind: str, key: str) -> bool:
    """Whether a ban of ``kind`` on ``key`` covers ``member``: its name or its account, or the
    address it connected from."""
    if kind == BanKind.NAME.value:
        return member.key == key or (member.account is not None and name_key(member.account) == key)
    host = member.address.rpartition(":")[0].strip("[]")
    try:
        address = plain_address(ipaddress.ip_address(host))
    except ValueError:
        return False
    if kind == BanKind.ADDRESS.value:
        return str(address) == key
    return address in ipaddress.ip_network(key)

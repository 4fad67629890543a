"""The handler's operator requests: kick, ban, unban, bans, mute, unmute, role.

A mixin of ChatConnection.  Each step reads the actor's role from the database first (so a role
given or taken applies at once), checks what may be done to whom (core/roles.py), writes the
change to the moderation database (outside the registry's lock), and then has the registry act
on whoever is online, under its lock.  A ban is in the BanList before the registry looks for
its targets, and every login checks the BanList under the registry's lock, so no login slips
between the two.  Every action is logged and kept in the audit trail.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import sqlite3
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from ..core.accounts import AccountError
from ..core.bans import Ban as StoredBan
from ..core.bans import BanKind, BanTarget, BanTargetError, parse_target
from ..core.durations import DurationError, describe_expiry, parse_duration
from ..core.members import Member
from ..core.moddb import ModerationError
from ..core.roles import Role, RoleError, may_act_on, may_ban_network, may_grant, may_moderate, parse_role
from ..protocol.frames import ErrorCode, FrameError, ServerFrame, timestamp
from ..protocol.moderation import (
    Ban,
    BanInfo,
    BanList,
    BansRequest,
    Kick,
    Mute,
    Notice,
    RoleRequest,
    Unban,
    Unmute,
)
from ..protocol.names import name_key
from .presence_requests import checked_name, optional_text, refresh_role, role_in_database

if TYPE_CHECKING:
    from .tcp import ChatServer

log = logging.getLogger(__name__)


@contextlib.contextmanager
def kept(re: str) -> Iterator[None]:
    """A change written to the database: one the database refuses is refused to the operator,
    with why (nothing changed in memory either)."""
    try:
        yield
    except (ModerationError, AccountError, sqlite3.Error) as exc:
        log.error("a %s could not be kept: %s", re, exc)
        raise FrameError(ErrorCode.NOT_PERMITTED, f"that could not be kept: {exc}", re) from None


def _when(seconds: float | None) -> str | None:
    return None if seconds is None else timestamp(datetime.fromtimestamp(seconds, timezone.utc))


def ban_info(ban: StoredBan) -> BanInfo:
    target = ban.target
    return BanInfo(
        target.shown,
        target.kind.value,
        ban.actor,
        _when(ban.created) or "",
        _when(ban.expires),
        ban.reason or None,
    )


class ModerationRequests:
    """ChatConnection's operator requests."""

    server: ChatServer
    member: Member | None
    address: str
    send: Callable[[ServerFrame], None]  # ChatConnection's

    # -- who is asking ------------------------------------------------------------------------

    def _actor(self, re: str) -> tuple[Member, Role]:
        """The member asking and its role, read from the database now; FrameError
        ``not_operator`` unless it may moderate."""
        member = self.member
        assert member is not None
        role = refresh_role(self.server, member)
        if not may_moderate(role):
            raise FrameError(ErrorCode.NOT_OPERATOR, "only operators may do that", re)
        return member, role

    def _role_of(self, account: str | None) -> Role | None:
        return role_in_database(self.server, account)

    def _check_rank(self, actor: Member, role: Role, target_role: Role | None, name: str, re: str) -> None:
        if actor.name is not None and checked_name(actor.name, re) == name:
            raise FrameError(ErrorCode.NOT_PERMITTED, "you cannot do that to yourself", re)
        if not may_act_on(role, target_role):
            raise FrameError(ErrorCode.NOT_PERMITTED, f"{name} is an operator; only an admin may do that", re)

    def _record(
        self, actor: Member, action: str, target: str, reason: str | None, duration: int | None
    ) -> None:
        log.info("%s %s %s%s", actor.name, action, target, f": {reason}" if reason else "")
        try:
            self.server.moderation.audit.record(actor.name or "?", action, target, reason or "", duration)
        except ModerationError as exc:
            log.error("could not keep %s of %s in the audit trail: %s", action, target, exc)

    # -- requests -----------------------------------------------------------------------------

    def on_kick(self, frame: Kick) -> None:
        actor, role = self._actor("kick")
        name = checked_name(frame.user, "kick")
        reason = optional_text(frame.reason)
        kicked = self.server.registry.kick(actor, name, reason, lambda target: may_act_on(role, target))
        self._record(actor, "kick", kicked, reason, None)
        self.send(Notice(text=f"{kicked} was kicked", re="kick"))

    def on_ban(self, frame: Ban) -> None:
        actor, role = self._actor("ban")
        target = self._ban_target(frame.target, role, "ban")
        duration = self._duration(frame.duration, "ban")
        reason = optional_text(frame.reason)
        if target.kind is BanKind.NAME:
            self._check_rank(actor, role, self._role_of(target.shown), target.shown, "ban")
        else:
            spared = self.server.registry.ban_spares(
                actor, target.kind.value, target.key, lambda r: may_act_on(role, r)
            )
            if spared is not None:
                raise FrameError(ErrorCode.NOT_PERMITTED, spared, "ban")
        with kept("ban"):
            stored = self.server.moderation.bans.ban(target, actor.name or "?", reason or "", duration)
        self.server.registry.remove_banned(
            actor, target.kind.value, target.key, reason, lambda r: may_act_on(role, r)
        )
        self._record(actor, "ban", target.shown, reason, duration)
        how_long = describe_expiry(stored.expires, stored.created)
        self.send(Notice(text=f"{target.shown} is banned {how_long}", re="ban"))

    def on_unban(self, frame: Unban) -> None:
        actor, role = self._actor("unban")
        target = self._ban_target(frame.target, role, "unban")
        with kept("unban"):
            lifted = self.server.moderation.bans.lift(target)
        if lifted is None:
            raise FrameError(ErrorCode.NOT_BANNED, f"{target.shown} is not banned", "unban")
        self._record(actor, "unban", target.shown, None, None)
        self.send(Notice(text=f"{target.shown} is no longer banned", re="unban"))

    def on_bans(self, frame: BansRequest) -> None:
        self._actor("bans")
        self.send(BanList(bans=tuple(ban_info(ban) for ban in self.server.moderation.bans.active())))

    def on_mute(self, frame: Mute) -> None:
        actor, role = self._actor("mute")
        name = checked_name(frame.user, "mute")
        duration = self._duration(frame.duration, "mute")
        reason = optional_text(frame.reason)
        self._check_rank(actor, role, self.server.registry.role_of(name, self._role_of(name)), name, "mute")
        with kept("mute"):
            mute = self.server.moderation.mutes.mute(
                name_key(name), name, actor.name or "?", reason or "", duration
            )
        how_long = describe_expiry(mute.expires, mute.created)
        why = f": {reason}" if reason else ""
        self.server.registry.notify(name, Notice(text=f"{actor.name} muted you {how_long}{why}", re="mute"))
        self._record(actor, "mute", name, reason, duration)
        self.send(Notice(text=f"{name} is muted {how_long}", re="mute"))

    def on_unmute(self, frame: Unmute) -> None:
        actor, _ = self._actor("unmute")
        name = checked_name(frame.user, "unmute")
        with kept("unmute"):
            unmuted = self.server.moderation.mutes.unmute(name_key(name))
        if unmuted is None:
            raise FrameError(ErrorCode.NOT_MUTED, f"{name} is not muted", "unmute")
        self.server.registry.notify(name, Notice(text=f"{actor.name} unmuted you", re="unmute"))
        self._record(actor, "unmute", name, None, None)
        self.send(Notice(text=f"{name} is no longer muted", re="unmute"))

    def on_role(self, frame: RoleRequest) -> None:
        member = self.member
        assert member is not None
        role = self._role_of(member.account)
        if not may_grant(role):
            raise FrameError(ErrorCode.NOT_OPERATOR, "only admins give roles", "role")
        name = checked_name(frame.user, "role")
        try:
            new = parse_role(frame.role)
        except RoleError as exc:
            raise FrameError(ErrorCode.BAD_TARGET, str(exc), "role") from None
        accounts = self.server.accounts
        account = accounts.lookup(name) if accounts is not None else None
        if accounts is None or account is None:
            raise FrameError(ErrorCode.NOT_REGISTERED, f"{name} is not a registered name", "role")
        with kept("role"):
            accounts.set_role(account.name, new)
        self.server.registry.set_role(account.name, new.value)
        self._record(member, f"role {new.value}", account.name, None, None)
        self.send(Notice(text=f"{account.name} is now {new.value}", re="role"))

    # -- parsing ------------------------------------------------------------------------------

    def _ban_target(self, text: str, role: Role, re: str) -> BanTarget:
        try:
            target = parse_target(text)
        except BanTargetError as exc:
            raise FrameError(ErrorCode.BAD_TARGET, str(exc), re) from None
        if target.kind is BanKind.NETWORK and not may_ban_network(role, ipaddress.ip_network(target.key)):
            raise FrameError(ErrorCode.BAD_TARGET, f"{target.shown} is too wide a network to ban", re)
        return target

    @staticmethod
    def _duration(text: str | None, re: str) -> int | None:
        if text is None or not text.strip():
            return None
        try:
            return parse_duration(text.strip())
        except DurationError as exc:
            raise FrameError(ErrorCode.BAD_DURATION, str(exc), re) from None

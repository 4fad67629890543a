"""The handler's presence and room-settings requests: away, whois, ignore, reply, topic, mode,
allow.  A mixin of ChatConnection: each ``on_<type>`` checks what only the transport can (the text's
sanitising) and hands the rest to the registry, which answers under its lock."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..core.members import Member
from ..core.moddb import ModerationError
from ..core.roles import Role, may_moderate
from ..protocol.frames import ErrorCode, FrameError, ServerFrame
from ..protocol.moderation import (
    Allow,
    Away,
    Disallow,
    Ignore,
    IgnoredRequest,
    ModeRequest,
    Notice,
    Reply,
    TopicRequest,
    Unignore,
    WhoisRequest,
)
from ..protocol.names import BadName, is_blank, name_key, normalize_name, sanitize_text

if TYPE_CHECKING:
    from .tcp import ChatServer

log = logging.getLogger(__name__)


def checked_name(raw: str, re: str) -> str:
    """A name given in a request, as the registry compares it; FrameError ``bad_name``."""
    try:
        return normalize_name(raw)
    except BadName as exc:
        raise FrameError(ErrorCode.BAD_NAME, f"bad name: {exc}", re) from None


def role_in_database(server: ChatServer, account: str | None) -> Role | None:
    """The role of ``account`` as the database says now (None: no such account, or none)."""
    accounts = server.accounts
    found = accounts.lookup(account) if accounts is not None and account else None
    return None if found is None else found.role


def refresh_role(server: ChatServer, member: Member) -> Role | None:
    """Before a request that needs a role: the member's role, read from the database now (a
    role given or taken while it is logged in applies at once)."""
    role = role_in_database(server, member.account)
    member.role = role.value if role is not None else Role.USER.value
    return role


def optional_text(raw: str | None) -> str | None:
    """User text that may be left out (an away text, a reason): sanitised; blank counts as none."""
    if raw is None:
        return None
    text = sanitize_text(raw)
    return None if is_blank(text) else text


class PresenceRequests:
    """ChatConnection's presence and room-settings requests."""

    server: ChatServer
    member: Member | None
    send: Callable[[ServerFrame], None]  # ChatConnection's

    def on_away(self, frame: Away) -> None:
        assert self.member is not None
        self.server.registry.set_away(self.member, optional_text(frame.text))

    def on_whois(self, frame: WhoisRequest) -> None:
        assert self.member is not None
        name = checked_name(frame.user, "whois")
        operator = may_moderate(refresh_role(self.server, self.member))
        self.server.registry.whois(self.member, name, with_address=operator)

    def on_ignore(self, frame: Ignore) -> None:
        self._ignore(checked_name(frame.user, "ignore"), on=True)

    def on_unignore(self, frame: Unignore) -> None:
        self._ignore(checked_name(frame.user, "unignore"), on=False)

    def _ignore(self, name: str, on: bool) -> None:
        """Ignore (or not) in the registry, which answers; then, for an account, remember it."""
        member = self.member
        assert member is not None
        self.server.registry.ignore(member, name, on=on)
        if member.account is None:
            return
        ignores, owner = self.server.moderation.ignores, member.history_key  # the account's key
        try:
            if on:
                ignores.ignore(owner, name_key(name), name)
            else:
                ignores.unignore(owner, name_key(name))
        except ModerationError as exc:
            log.error("could not remember %s's ignore of %s: %s", member.name, name, exc)

    def on_ignored(self, frame: IgnoredRequest) -> None:
        assert self.member is not None
        self.server.registry.ignored(self.member)

    def on_reply(self, frame: Reply) -> None:
        assert self.member is not None
        target = self.server.registry.reply_target(self.member)  # the text is sanitised already
        self.server.registry.say(self.member, frame.text, to=target, re="reply")

    def on_topic(self, frame: TopicRequest) -> None:
        assert self.member is not None
        text = None if frame.text is None else " ".join(sanitize_text(frame.text).split())
        self.server.registry.topic(self.member, frame.room, text)

    def on_mode(self, frame: ModeRequest) -> None:
        member = self.member
        assert member is not None
        refresh_role(self.server, member)
        room = self.server.registry.set_mode(member, frame.room, frame.invite_only, frame.moderated)
        if frame.invite_only is not None or frame.moderated is not None:
            given = (("i", frame.invite_only), ("m", frame.moderated))
            flags = "".join(f"{'+' if on else '-'}{flag}" for flag, on in given if on is not None)
            self._audit(member, f"mode {flags}", room)

    def on_allow(self, frame: Allow | Disallow) -> None:
        assert self.member is not None
        on = isinstance(frame, Allow)
        refresh_role(self.server, self.member)
        name = checked_name(frame.user, frame.TYPE)
        room = self.server.registry.allow(self.member, frame.room, name, on=on)
        verb = "may now join and speak in" if on else "is no longer specially allowed in"
        self.send(Notice(text=f"{name} {verb} {room}", re=frame.TYPE))
        self._audit(self.member, f"{frame.TYPE} {room}", name)

    def _audit(self, member: Member, action: str, target: str) -> None:
        """Log an operator's action and keep it in the audit trail."""
        log.info("%s %s %s", member.name, action, target)
        try:
            self.server.moderation.audit.record(member.name or "?", action, target)
        except ModerationError as exc:
            log.error("could not keep %s of %s in the audit trail: %s", action, target, exc)

    on_disallow = on_allow

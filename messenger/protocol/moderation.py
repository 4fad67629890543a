"""The frames of moderation (operators, kicks, bans, mutes, room topics and modes) and presence
(away, whois, ignore, reply).  Added to version 1 compatibly: a client that never sends these
requests receives none of these frames, except ``motd`` when the server has one and ``away``
after a private message to someone away (unknown types are skipped by every client)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

# -- client -> server -------------------------------------------------------------------------


@dataclass(frozen=True)
class Kick:
    """Operators: disconnect ``user``; everyone in its rooms sees who kicked whom and why."""

    TYPE: ClassVar[str] = "kick"
    user: str
    reason: str | None = None


@dataclass(frozen=True)
class Ban:
    """Operators: ban a name, an address or a network (CIDR), for ``duration`` (``10m``,
    ``2h``, ``7d``; none: until lifted)."""

    TYPE: ClassVar[str] = "ban"
    target: str
    duration: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Unban:
    TYPE: ClassVar[str] = "unban"
    target: str


@dataclass(frozen=True)
class BansRequest:
    """Operators: ask for the bans in force."""

    TYPE: ClassVar[str] = "bans"


@dataclass(frozen=True)
class Mute:
    """Operators: ``user`` stays and reads, but may not send messages."""

    TYPE: ClassVar[str] = "mute"
    user: str
    duration: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Unmute:
    TYPE: ClassVar[str] = "unmute"
    user: str


@dataclass(frozen=True)
class TopicRequest:
    """Set a room's topic (``text``; empty clears it), or ask for it (no ``text``)."""

    TYPE: ClassVar[str] = "topic"
    room: str | None = None  # None: the lobby
    text: str | None = None


@dataclass(frozen=True)
class ModeRequest:
    """Operators: make a room invite-only and/or moderated, or not (an absent flag stays)."""

    TYPE: ClassVar[str] = "mode"
    room: str | None = None  # None: the lobby
    invite_only: bool | None = None
    moderated: bool | None = None


@dataclass(frozen=True)
class Allow:
    """Operators: let ``user`` into an invite-only room and speak in a moderated one."""

    TYPE: ClassVar[str] = "allow"
    user: str
    room: str | None = None  # None: the lobby


@dataclass(frozen=True)
class Disallow:
    TYPE: ClassVar[str] = "disallow"
    user: str
    room: str | None = None


@dataclass(frozen=True)
class Away:
    """Say you are away (``text``), or back (no ``text``)."""

    TYPE: ClassVar[str] = "away"
    text: str | None = None


@dataclass(frozen=True)
class WhoisRequest:
    TYPE: ClassVar[str] = "whois"
    user: str


@dataclass(frozen=True)
class Ignore:
    """Stop receiving ``user``'s messages and private messages."""

    TYPE: ClassVar[str] = "ignore"
    user: str


@dataclass(frozen=True)
class Unignore:
    TYPE: ClassVar[str] = "unignore"
    user: str


@dataclass(frozen=True)
class IgnoredRequest:
    TYPE: ClassVar[str] = "ignored"


@dataclass(frozen=True)
class Reply:
    """A private message to whoever sent you the last one."""

    TYPE: ClassVar[str] = "reply"
    text: str


@dataclass(frozen=True)
class RoleRequest:
    """Admins: give a registered name the role ``user``, ``op`` or ``admin``."""

    TYPE: ClassVar[str] = "role"
    user: str
    role: str


# -- server -> client -------------------------------------------------------------------------


@dataclass(frozen=True)
class BanInfo:
    """One ban: its ``target`` (a name, an address or a network), ``kind`` (``name``,
    ``address``, ``network``), who set it, since when, until when (none: until lifted), why."""

    target: str
    kind: str
    by: str
    since: str
    until: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class BanList:
    """The answer to ``bans``."""

    TYPE: ClassVar[str] = "bans"
    bans: tuple[BanInfo, ...]


@dataclass(frozen=True)
class Topic:
    """A room's topic: on joining it, when it changes (to the room), and answering ``topic``.
    ``text`` is empty when the room has none."""

    TYPE: ClassVar[str] = "topic"
    room: str
    text: str
    by: str | None = None
    ts: str | None = None


@dataclass(frozen=True)
class RoomMode:
    """A room's modes, to its members when an operator changes them, and on joining it."""

    TYPE: ClassVar[str] = "mode"
    room: str
    invite_only: bool
    moderated: bool
    by: str | None = None


@dataclass(frozen=True)
class AwayStatus:
    """Someone is away (``text``) or back (none): to the one who set it, and to whoever sends
    them a private message while they are away."""

    TYPE: ClassVar[str] = "away"
    user: str
    text: str | None = None


@dataclass(frozen=True)
class Whois:
    """The answer to ``whois``: ``idle`` in seconds; ``address`` only for operators;
    ``account``: the account whose password the login gave (it may differ from ``user``)."""

    TYPE: ClassVar[str] = "whois"
    user: str
    registered: bool
    role: str
    rooms: tuple[str, ...]
    idle: int
    since: str
    away: str | None = None
    address: str | None = None
    account: str | None = None


@dataclass(frozen=True)
class IgnoredList:
    """Whom you ignore: the answer to ``ignored``, ``ignore`` and ``unignore``."""

    TYPE: ClassVar[str] = "ignored"
    users: tuple[str, ...]


@dataclass(frozen=True)
class Notice:
    """A line from the server for one person: a moderation action done, or done to them."""

    TYPE: ClassVar[str] = "notice"
    text: str
    re: str | None = None


@dataclass(frozen=True)
class Motd:
    """The server's message of the day, right after ``welcome``."""

    TYPE: ClassVar[str] = "motd"
    text: str


MODERATION_REQUESTS = (
    Kick, Ban, Unban, BansRequest, Mute, Unmute, TopicRequest, ModeRequest, Allow, Disallow,
    Away, WhoisRequest, Ignore, Unignore, IgnoredRequest, Reply, RoleRequest,
)  # fmt: skip
MODERATION_ANSWERS = (BanList, Topic, RoomMode, AwayStatus, Whois, IgnoredList, Notice, Motd)

"""Roles and who may moderate whom: pure functions, so every front door asks the same question.

An account's role is ``user``, ``op`` (an operator: moderates) or ``admin`` (an operator who may
also grant roles and act on operators).  A connection that did not log in with an account's
password has no role (``None``) and is never an operator, whatever its name.
"""

from __future__ import annotations

import enum
import ipaddress


class Role(str, enum.Enum):
    """An account's role; ``.value`` is the word stored in the database and shown to people."""

    USER = "user"
    OP = "op"
    ADMIN = "admin"

    def __str__(self) -> str:
        return self.value


ROLES = tuple(role.value for role in Role)
_RANK = {None: 0, Role.USER: 0, Role.OP: 1, Role.ADMIN: 2}

# The widest network a ban may cover: an operator's mistake (or malice) must not lock a whole
# provider out, and nobody can ban every address (0.0.0.0/0 would lock the admins out too).
MIN_PREFIX = {Role.OP: {4: 16, 6: 48}, Role.ADMIN: {4: 8, 6: 32}}


class RoleError(ValueError):
    """A word that is not a role; ``str()`` says which words are."""


def parse_role(text: str) -> Role:
    """The role named ``text`` (``user``, ``op`` or ``admin``, any case)."""
    try:
        return Role(text.strip().lower())
    except ValueError:
        raise RoleError(f"{text!r} is not a role; use user, op or admin") from None


def stored_role(text: str | None) -> Role:
    """A role read from the database; anything unknown (a hand-edited row) counts as ``user``,
    the role that grants nothing."""
    try:
        return Role(text)
    except ValueError:
        return Role.USER


def may_moderate(actor: Role | None) -> bool:
    """Operators and admins moderate (kick, ban, mute, topics, room modes)."""
    return _RANK[actor] >= _RANK[Role.OP]


def may_act_on(actor: Role | None, target: Role | None) -> bool:
    """Whether ``actor`` may kick, ban or mute someone of role ``target`` (None: unregistered).
    An operator acts only on people who are not operators; an admin acts on anyone."""
    if not may_moderate(actor):
        return False
    return actor is Role.ADMIN or _RANK[target] < _RANK[Role.OP]


may_ban = may_kick = may_mute = may_act_on


def may_grant(actor: Role | None) -> bool:
    """Only admins change roles."""
    return actor is Role.ADMIN


def may_ban_network(actor: Role | None, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    """Whether ``actor`` may ban a whole network: operators up to a /16 (IPv6 /48), admins up to
    a /8 (IPv6 /32).  The server should also refuse an operator's address ban that would match
    a connected operator or admin (it knows their addresses; this module does not)."""
    if not may_moderate(actor):
        return False
    return network.prefixlen >= MIN_PREFIX[actor][network.version]  # type: ignore[index]

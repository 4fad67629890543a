"""The slash commands of moderation and presence: rows of the one command table (textmode.py's
TEXT_COMMANDS), each parsing the rest of a typed line into a frame of moderation.py (or a private action)."""

from __future__ import annotations

import re

from .frames import Me
from .moderation import (
    Allow,
    Away,
    Ban,
    BansRequest,
    Disallow,
    Ignore,
    IgnoredRequest,
    Kick,
    ModeRequest,
    Mute,
    Reply,
    RoleRequest,
    TopicRequest,
    Unban,
    Unignore,
    Unmute,
    WhoisRequest,
)
from .slash import Parser, SlashCommand, TextCommand

# A duration as typed: a number and a unit (s, m, h, d, w), several summed: 10m, 2h, 1d12h.
DURATION = re.compile(r"(?:[0-9]{1,9}[smhdw])+", re.ASCII)


def _words(rest: str, count: int) -> list[str]:
    """The first ``count`` - 1 words of ``rest`` and the rest of it (empty strings when absent)."""
    parts = rest.split(None, count - 1)
    return parts + [""] * (count - len(parts))


def _one_name(rest: str) -> str | None:
    """A command's single NAME argument; None when there is none or more than one word."""
    return rest if rest and len(rest.split()) == 1 else None


def _with_duration(rest: str) -> tuple[str, str | None, str | None] | None:
    """``TARGET [DURATION] [REASON]``: the duration is the second word when it looks like one."""
    target, second, tail = _words(rest, 3)
    if not target:
        return None
    if DURATION.fullmatch(second):
        return target, second, tail or None
    reason = f"{second} {tail}".strip()
    return target, None, reason or None


def _kick(rest: str) -> TextCommand | None:
    name, reason = _words(rest, 2)
    return TextCommand(Kick(user=name, reason=reason or None)) if name else None


def _ban(rest: str) -> TextCommand | None:
    parsed = _with_duration(rest)
    if parsed is None:
        return None
    return TextCommand(Ban(target=parsed[0], duration=parsed[1], reason=parsed[2]))


def _mute(rest: str) -> TextCommand | None:
    parsed = _with_duration(rest)
    return None if parsed is None else TextCommand(Mute(user=parsed[0], duration=parsed[1], reason=parsed[2]))


def _room_first(rest: str) -> tuple[str | None, str]:
    """An optional ``#ROOM`` first word (None: the current room), and the rest."""
    if rest.startswith("#"):
        room, tail = _words(rest, 2)
        return room, tail
    return None, rest


def _topic(rest: str) -> TextCommand:
    room, text = _room_first(rest)
    return TextCommand(TopicRequest(room=room, text=text or None))


_FLAGS = re.compile(r"(?:[+-][im]+)+", re.ASCII)


def _mode(rest: str) -> TextCommand | None:
    """``[#ROOM] FLAGS``: ``+i`` invite-only, ``+m`` moderated, ``-`` to undo, combined freely
    (``+im``, ``+i-m``).  Without flags: ask for the room's modes (answered as the topic is)."""
    room, flags = _room_first(rest)
    if not flags:
        return TextCommand(ModeRequest(room=room))
    if not _FLAGS.fullmatch(flags):
        return None
    settings: dict[str, bool] = {}
    on = True
    for char in flags:
        if char in "+-":
            on = char == "+"
        else:
            settings["invite_only" if char == "i" else "moderated"] = on
    return TextCommand(ModeRequest(room=room, **settings))


def _allow(rest: str, disallow: bool = False) -> TextCommand | None:
    room, name = _room_first(rest)
    if _one_name(name) is None:
        return None
    return TextCommand(Disallow(user=name, room=room) if disallow else Allow(user=name, room=room))


def _role(rest: str) -> TextCommand | None:
    name, role = _words(rest, 2)
    return TextCommand(RoleRequest(user=name, role=role)) if name and role and " " not in role else None


def _action(rest: str) -> TextCommand | None:
    """A private action (irssi's ``/action NAME TEXT``): "* alice waves", to one user."""
    name, _, text = rest.partition(" ")
    if not name or not text.strip():
        return None
    return TextCommand(Me(text=text.lstrip(), to=name))


def _named(frame: type[WhoisRequest | Ignore | Unignore | Unmute]) -> Parser:
    return lambda rest: None if _one_name(rest) is None else TextCommand(frame(user=rest))


# In the order /help lists them, after the chat commands.
PRESENCE_COMMANDS: tuple[SlashCommand, ...] = (
    SlashCommand("away", "[TEXT]", "say you are away", lambda rest: TextCommand(Away(text=rest or None))),
    SlashCommand("back", "", "no longer away", lambda rest: TextCommand(Away())),
    SlashCommand("whois", "NAME", "about someone", _named(WhoisRequest)),
    SlashCommand(
        "reply", "TEXT", "answer the last private message", lambda r: TextCommand(Reply(r)) if r else None
    ),
    SlashCommand("action", "NAME TEXT", "private action", _action, re="me"),
    SlashCommand("ignore", "NAME", "stop seeing someone's messages", _named(Ignore)),
    SlashCommand("unignore", "NAME", "", _named(Unignore)),
    SlashCommand("ignored", "", "whom you ignore", lambda rest: TextCommand(IgnoredRequest())),
    SlashCommand("topic", "[#ROOM] [TEXT]", "show or set a room's topic", _topic),
)

MODERATION_COMMANDS: tuple[SlashCommand, ...] = (
    SlashCommand("kick", "NAME [REASON]", "disconnect someone", _kick),
    SlashCommand("ban", "NAME|ADDRESS|CIDR [DURATION] [REASON]", "10m, 2h, 7d; none: until lifted", _ban),
    SlashCommand("unban", "NAME|ADDRESS|CIDR", "", lambda r: TextCommand(Unban(r)) if _one_name(r) else None),
    SlashCommand("bans", "", "list bans", lambda rest: TextCommand(BansRequest())),
    SlashCommand("mute", "NAME [DURATION] [REASON]", "only reads", _mute),
    SlashCommand("unmute", "NAME", "", _named(Unmute)),
    SlashCommand("mode", "[#ROOM] +i|+m|-i|-m", "invite-only, moderated", _mode),
    SlashCommand("allow", "[#ROOM] NAME", "may join and speak", _allow),
    SlashCommand("disallow", "[#ROOM] NAME", "", lambda rest: _allow(rest, disallow=True)),
    SlashCommand("role", "NAME user|op|admin", "admins: give a role", _role),
)

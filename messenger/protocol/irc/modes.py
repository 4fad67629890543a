"""MODE, KICK, KILL and INVITE: IRC's moderation, as far as messenger's goes.

messenger's operators are server-wide (a role of an account), its bans and kicks too (a kicked
member leaves the server, not one room), and a room has two modes, invite-only and moderated.
So, on a channel:

- ``+i`` / ``-i``, ``+m`` / ``-m``: the room's modes (``mode`` request);
- ``+b`` alone lists the bans; ``+b mask`` / ``-b mask`` bans or lifts a ban on the nick of
  ``nick!*@*``, or the address or network of ``*!*@host`` (``ban`` / ``unban``);
- ``+o nick`` / ``-o nick``: give or take the operator role (``role``; admins only);
- ``+q mask`` / ``-q mask``: mute or unmute the nick (``mute`` / ``unmute``; server-wide too:
  the quiet list of charybdis and solanum);
- ``+v nick`` / ``-v nick``: allow a nick to speak in the moderated room, and to enter it when
  it is invite-only (``allow`` / ``disallow``); INVITE does the same;
- KICK (and KILL) disconnect the member (``kick``), whatever channel is named;
- SILENCE ``+nick`` / ``-nick`` / alone: ignore, unignore, list (``ignore``, ``ignored``).

Any other mode letter is answered 472.  User modes are only reported (221).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..frames import ClientFrame
from ..moderation import (
    Allow,
    Ban,
    BansRequest,
    Disallow,
    Ignore,
    IgnoredRequest,
    Kick,
    ModeRequest,
    Mute,
    RoleRequest,
    Unban,
    Unignore,
    Unmute,
)
from . import numerics as n
from .events import Event, Request
from .message import IRCMessage
from .names import ascii_fold, name_of_nick, room_of_channel

if TYPE_CHECKING:
    from .session import IRCConnection

CHANMODES = "bq,,,im"  # ISUPPORT: list modes, then modes without parameters
MAX_MODE_CHANGES = 4  # ISUPPORT MODES


def _mode(conn: IRCConnection, message: IRCMessage) -> list[Event]:
    if not message.params or not message.params[0]:
        return [conn.reply(n.ERR_NEEDMOREPARAMS, "MODE", "Not enough parameters")]
    target = message.params[0]
    if not target.startswith("#"):
        if ascii_fold(target) != ascii_fold(conn.me):
            return [conn.reply(n.ERR_USERSDONTMATCH, "Can't change mode for other users")]
        return [conn.reply(n.RPL_UMODEIS, "+")]
    room = room_of_channel(target)
    if not isinstance(room, str) or conn.no_such_channel(room):
        why = str(room) if not isinstance(room, str) else "No such channel"
        return [conn.reply(n.ERR_NOSUCHCHANNEL, target[:64], why)]
    conn.subjects["mode"] = conn.subjects["bans"] = room
    if len(message.params) < 2:
        return [Request(ModeRequest(room=room))]
    return _changes(conn, room, message.params[1], list(message.params[2:]))


def _changes(conn: IRCConnection, room: str, modes: str, args: list[str]) -> list[Event]:
    """Each change of a mode string, in order, as a request (``+im`` is one)."""
    events: list[Event] = []
    flags: dict[str, bool] = {}
    adding = True
    for letter in modes[:32]:
        if letter in "+-":
            adding = letter == "+"
        elif letter in "im":
            flags["invite_only" if letter == "i" else "moderated"] = adding
        elif letter in "boqv":
            if letter == "b" and not args:
                events.append(Request(BansRequest()))
                continue
            if not args:
                events.append(conn.reply(n.ERR_NEEDMOREPARAMS, "MODE", "Not enough parameters"))
                continue
            events.append(_with_argument(conn, room, letter, adding, args.pop(0)))
        else:
            events.append(conn.reply(n.ERR_UNKNOWNMODE, letter, "is an unknown mode char to me"))
        if len(events) >= MAX_MODE_CHANGES:
            break
    if flags:
        events.insert(0, Request(ModeRequest(room=room, **flags)))
    return events


def _with_argument(conn: IRCConnection, room: str, letter: str, adding: bool, arg: str) -> Event:
    if letter == "b":
        target = ban_target(arg)
        return Request(Ban(target=target) if adding else Unban(target=target))
    name = name_of_nick(ban_target(arg)) if letter == "q" else name_of_nick(arg)
    if not isinstance(name, str):
        return conn.reply(n.ERR_NOSUCHNICK, arg[:64], "No such nick")
    for kind in ("role", "allow", "disallow", "mute", "unmute"):
        conn.subjects[kind] = arg
    frame: ClientFrame
    if letter == "q":
        frame = Mute(user=name) if adding else Unmute(user=name)
    elif letter == "o":
        frame = RoleRequest(user=name, role="op" if adding else "user")
    else:
        frame = Allow(user=name, room=room) if adding else Disallow(user=name, room=room)
    return Request(frame)


def ban_target(mask: str) -> str:
    """What a ban mask names in messenger: ``*!*@host`` an address or network, ``nick!*@*`` (or a
    bare nick) a name."""
    nick, _, rest = mask.partition("!")
    host = rest.partition("@")[2] if "@" in rest else (mask.partition("@")[2] if "@" in mask else "")
    if nick in ("", "*") and host not in ("", "*"):
        return host
    name = name_of_nick(nick.partition("@")[0])
    return name if isinstance(name, str) else nick


def _kick(conn: IRCConnection, message: IRCMessage) -> list[Event]:
    if len(message.params) < 2 or not all(message.params[:2]):
        return [conn.reply(n.ERR_NEEDMOREPARAMS, "KICK", "Not enough parameters")]
    room = room_of_channel(message.params[0])
    if not isinstance(room, str) or conn.no_such_channel(room):  # kicks nobody
        return [conn.reply(n.ERR_NOSUCHCHANNEL, message.params[0][:64], "No such channel")]
    return _kick_nick(conn, message.params[1].split(",")[0], message.param(2))


def _kill(conn: IRCConnection, message: IRCMessage) -> list[Event]:
    if not message.params or not message.params[0]:
        return [conn.reply(n.ERR_NEEDMOREPARAMS, "KILL", "Not enough parameters")]
    return _kick_nick(conn, message.params[0], message.param(1))


def _kick_nick(conn: IRCConnection, nick: str, reason: str) -> list[Event]:
    name = name_of_nick(nick)
    if not isinstance(name, str):
        return [conn.reply(n.ERR_NOSUCHNICK, nick[:64], "No such nick")]
    conn.subjects["kick"] = nick
    return [Request(Kick(user=name, reason=reason or None))]


def _invite(conn: IRCConnection, message: IRCMessage) -> list[Event]:
    if len(message.params) < 2 or not all(message.params[:2]):
        return [conn.reply(n.ERR_NEEDMOREPARAMS, "INVITE", "Not enough parameters")]
    name = name_of_nick(message.params[0])
    room = room_of_channel(message.params[1])
    if not isinstance(name, str):
        return [conn.reply(n.ERR_NOSUCHNICK, message.params[0][:64], "No such nick")]
    if not isinstance(room, str):
        return [conn.reply(n.ERR_NOSUCHCHANNEL, message.params[1][:64], str(room))]
    conn.subjects["allow"] = message.params[0]
    return [Request(Allow(user=name, room=room))]


def _silence(conn: IRCConnection, message: IRCMessage) -> list[Event]:
    """SILENCE (ircu's server-side ignore) as messenger's ignore list."""
    if not message.params:
        return [Request(IgnoredRequest())]
    mask = message.params[0]
    name = name_of_nick(ban_target(mask.lstrip("+-")))
    if not isinstance(name, str):
        return [conn.reply(n.ERR_NOSUCHNICK, mask[:64], "No such nick")]
    conn.subjects["ignore"] = conn.subjects["unignore"] = mask.lstrip("+-")
    return [Request(Unignore(user=name) if mask.startswith("-") else Ignore(user=name))]


MODE_COMMANDS: dict[str, Callable[[IRCConnection, IRCMessage], list[Event]]] = {
    "SILENCE": _silence,
    "MODE": _mode,
    "KICK": _kick,
    "KILL": _kill,
    "INVITE": _invite,
}

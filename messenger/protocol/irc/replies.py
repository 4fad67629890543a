"""The frames the server sends one IRC connection alone, as numerics naming their reader:
the welcome (001-005), answers (NAMES, WHO, WHOIS, LIST, TOPIC, MODE, ban lists), notices and
errors.  ``direct_reply`` gives None for frames that read the same for everyone (encode.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..frames import LOBBY, Error, ErrorCode, HistoryEnd, Left, Pong, RoomList, ServerFrame, Users, Welcome
from ..moderation import AwayStatus, BanList, IgnoredList, Motd, Notice, RoomMode, Topic, Whois
from . import numerics as n
from .encode import away_own, modes_set
from .message import MAX_LINE, serialise
from .modes import CHANMODES, MAX_MODE_CHANGES
from .names import CASEMAPPING, CHANNELLEN, NICKLEN, to_nick

if TYPE_CHECKING:
    from .session import IRCConnection

_NAMES_ROOM = 400  # bytes of names per 353 line: room for the rest within 512


def isupport(conn: IRCConnection) -> list[str]:
    from .chathistory import MAX_HISTORY
    from .commands import MAX_JOINS, MAX_TARGETS

    return [
        f"CASEMAPPING={CASEMAPPING}",
        "CHANTYPES=#",
        f"NICKLEN={NICKLEN}",
        f"CHANNELLEN={CHANNELLEN}",
        f"NETWORK={conn.network}",
        "UTF8ONLY",
        "PREFIX=(o)@",
        f"CHANMODES={CHANMODES}",
        f"MODES={MAX_MODE_CHANGES}",
        f"TARGMAX=PRIVMSG:{MAX_TARGETS},NOTICE:{MAX_TARGETS},JOIN:{MAX_JOINS},PART:{MAX_JOINS}",
        "AWAYLEN=1000",
        f"CHATHISTORY={MAX_HISTORY}",
    ]


def welcome(frame: Welcome, conn: IRCConnection) -> bytes:
    """001-005, the number online (251), and 422 when there is no message of the day (when
    there is one, its frame follows the welcome)."""
    me = to_nick(frame.user)
    say = lambda code, *params: n.numeric(conn.server, me, code, *params)  # noqa: E731
    lines = [
        say(n.RPL_WELCOME, f"Welcome to the {conn.network} IRC door, {me}"),
        say(n.RPL_YOURHOST, f"Your host is {conn.server}, running {frame.server}"),
        say(n.RPL_CREATED, "This server speaks messenger's protocol and IRC"),
        say(n.RPL_MYINFO, conn.server, frame.server.replace(" ", "-"), "i", "bimov"),
        say(n.RPL_ISUPPORT, *isupport(conn), "are supported by this server"),
        say(n.RPL_LUSERCLIENT, f"There are {frame.count or len(frame.users)} users online"),
    ]
    if conn.motd is None:
        lines.append(say(n.ERR_NOMOTD, "MOTD File is missing"))
    return b"".join(lines)


def _names(frame: Users, conn: IRCConnection) -> bytes:
    room = frame.room or "*"
    nicks = [to_nick(name) for name in frame.users]
    lines, chunk, size = [], [], 0
    for nick in nicks:
        if chunk and size + len(nick) + 1 > _NAMES_ROOM:
            lines.append(conn.reply(n.RPL_NAMREPLY, "=", room, " ".join(chunk)).data)
            chunk, size = [], 0
        chunk.append(nick)
        size += len(nick) + 1
    if chunk:
        lines.append(conn.reply(n.RPL_NAMREPLY, "=", room, " ".join(chunk)).data)
    lines.append(conn.reply(n.RPL_ENDOFNAMES, room, "End of /NAMES list").data)
    return b"".join(lines)


def _who_line(conn: IRCConnection, channel: str, name: str, away: bool) -> bytes:
    nick = to_nick(name)
    flags = "G" if away else "H"
    return conn.reply(n.RPL_WHOREPLY, channel, "~m", conn.network, conn.server, nick, flags, f"0 {name}").data


def _who(frame: Users, conn: IRCConnection, mask: str) -> bytes:
    away = frame.away or {}
    channel = frame.room or "*"
    lines = [_who_line(conn, channel, name, name in away) for name in frame.users]
    return b"".join(lines) + conn.reply(n.RPL_ENDOFWHO, mask, "End of WHO list").data


def _users(frame: Users, conn: IRCConnection) -> bytes:
    wording = conn.expectation("users", frame.room or "", "names")
    if wording.startswith("who "):
        return _who(frame, conn, wording[4:])
    return _names(frame, conn)


def _whois(frame: Whois, conn: IRCConnection) -> bytes:
    wording = conn.expectation("whois", "", "whois")
    nick = to_nick(frame.user)
    if wording.startswith("who "):
        channel = frame.rooms[-1] if frame.rooms else "*"
        return (
            _who_line(conn, channel, frame.user, frame.away is not None)
            + conn.reply(n.RPL_ENDOFWHO, wording[4:], "End of WHO list").data
        )
    say = conn.reply
    lines = [say(n.RPL_WHOISUSER, nick, "~m", conn.network, "*", frame.user).data]
    if frame.rooms:
        lines.append(say(n.RPL_WHOISCHANNELS, nick, " ".join(frame.rooms)).data)
    lines.append(say(n.RPL_WHOISSERVER, nick, conn.server, "messenger").data)
    if frame.role in ("op", "admin"):
        lines.append(say(n.RPL_WHOISOPERATOR, nick, f"is an {frame.role} of this server").data)
    if frame.registered:
        lines.append(say(n.RPL_WHOISACCOUNT, nick, frame.account or nick, "is logged in as").data)
    if frame.away is not None:
        lines.append(say(n.RPL_AWAY, nick, frame.away).data)
    if frame.address is not None:
        lines.append(say(n.RPL_WHOISACTUALLY, nick, frame.address, "is connecting from").data)
    lines.append(say(n.RPL_WHOISIDLE, nick, str(frame.idle), "seconds idle").data)
    lines.append(say(n.RPL_ENDOFWHOIS, nick, "End of /WHOIS list").data)
    return b"".join(lines)


def _rooms(frame: RoomList, conn: IRCConnection) -> bytes:
    lines = [conn.reply(n.RPL_LISTSTART, "Channel", "Users  Name").data]
    lines += [
        conn.reply(n.RPL_LIST, info.room, str(info.users), info.topic or "").data for info in frame.rooms
    ]
    return b"".join(lines) + conn.reply(n.RPL_LISTEND, "End of /LIST").data


def _topic(frame: Topic, conn: IRCConnection) -> bytes:
    wording = conn.expectation("topic", frame.room, "join")
    if not frame.text:
        return conn.reply(n.RPL_NOTOPIC, frame.room, "No topic is set").data if wording == "query" else b""
    lines = conn.reply(n.RPL_TOPIC, frame.room, frame.text).data
    if frame.by:
        lines += conn.reply(n.RPL_TOPICWHOTIME, frame.room, to_nick(frame.by), _epoch(frame.ts)).data
    return lines


def _epoch(ts: str | None) -> str:
    from datetime import datetime

    if not ts:
        return "0"
    try:
        return str(int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()))
    except ValueError:
        return "0"


def _bans(frame: BanList, conn: IRCConnection) -> bytes:
    room = conn.subjects.get("bans", LOBBY)
    lines = [
        conn.reply(
            n.RPL_BANLIST, room, _ban_mask(ban.target, ban.kind), to_nick(ban.by), _epoch(ban.since)
        ).data
        for ban in frame.bans
    ]
    return b"".join(lines) + conn.reply(n.RPL_ENDOFBANLIST, room, "End of channel ban list").data


def _ban_mask(target: str, kind: str) -> str:
    return f"{to_nick(target)}!*@*" if kind == "name" else f"*!*@{target}"


def notice(conn: IRCConnection, text: str) -> bytes:
    """A server NOTICE to the reader, a line each, each cut to fit."""
    budget = MAX_LINE - len(f":{conn.server} NOTICE {conn.me} :\r\n".encode())
    from .message import split_text

    pieces = [p for line in text.splitlines() or [""] for p in split_text(line, max(budget, 4))]
    return b"".join(serialise("NOTICE", conn.me, p, source=conn.server, trailing=True) for p in pieces)


def _away(frame: AwayStatus, conn: IRCConnection) -> bytes:
    if frame.user == conn.current_name():
        return away_own(frame, conn.server)
    if frame.text is None:
        return b""
    return conn.reply(n.RPL_AWAY, to_nick(frame.user), frame.text).data


_REPLIES: dict[type, Callable[..., bytes | None]] = {
    Welcome: welcome,
    Users: _users,
    Whois: _whois,
    RoomList: _rooms,
    Topic: _topic,
    BanList: _bans,
    AwayStatus: _away,
    RoomMode: lambda frame, conn: (
        conn.reply(n.RPL_CHANNELMODEIS, frame.room, modes_set(frame.invite_only, frame.moderated)).data
    ),
    Motd: lambda frame, conn: _motd(conn),
    Notice: lambda frame, conn: notice(conn, frame.text),
    IgnoredList: lambda frame, conn: _silenced(frame, conn),
    HistoryEnd: lambda frame, conn: b"",
    Left: lambda frame, conn: _removed(frame, conn),
    Pong: lambda frame, conn: _pong(frame, conn),
}


def _pong(frame: Pong, conn: IRCConnection) -> bytes:
    """The answer to a PING after registration (commands._ping), its token as the client sent it."""
    token = frame.token if isinstance(frame.token, str) and frame.token else conn.server
    return serialise("PONG", conn.server, token, source=conn.server)


def _silenced(frame: IgnoredList, conn: IRCConnection) -> bytes:
    """Whom the reader ignores, as SILENCE lists them (271, 272)."""
    me = conn.me
    lines = [conn.reply(n.RPL_SILELIST, me, f"{to_nick(name)}!*@*").data for name in frame.users]
    return b"".join(lines) + conn.reply(n.RPL_ENDOFSILELIST, "End of Silence List").data


def _motd(conn: IRCConnection) -> bytes:
    from .commands import motd_lines

    return motd_lines(conn)


def _removed(frame: Left, conn: IRCConnection) -> bytes | None:
    """The member itself kicked or banned: the KICK, then ERROR, as the connection closes."""
    if frame.user != conn.current_name() or frame.reason not in ("kicked", "banned"):
        return None
    from .encode import encode_shared, variant_of

    kick = encode_shared(frame, variant_of(conn.caps), network=conn.network, server=conn.server)
    by = f" by {frame.by}" if frame.by else ""
    why = f": {frame.message}" if frame.message else ""
    return kick + serialise("ERROR", f"Closing link: {frame.reason}{by}{why}")


def direct_reply(frame: ServerFrame, conn: IRCConnection) -> bytes | None:
    """``frame`` as numerics for ``conn``, or None when it reads as it does for everyone."""
    if isinstance(frame, Error):
        from .errors import error_lines

        return error_lines(frame, conn)
    reply = _REPLIES.get(type(frame))
    return None if reply is None else reply(frame, conn)


__all__ = ["ErrorCode", "direct_reply", "isupport", "notice", "welcome"]

"""What each IRC command asks of messenger, once registered (CAP, PING, PONG and QUIT also
before): one function per command, each from an IRCMessage to the events it gives.

Commands with a messenger request become that request's frame (protocol/frames.py,
protocol/moderation.py), so the server's steps answer them as they answer every front door;
commands messenger has no feature for are answered here with the numeric IRC clients expect.
MODE and the operators' commands are in modes.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from ..frames import Away, Bye, Join, Me, Nick, Part, Ping, Rooms, Say, TopicRequest, Who, WhoisRequest
from ..names import is_blank, sanitize_text
from . import numerics as n
from .chathistory import chathistory
from .events import Event, Ignored, Lines, Request
from .message import IRCMessage, serialise
from .modes import MODE_COMMANDS
from .names import name_of_nick, room_of_channel

if TYPE_CHECKING:
    from .session import IRCConnection

Handler = Callable[["IRCConnection", IRCMessage], list[Event]]
MAX_TARGETS = 4  # ISUPPORT TARGMAX for PRIVMSG and NOTICE: one line, a few messages
MAX_JOINS = 10
# mIRC colours (\x03 with up to two numbers), hex colours (\x04), and the other formatting codes.
_FORMATTING = re.compile(
    r"\x03(\d{1,2}(,\d{1,2})?)?|\x04([0-9a-fA-F]{6}(,[0-9a-fA-F]{6})?)?|[\x02\x0f\x11\x16\x1d\x1e\x1f]"
)
VERSION = "messenger-irc"


def _need(conn: IRCConnection, message: IRCMessage, count: int) -> list[Event] | None:
    """461 when ``message`` has fewer than ``count`` parameters, else None."""
    if len(message.params) >= count and all(message.params[:count]):
        return None
    return [conn.reply(n.ERR_NEEDMOREPARAMS, message.command, "Not enough parameters")]


def plain_text(text: str) -> str:
    """IRC formatting (bold, colours ...) taken out, then what messenger does to every message."""
    return sanitize_text(_FORMATTING.sub("", text))


def _privmsg(conn: IRCConnection, message: IRCMessage) -> list[Event]:
    notice = message.command == "NOTICE"
    if not message.params:
        return [] if notice else [conn.reply(n.ERR_NORECIPIENT, f"No recipient given ({message.command})")]
    if len(message.params) < 2 or not message.params[1]:
        return [] if notice else [conn.reply(n.ERR_NOTEXTTOSEND, "No text to send")]
    targets = [t for t in message.params[0].split(",") if t]
    if len(targets) > MAX_TARGETS:
        return [conn.reply(n.ERR_TOOMANYTARGETS, message.params[0][:64], "Too many targets")]
    text, action = message.params[1], False
    if text.startswith("\x01"):  # CTCP: only ACTION (/me) has a meaning in messenger
        verb, _, rest = text.strip("\x01").partition(" ")
        if verb.upper() != "ACTION":
            return []
        text, action = rest, True
    text = plain_text(text)
    if is_blank(text):
        return [] if notice else [conn.reply(n.ERR_NOTEXTTOSEND, "No text to send")]
    events = [event for target in targets for event in _one_message(conn, target, text, action, notice)]
    return [replace(e, quiet=True) if notice and isinstance(e, Request) else e for e in events]


def _one_message(conn: IRCConnection, target: str, text: str, action: bool, notice: bool) -> list[Event]:
    if target.startswith("#"):
        room = room_of_channel(target)
        if not isinstance(room, str) or conn.no_such_channel(room):
            why = str(room) if not isinstance(room, str) else "No such channel"
            return [] if notice else [conn.reply(n.ERR_NOSUCHCHANNEL, target[:64], why)]
        conn.subjects["say"] = conn.subjects["me"] = target
        return [Request(Me(text=text, room=room) if action else Say(text=text, room=room))]
    name = name_of_nick(target)
    if not isinstance(name, str):
        return [] if notice else [conn.reply(n.ERR_NOSUCHNICK, target[:64], "No such nick")]
    conn.subjects["say"] = conn.subjects["me"] = target
    return [Request(Me(text=text, to=name) if action else Say(text=text, to=name))]


def _join(conn: IRCConnection, message: IRCMessage) -> list[Event]:
    missing = _need(conn, message, 1)
    if missing:
        return missing
    channels = [c for c in message.params[0].split(",") if c][:MAX_JOINS]
    events: list[Event] = []
    for channel in channels:
        room = room_of_channel(channel)
        if not isinstance(room, str):
            events.append(conn.reply(n.ERR_NOSUCHCHANNEL, channel[:64], str(room)))
        elif room not in conn.rooms():  # joining a channel one is on does nothing
            conn.subjects["join"] = room
            events.append(Request(Join(room=room)))
    return events


def _part(conn: IRCConnection, message: IRCMessage) -> list[Event]:
    missing = _need(conn, message, 1)
    if missing:
        return missing
    events: list[Event] = []
    for channel in [c for c in message.params[0].split(",") if c][:MAX_JOINS]:
        room = room_of_channel(channel)
        if not isinstance(room, str) or conn.no_such_channel(room):
            events.append(conn.reply(n.ERR_NOSUCHCHANNEL, channel[:64], "No such channel"))
        elif room not in conn.rooms():
            events.append(conn.reply(n.ERR_NOTONCHANNEL, channel[:64], "You're not on that channel"))
        else:
            conn.subjects["part"] = room
            events.append(Request(Part(room=room)))
    return events


def _topic(conn: IRCConnection, message: IRCMessage) -> list[Event]:
    missing = _need(conn, message, 1)
    if missing:
        return missing
    room = room_of_channel(message.params[0])
    if not isinstance(room, str) or conn.no_such_channel(room):
        why = str(room) if not isinstance(room, str) else "No such channel"
        return [conn.reply(n.ERR_NOSUCHCHANNEL, message.params[0][:64], why)]
    conn.subjects["topic"] = room
    if len(message.params) < 2:
        conn.expect("topic", room, "query")
        return [Request(TopicRequest(room=room))]
    return [Request(TopicRequest(room=room, text=plain_text(message.params[1])))]


def _names(conn: IRCConnection, message: IRCMessage) -> list[Event]:
    if not message.params:
        return [conn.reply(n.RPL_ENDOFNAMES, "*", "End of /NAMES list")]
    room = room_of_channel(message.params[0].split(",")[0])
    if not isinstance(room, str):
        return [conn.reply(n.RPL_ENDOFNAMES, message.params[0][:64], "End of /NAMES list")]
    conn.expect("users", room, "names")
    return [Request(Who(room=room))]


def _who(conn: IRCConnection, message: IRCMessage) -> list[Event]:
    mask = message.param(0, "*") or "*"
    if mask.startswith("#"):
        room = room_of_channel(mask)
        if not isinstance(room, str):
            return [conn.reply(n.RPL_ENDOFWHO, mask[:64], "End of WHO list")]
        conn.expect("users", room, f"who {mask}")
        return [Request(Who(room=room))]
    if mask in ("*", "0"):
        conn.expect("users", "", f"who {mask}")
        return [Request(Who())]
    name = name_of_nick(mask)
    if not isinstance(name, str):
        return [conn.reply(n.RPL_ENDOFWHO, mask[:64], "End of WHO list")]
    conn.subjects["whois"] = mask
    conn.expect("whois", "", f"who {mask}")
    return [Request(WhoisRequest(user=name))]


def _whois(conn: IRCConnection, message: IRCMessage) -> list[Event]:
    missing = _need(conn, message, 1)
    if missing:
        return [conn.reply(n.ERR_NONICKNAMEGIVEN, "No nickname given")]
    nick = message.params[-1].split(",")[0]
    name = name_of_nick(nick)
    if not isinstance(name, str):
        end = conn.reply(n.RPL_ENDOFWHOIS, nick[:64], "End of /WHOIS list")
        return [conn.reply(n.ERR_NOSUCHNICK, nick[:64], "No such nick"), end]
    conn.subjects["whois"] = nick
    conn.expect("whois", "", "whois")
    return [Request(WhoisRequest(user=name))]


def _away(conn: IRCConnection, message: IRCMessage) -> list[Event]:
    text = plain_text(message.param(0))
    return [Request(Away(text=None if is_blank(text) else text))]


def _nick(conn: IRCConnection, message: IRCMessage) -> list[Event]:
    if not message.params or not message.params[0]:
        return [conn.reply(n.ERR_NONICKNAMEGIVEN, "No nickname given")]
    name = name_of_nick(message.params[0])
    if not isinstance(name, str):
        return [conn.reply(n.ERR_ERRONEUSNICKNAME, message.params[0][:64], f"Erroneous nickname: {name}")]
    if name == conn.current_name():
        return []  # a change to the very nick one has: nothing happens, nobody is told
    conn.subjects["nick"] = message.params[0]
    return [Request(Nick(user=name))]


def _tagmsg(conn: IRCConnection, message: IRCMessage) -> list[Event]:
    """TAGMSG (message-tags: a message of tags alone, such as ``+typing``) is accepted and
    dropped: messenger has no message without text, and its other front doors could not show
    one, so it carries client-only tags to nobody (never to a client without message-tags)."""
    missing = _need(conn, message, 1)
    return missing or []


def _quit(conn: IRCConnection, message: IRCMessage) -> list[Event]:
    goodbye = serialise("ERROR", "Closing link: quit")
    return [Lines(goodbye), Request(Bye())]  # before registration too: the connection ends


def _ping(conn: IRCConnection, message: IRCMessage) -> list[Event]:
    """Before registration the PONG is the connection's own answer; after it, a ``ping`` request,
    so that the PONG follows everything the client sent before (on a cluster node the server
    holds it until the client's messages came back from Redis, as for every front door)."""
    missing = _need(conn, message, 1)
    if missing:
        return missing
    if conn.logged_in:
        return [Request(Ping(token=message.params[0]))]
    return [Lines(serialise("PONG", conn.server, message.params[0], source=conn.server))]


def _motd(conn: IRCConnection, message: IRCMessage) -> list[Event]:
    return [Lines(motd_lines(conn))]


def motd_lines(conn: IRCConnection) -> bytes:
    """375, a 372 per line of the message of the day, 376; or 422 when there is none."""
    if conn.motd is None:
        return conn.reply(n.ERR_NOMOTD, "MOTD File is missing").data
    lines = [conn.reply(n.RPL_MOTDSTART, f"- {conn.server} Message of the day -").data]
    lines += [conn.reply(n.RPL_MOTD, f"- {line}").data for line in conn.motd.splitlines() or [""]]
    lines.append(conn.reply(n.RPL_ENDOFMOTD, "End of /MOTD command.").data)
    return b"".join(lines)


def _cap(conn: IRCConnection, message: IRCMessage) -> list[Event]:
    from .session import CAPS  # the table lives with the registration it holds

    sub = message.param(0).upper()
    target = conn.me
    if sub == "LS":
        conn.cap_hold = conn.cap_hold or not conn.logged_in
        new = message.param(1).isdigit() and int(message.param(1)) >= 302
        offered = [f"{cap}={value}" if value and new else cap for cap, value in CAPS.items()]
        return [Lines(serialise("CAP", target, "LS", " ".join(offered), source=conn.server))]
    if sub == "LIST":
        return [Lines(serialise("CAP", target, "LIST", " ".join(sorted(conn.caps)), source=conn.server))]
    if sub == "REQ":
        conn.cap_hold = conn.cap_hold or not conn.logged_in
        asked = message.param(1).split()
        # The login asked for presence (AWAY lines) or not: away-notify is settled by then.
        late = conn.logged_in and "away-notify" in asked and "away-notify" not in conn.caps
        if late or not asked or any(cap.removeprefix("-") not in CAPS for cap in asked):
            return [Lines(serialise("CAP", target, "NAK", message.param(1), source=conn.server))]
        removed = {cap[1:] for cap in asked if cap.startswith("-")}
        added = {cap for cap in asked if not cap.startswith("-")}
        conn.caps = (conn.caps - removed) | added  # a new set: encoders read it from other threads
        return [Lines(serialise("CAP", target, "ACK", message.param(1), source=conn.server))]
    if sub == "END":
        return [] if conn.logged_in else conn.cap_end()
    return [conn.reply(n.ERR_INVALIDCAPCMD, message.param(0)[:32] or "*", "Invalid CAP command")]


def _already(conn: IRCConnection, message: IRCMessage) -> list[Event]:
    if message.command == "AUTHENTICATE":
        if conn.account is not None:
            return [conn.reply(n.ERR_SASLALREADY, "You have already authenticated using SASL")]
        return [conn.reply(n.ERR_SASLFAIL, "SASL after registration is not supported")]
    return [conn.reply(n.ERR_ALREADYREGISTERED, "You may not reregister")]


COMMANDS: dict[str, Handler] = {
    "PRIVMSG": _privmsg,
    "NOTICE": _privmsg,
    "JOIN": _join,
    "PART": _part,
    "TOPIC": _topic,
    "NAMES": _names,
    "WHO": _who,
    "WHOIS": _whois,
    "LIST": lambda conn, message: [Request(Rooms())],
    "AWAY": _away,
    "NICK": _nick,
    "TAGMSG": _tagmsg,
    "QUIT": _quit,
    "PING": _ping,
    "PONG": lambda conn, message: [Ignored()],
    "MOTD": _motd,
    "VERSION": lambda conn, message: [
        conn.reply(n.RPL_VERSION, VERSION, conn.server, "messenger's IRC door")
    ],
    "CAP": _cap,
    "USER": _already,
    "PASS": _already,
    "AUTHENTICATE": _already,
    "CHATHISTORY": chathistory,
    **MODE_COMMANDS,
}
KNOWN = frozenset(COMMANDS)


def handle(conn: IRCConnection, message: IRCMessage) -> list[Event]:
    """The events one command gives; an unknown command is answered 421, never a disconnect."""
    handler = COMMANDS.get(message.command)
    if handler is None:
        return [conn.reply(n.ERR_UNKNOWNCOMMAND, message.command[:32], "Unknown command")]
    return handler(conn, message)

"""messenger's errors as the numerics IRC clients expect.

An error frame names its code and the request it answers (``re``); the IRC command and the nick
or channel that request named are remembered by the connection (``subjects``), so ``no user
named bob`` becomes ``401 me bob :No such nick``.  Codes IRC has no numeric for are IRCv3
standard replies (``FAIL PART LAST_ROOM :...``), which clients without support show as text.
Errors that end the connection (``replaced``, ``server_full``, ``login_timeout``) are ``ERROR``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..frames import Error, ErrorCode
from . import numerics as n
from .message import serialise

if TYPE_CHECKING:
    from .session import IRCConnection

# messenger's request type -> the IRC command that sends it.
COMMAND_OF = {
    "hello": "NICK", "say": "PRIVMSG", "me": "PRIVMSG", "join": "JOIN", "part": "PART",
    "nick": "NICK", "who": "WHO", "whois": "WHOIS", "topic": "TOPIC", "mode": "MODE",
    "kick": "KICK", "ban": "MODE", "unban": "MODE", "bans": "MODE", "role": "MODE",
    "allow": "MODE", "disallow": "MODE", "mute": "MODE", "unmute": "MODE", "away": "AWAY",
    "rooms": "LIST", "history": "CHATHISTORY", "ignore": "SILENCE", "unignore": "SILENCE",
}  # fmt: skip
_CLOSING = frozenset({ErrorCode.REPLACED.value, ErrorCode.SERVER_FULL.value, ErrorCode.LOGIN_TIMEOUT.value})
# code -> numeric, for errors about a nick (the subject is a nick) ...
_ABOUT_NICK = {
    ErrorCode.NAME_TAKEN.value: n.ERR_NICKNAMEINUSE,
    ErrorCode.NAME_REGISTERED.value: n.ERR_NICKNAMEINUSE,
    ErrorCode.BAD_NAME.value: n.ERR_ERRONEUSNICKNAME,
    ErrorCode.UNKNOWN_USER.value: n.ERR_NOSUCHNICK,
}
# ... and about a channel.
_ABOUT_CHANNEL = {
    ErrorCode.NOT_IN_ROOM.value: n.ERR_NOTONCHANNEL,
    ErrorCode.BAD_ROOM.value: n.ERR_NOSUCHCHANNEL,
    ErrorCode.INVITE_ONLY.value: n.ERR_INVITEONLYCHAN,
    ErrorCode.MODERATED.value: n.ERR_CANNOTSENDTOCHAN,
    ErrorCode.MUTED.value: n.ERR_CANNOTSENDTOCHAN,
}
_PLAIN = {
    ErrorCode.BAD_PASSWORD.value: n.ERR_PASSWDMISMATCH,
    ErrorCode.RATE_LIMITED.value: n.ERR_PASSWDMISMATCH,
    ErrorCode.BANNED.value: n.ERR_YOUREBANNEDCREEP,
    ErrorCode.NOT_LOGGED_IN.value: n.ERR_NOTREGISTERED,
    ErrorCode.ALREADY_LOGGED_IN.value: n.ERR_ALREADYREGISTERED,
    ErrorCode.TOO_LONG.value: n.ERR_INPUTTOOLONG,
    ErrorCode.EMPTY.value: n.ERR_NOTEXTTOSEND,
    ErrorCode.NOT_PERMITTED.value: n.ERR_NOPRIVILEGES,
}


def error_lines(frame: Error, conn: IRCConnection) -> bytes:
    """An error frame for ``conn``, as its numeric (or FAIL, or ERROR)."""
    re = frame.re or ""
    _forget_expectation(conn, re)
    if conn.quiet and re in ("say", "me"):
        return b""  # a NOTICE is never answered, not even with an error
    if frame.code in _CLOSING:
        return serialise("ERROR", frame.message)
    subject = conn.subjects.get(re, "*")
    if frame.code == ErrorCode.PASSWORD_REQUIRED.value:
        code = n.ERR_PASSWDMISMATCH if conn.password_needed else n.ERR_NICKNAMEINUSE
        return conn.reply(code, *(() if conn.password_needed else (subject,)), frame.message).data
    if frame.code in _ABOUT_NICK:
        if frame.code == ErrorCode.UNKNOWN_USER.value and re == "whois":
            return _no_such_nick_in_whois(conn, subject, frame.message)
        return conn.reply(_ABOUT_NICK[frame.code], subject, frame.message).data
    if frame.code == ErrorCode.NOT_IN_ROOM.value and re in ("say", "me"):
        return conn.reply(n.ERR_CANNOTSENDTOCHAN, subject, frame.message).data
    if frame.code in _ABOUT_CHANNEL:
        return conn.reply(_ABOUT_CHANNEL[frame.code], subject, frame.message).data
    if frame.code == ErrorCode.NOT_OPERATOR.value:
        if re == "bans":  # clients ask on every join (irssi): an empty list, not an error
            return conn.reply(n.RPL_ENDOFBANLIST, subject, "End of channel ban list").data
        if subject.startswith("#"):
            return conn.reply(n.ERR_CHANOPRIVSNEEDED, subject, frame.message).data
        return conn.reply(n.ERR_NOPRIVILEGES, frame.message).data
    if frame.code in _PLAIN:
        return conn.reply(_PLAIN[frame.code], frame.message).data
    command = COMMAND_OF.get(re, "*")
    return conn.fail(command, frame.code.upper(), frame.message)


def _no_such_nick_in_whois(conn: IRCConnection, nick: str, message: str) -> bytes:
    """WHOIS and WHO ask messenger the same thing; each ends its own way."""
    wording = conn.last_whois
    if wording.startswith("who "):
        return conn.reply(n.RPL_ENDOFWHO, wording[4:], "End of WHO list").data
    return (
        conn.reply(n.ERR_NOSUCHNICK, nick, message).data
        + conn.reply(n.RPL_ENDOFWHOIS, nick, "End of /WHOIS list").data
    )


def _forget_expectation(conn: IRCConnection, re: str) -> None:
    """A refused request gets no answer: the wording kept for its answer goes."""
    if re == "whois":
        conn.last_whois = conn.expectation("whois", "", "whois")
    elif re == "topic":
        conn.expectation("topic", conn.subjects.get("topic", ""), "")
    elif re == "history":
        conn.expectation("history", conn.subjects.get("history", ""), "")
    elif re == "who":
        conn.expectation("users", conn.subjects.get("who", ""), "")

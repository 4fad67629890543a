"""The IRC front door's protocol, without I/O: IRC lines (message.py), names as nicks
(names.py), one connection's state machine (session.py: IRCConnection; commands.py and
modes.py map IRC commands onto messenger's requests), and server frames as IRC lines
(encode.py for frames shared by many readers, replies.py and errors.py for one reader's
numerics).  Standard library only, like the rest of the protocol package."""

from __future__ import annotations

from .encode import VARIANT_CAPS, Variant, encode_shared, variant_of
from .events import EOF, NEED_DATA, Event, Ignored, Lines, Request, SaslCheck
from .message import IRCMessage, ParseError, parse_line, serialise, split_text
from .names import from_nick, name_of_nick, to_nick
from .session import CAPS, IRCConnection

__all__ = [
    "CAPS", "EOF", "NEED_DATA", "VARIANT_CAPS", "Event", "IRCConnection", "IRCMessage", "Ignored",
    "Lines", "ParseError", "Request", "SaslCheck", "Variant", "encode_shared", "from_nick",
    "name_of_nick", "parse_line", "serialise", "split_text", "to_nick", "variant_of",
]  # fmt: skip

"""What an IRCConnection hands its transport, one event at a time (in the style of h11 and of
ServerConnection): a messenger request to act on, lines the connection answered itself, a SASL
login to check, or a line that asks for nothing.  ``charge``: whether the event costs the
connection a token of flood control; the first event of every line does, and so does each
further request a line asks for (``JOIN #a,#b`` is two joins); what the connection asks the
server on its own (the names and history after a join) does not."""

from __future__ import annotations

from dataclasses import dataclass

from ..frames import ClientFrame
from ..lines import EOF, NEED_DATA


@dataclass(frozen=True)
class Request:
    """A messenger client frame for the server's ``on_<type>`` step, as from any front door."""

    frame: ClientFrame
    charge: bool = True
    quiet: bool = False  # from a NOTICE: a refusal is not answered (IRC never answers a NOTICE)


@dataclass(frozen=True)
class Lines:
    """IRC lines (CRLF-ended bytes) for this connection only, decided without the server."""

    data: bytes
    charge: bool = True


@dataclass(frozen=True)
class SaslCheck:
    """SASL PLAIN credentials to check (the account's password, under the server's limits on
    failed logins); answer with ``IRCConnection.sasl_outcome``."""

    account: str
    password: str
    charge: bool = True


@dataclass(frozen=True)
class Ignored:
    """A line that asks for nothing (empty, a PONG, CAP END after registration)."""

    charge: bool = True


Event = Request | Lines | SaslCheck | Ignored | type(NEED_DATA) | type(EOF)

__all__ = ["EOF", "NEED_DATA", "Event", "Ignored", "Lines", "Request", "SaslCheck"]

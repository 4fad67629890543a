"""IRC readers in the ChatLog: an IRC connection's Outbox has for its mode the key of its
*variant* (``IRCMode``: the capabilities that change a shared frame's bytes, protocol/irc/
encode.py), so a broadcast is encoded once per variant present and the bytes are shared by
every reader of that variant, as JSON and text bytes are shared per ``Mode``.

- ``shared``: a broadcast's data for every IRC variant the log has seen (``ChatLog.irc_modes``),
  in an ``IRCData`` that encodes a variant it lacks the first time it is asked (a reader whose
  variant appeared while the frame was being encoded);
- ``own_copy``: the bytes of the one reader a broadcast is about, when they differ (an IRC
  sender without ``echo-message`` gets nothing back; whoever went away gets 305/306), carried by
  the log entry's ``own`` (outbox.Entry);
- ``direct``: a frame for one IRC reader, through its ``IRCConnection.send`` (numerics name
  their reader).

The IRC connection (ircport.py) sets ``outbox.irc`` (its IRCConnection) before it attaches the
outbox (every connection sets its ``member``, whose account the outlet reads for account-tag);
the key changes (``ChatLog.set_mode``) when the client changes its capabilities."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from ..protocol.frames import HistoryEnd, Message, ServerFrame
from ..protocol.irc import Variant, encode_shared
from ..protocol.irc.encode import actor_of, message_lines
from .outbox import Outbox
from .pending import ACTING

# The IRC server's name (numerics' source) and network (ISUPPORT NETWORK, members' host).
SERVER_NAME = "messenger"
NETWORK = "messenger"


@dataclass(frozen=True)
class IRCMode:
    """An IRC outbox's mode: its variant's key (hashable, and never equal to a ``Mode``)."""

    variant: Variant
    value: ClassVar[str] = "irc"  # as Mode.value names a mode in the log


class IRCData(dict[Any, bytes]):
    """An entry's bytes per mode; a missing IRC variant's bytes are encoded when first asked
    (by the Flusher), or, for a frame addressed to one reader, are that reader's bytes under
    whatever key it has now (its capabilities changed since)."""

    __slots__ = ("account", "fallback", "frame")

    def __init__(
        self,
        data: dict[Any, bytes],
        frame: ServerFrame | None,
        fallback: bytes = b"",
        account: str | None = None,
    ) -> None:
        super().__init__(data)
        self.frame = frame
        self.fallback = fallback
        self.account = account  # a message's sender's account, for account-tag

    def __missing__(self, key: Any) -> bytes:
        if isinstance(key, IRCMode) and self.frame is not None:
            data = encode_shared(self.frame, key.variant, False, NETWORK, SERVER_NAME, self.account)
        else:
            data = self.fallback
        self[key] = data
        return data


def is_irc(outbox: Outbox) -> bool:
    return isinstance(outbox.mode, IRCMode)


def account_of(frame: ServerFrame, acting: Outbox | None) -> str | None:
    """The account of a message's sender, when the connection acting now sent it (its
    ``member``, set when it opened; read under the registry's lock, as the outlet runs) or the
    message's speaker is known (pending.Acting)."""
    if not isinstance(frame, Message):
        return None
    for member in (acting.member if acting is not None else None, ACTING.speaker):
        if member is not None and member.name == frame.sender:
            return member.account  # type: ignore[no-any-return]
    return None


def shared(frame: ServerFrame, data: dict[Any, bytes], modes: Iterable[Any], account: str | None) -> IRCData:
    """``data`` (the frame's bytes per Mode) and its bytes for every IRC variant in ``modes``
    (``account``: the sender's, for account-tag)."""
    out = IRCData(data, frame, account=account)
    for mode in modes:
        if isinstance(mode, IRCMode):
            out[mode] = encode_shared(frame, mode.variant, False, NETWORK, SERVER_NAME, account)
    return out


def own_copy(
    frame: ServerFrame, data: dict[Any, bytes], outbox: Outbox | None
) -> tuple[Outbox, bytes] | None:
    """The actor's own bytes of a broadcast when its connection is an IRC one acting now (the
    sender of the message, whoever went away) and they differ from its variant's."""
    if outbox is None or not is_irc(outbox):
        return None
    actor = actor_of(frame)
    if actor is None or outbox.irc.current_name() != actor:
        return None
    mode = outbox.mode
    own = encode_shared(frame, mode.variant, True, NETWORK, SERVER_NAME, account_of(frame, outbox))
    return None if own == data[mode] else (outbox, own)


def direct(outbox: Outbox, frame: ServerFrame, account: str | None = None) -> IRCData:
    """A frame for one IRC reader (its numerics name it)."""
    data = outbox.irc.send(frame, account)
    return IRCData({outbox.mode: data}, None, data)


def raw(outbox: Outbox, data: bytes) -> IRCData:
    return IRCData({outbox.mode: data}, None, data)


def page(outbox: Outbox, messages: Sequence[Message], more: bool | None) -> IRCData:
    """The newest of ``messages`` that fit in half the reader's output limit, as IRC lines (a
    ``chathistory`` batch with ``batch``)."""
    conn = outbox.irc
    budget = outbox.limit // 2
    kept: list[Message] = []
    for message in reversed(messages):
        budget -= len(message_lines(message, outbox.mode.variant, NETWORK))
        if budget < 0:
            break
        kept.append(message)
    kept.reverse()
    end = None if more is None else HistoryEnd(count=len(kept), more=more or len(kept) < len(messages))
    return raw(outbox, conn.send_page(kept, end))

"""messenger's server frames as IRC lines.

A frame sent to many members (a message, a join, a nick change ...) is encoded by
``encode_shared`` from the frame and the reader's *variant* alone: the set of capabilities
that change its bytes (``VARIANT_CAPS``: tags, away-notify, echo-message), plus ``own``, true
for the one reader the frame is about (its sender: without echo-message it gets nothing back).
Such lines never name their reader, so the server's outlet encodes a broadcast once per variant
present among IRC readers (a handful at most: clients ask for the same caps) and shares the
bytes among every reader of that variant, as it shares JSON and text bytes per mode today; the
sender, if an IRC reader, gets its ``own`` bytes.

A frame for one member only (answers, errors, its welcome) is encoded by ``encode_direct``,
i.e. ``IRCConnection.send``: numerics name their reader, and which numerics answer a frame can
depend on the IRC command that asked (a ``users`` frame answers NAMES or WHO) — the connection
remembers that (replies.py).  Whatever the client did not ask for, it never receives: a tag
only with its cap, AWAY lines only with away-notify, batches only with batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from ..frames import (
    LOBBY,
    HistoryEnd,
    Joined,
    LeaveReason,
    Left,
    Message,
    Presence,
    Renamed,
    ServerFrame,
    Shutdown,
)
from ..moderation import AwayStatus, RoomMode, Topic
from . import numerics as n
from .message import MAX_LINE, serialise, split_text
from .names import to_nick

if TYPE_CHECKING:
    from .session import IRCConnection

Variant = frozenset[str]
VARIANT_CAPS: Variant = frozenset(
    {"message-tags", "server-time", "account-tag", "away-notify", "echo-message"}
)  # not batch: only a page of history, for one reader, is ever a batch
_ACTION = len("\x01ACTION \x01")
_QUIT_WORDS = {
    LeaveReason.QUIT.value: "Quit",
    LeaveReason.DISCONNECTED.value: "Connection closed",
    LeaveReason.TOO_SLOW.value: "Too slow: output queue full",
    LeaveReason.REPLACED.value: "Logged in from elsewhere",
}


def variant_of(caps: Iterable[str]) -> Variant:
    """The caps of ``caps`` that change how a shared frame is written."""
    return frozenset(caps) & VARIANT_CAPS


def mask(name: str, network: str) -> str:
    """A member as IRC sources name it: ``nick!~m@network`` (no address: messenger shows those
    to operators only, through WHOIS)."""
    return f"{to_nick(name)}!~m@{network}"


def _time(frame: object, variant: Variant) -> dict[str, str | None]:
    ts = getattr(frame, "ts", None)
    return {"time": ts} if ts and "server-time" in variant else {}


def message_lines(
    frame: Message,
    variant: Variant,
    network: str,
    own: bool = False,
    account: str | None = None,
    batch: str | None = None,
) -> bytes:
    """A chat message as PRIVMSG lines, cut to fit 512 bytes each with their source."""
    if own and "echo-message" not in variant and frame.to != frame.sender:
        return b""
    source = mask(frame.sender, network)
    target = to_nick(frame.to) if frame.to else (frame.room or LOBBY)
    tags = _time(frame, variant)
    if "message-tags" in variant:
        tags["msgid"] = str(frame.id)
    if account and "account-tag" in variant:
        tags["account"] = account
    if batch:
        tags["batch"] = batch
    head = len(f":{source} PRIVMSG {target} :\r\n".encode())
    budget = max(MAX_LINE - head - (_ACTION if frame.action else 0), 4)
    lines = []
    for index, piece in enumerate(split_text(frame.text, budget)):
        if index and "msgid" in tags:
            tags = {**tags, "msgid": f"{frame.id}-{index}"}
        body = f"\x01ACTION {piece}\x01" if frame.action else piece
        lines.append(serialise("PRIVMSG", target, body, source=source, tags=tags, trailing=True))
    return b"".join(lines)


def _left(frame: Left, variant: Variant, network: str, server: str) -> bytes:
    room = frame.room or LOBBY
    tags = _time(frame, variant)
    if frame.reason == LeaveReason.PART.value:
        return serialise("PART", room, source=mask(frame.user, network), tags=tags)
    if frame.reason in (LeaveReason.KICKED.value, LeaveReason.BANNED.value):
        source = mask(frame.by, network) if frame.by else server
        why = frame.message or frame.reason
        return serialise("KICK", room, to_nick(frame.user), why, source=source, tags=tags)
    words = _QUIT_WORDS.get(frame.reason, frame.reason)
    return serialise("QUIT", words, source=mask(frame.user, network), tags=tags, trailing=True)


def _presence(frame: Presence, variant: Variant, network: str, server: str) -> bytes:
    """A crowd's summary: a JOIN for each name shown as come, a PART for each gone, and a
    NOTICE counting the others, whom an IRC client cannot list."""
    room = frame.room or LOBBY
    tags = _time(frame, variant)
    lines = [serialise("JOIN", room, source=mask(name, network), tags=tags) for name in frame.joined]
    lines += [serialise("PART", room, source=mask(name, network), tags=tags) for name in frame.left]
    hidden = frame.joins - len(frame.joined) + frame.leaves - len(frame.left)
    if hidden > 0:
        text = f"{frame.joins} joined and {frame.leaves} left; {frame.count} are here now"
        lines.append(serialise("NOTICE", room, text, source=server))
    return b"".join(lines)


def modes_set(invite_only: bool, moderated: bool) -> str:
    """A channel's modes as 324 (RPL_CHANNELMODEIS) lists them: those set, "+" for none."""
    return "+" + ("i" if invite_only else "") + ("m" if moderated else "")


def mode_string(invite_only: bool, moderated: bool) -> str:
    """A change of a channel's modes, as MODE tells it: every mode, on or off."""
    on = ("i" if invite_only else "") + ("m" if moderated else "")
    off = ("" if invite_only else "i") + ("" if moderated else "m")
    return (f"+{on}" if on else "") + (f"-{off}" if off else "")


def away_own(frame: AwayStatus, server: str) -> bytes:
    """305 or 306 for the member who went away or came back."""
    me = to_nick(frame.user)
    if frame.text is None:
        return n.numeric(server, me, n.RPL_UNAWAY, "You are no longer marked as being away")
    return n.numeric(server, me, n.RPL_NOWAWAY, "You have been marked as being away")


def encode_shared(
    frame: ServerFrame,
    variant: Variant,
    own: bool = False,
    network: str = "messenger",
    server: str = "messenger",
    account: str | None = None,
) -> bytes:
    """A frame for many readers, for every reader of ``variant`` (``own``: the reader the frame
    is about).  Frames only ever sent to one member give ``b""`` here (see encode_direct)."""
    if isinstance(frame, Message):
        return message_lines(frame, variant, network, own, account)
    if isinstance(frame, Joined):
        return serialise(
            "JOIN", frame.room or LOBBY, source=mask(frame.user, network), tags=_time(frame, variant)
        )
    if isinstance(frame, Left):
        return _left(frame, variant, network, server)
    if isinstance(frame, Renamed):
        return serialise(
            "NICK", to_nick(frame.new), source=mask(frame.old, network), tags=_time(frame, variant)
        )
    if isinstance(frame, Presence):
        return _presence(frame, variant, network, server)
    if isinstance(frame, Topic):
        source = mask(frame.by, network) if frame.by else server
        return serialise("TOPIC", frame.room, frame.text, source=source, trailing=True)
    if isinstance(frame, RoomMode):
        source = mask(frame.by, network) if frame.by else server
        return serialise("MODE", frame.room, mode_string(frame.invite_only, frame.moderated), source=source)
    if isinstance(frame, AwayStatus):
        if own:
            return away_own(frame, server)
        if "away-notify" not in variant:
            return b""
        params = () if frame.text is None else (frame.text,)
        return serialise("AWAY", *params, source=mask(frame.user, network), trailing=True)
    if isinstance(frame, Shutdown):
        return serialise("ERROR", frame.message)
    return b""


def encode_direct(frame: ServerFrame, conn: IRCConnection, account: str | None = None) -> bytes:
    """A frame for ``conn`` alone (``account``: a message's sender's, for ``account-tag``)."""
    from .replies import direct_reply  # the answers' wording, which needs the connection

    answer = direct_reply(frame, conn)
    if answer is not None:
        return answer
    variant = variant_of(conn.caps)
    own = actor_of(frame) == conn.current_name()
    return encode_shared(frame, variant, own, conn.network, conn.server, account)


def actor_of(frame: ServerFrame) -> str | None:
    """The member whose own copy of a shared frame differs (``own``): a message's sender (who
    gets it back only with echo-message), whoever went away (305/306 instead of AWAY).  The
    outlet gives that member's connection, if IRC, the ``own`` bytes."""
    if isinstance(frame, Message):
        return frame.sender
    if isinstance(frame, AwayStatus):
        return frame.user
    return None


def encode_page(messages: Sequence[Message], end: HistoryEnd | None, conn: IRCConnection) -> bytes:
    """A page of history, oldest first: ``server-time`` tags say when each was said, and with
    ``batch`` the page is one ``chathistory`` batch (which the client can show apart)."""
    room = conn.subjects.get("history", LOBBY)
    asked = conn.expectation("history", room, "join") == "chathistory"
    if not messages and not asked:
        return b""  # nothing to replay on joining: say nothing
    variant = variant_of(conn.caps)
    batch = f"history{messages[0].id if messages else 0}" if "batch" in conn.caps else None
    body = b"".join(message_lines(m, variant, conn.network, batch=batch) for m in messages)
    if batch is None:
        return body
    start = serialise("BATCH", f"+{batch}", "chathistory", room, source=conn.server)
    return start + body + serialise("BATCH", f"-{batch}", source=conn.server)

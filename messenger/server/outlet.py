"""The server's side of the core's events (core/events.py), for every front door that writes
through the ChatLog (TCP lines, WebSocket): each frame encoded once per format and appended.

A member's ``link`` is its connection's Outbox, whose mode (JSON, text, or web: JSON in
WebSocket frames) says which bytes it takes.  A frame for everyone is encoded once in each mode
that readers have, and shared by all recipients; a frame for one member only in that member's mode.  Text
mode is the one format that depends on the reader: a chat message from a room that is not the
reader's current one starts with the room's name, so such recipients (``aside``) get their own
text bytes.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from ..core.members import Member
from ..protocol.codec import encode
from ..protocol.frames import LOBBY, HistoryEnd, Message, Mode, ServerFrame
from ..protocol.textmode import encode_text
from ..protocol.websocket import text_frame
from . import ircout
from .counters import READ_TIME
from .delivery import ChatLog, Pending
from .outbox import Outbox
from .pending import ACTING


def encode_as(mode: Mode, frame: ServerFrame, aside: bool = False) -> bytes:
    """``frame`` in the bytes of ``mode``; ``aside``: the reader's current room is another one
    than the frame's (text mode then names the room)."""
    if mode is Mode.JSON:
        return encode(frame)
    if mode is Mode.WEB:
        return text_frame(encode(frame)[:-1])  # the JSON line, without its end, as one message
    if aside:
        return encode_text(frame, current_room="")  # "" matches no room: the name is shown
    room = (frame.room or LOBBY) if isinstance(frame, Message) else LOBBY
    return encode_text(frame, current_room=room)


class FrameBytes(dict[Any, bytes]):
    """A frame for many, in the bytes of each Mode its readers have now (``modes``: read when
    the frame is made, under the registry's lock, before any later reader could join); a Mode
    missing all the same is encoded when the Flusher first asks for it."""

    __slots__ = ("aside", "frame")

    def __init__(self, frame: ServerFrame, aside: bool, modes: Iterable[Mode]) -> None:
        super().__init__()
        self.frame, self.aside = frame, aside
        line = None
        for mode in modes:
            if mode is Mode.TEXT:
                self[mode] = encode_as(mode, frame, aside)
            else:  # JSON and the web page's frame of it: one JSON line for both
                line = line or encode(frame)
                self[mode] = line if mode is Mode.JSON else text_frame(line[:-1])

    def __missing__(self, mode: Any) -> bytes:
        if not isinstance(mode, Mode):
            # An IRC variant's key: with an IRC reader connected the outlet makes IRCData, so
            # this frame was made when none was, and no IRC reader is a member for it.  A round's
            # window may still reach back to it (outbox.in_mode): nothing, as in a plain dict.
            return b""
        data = self[mode] = encode_as(mode, self.frame, self.aside)
        return data


class LogBatch:
    """A Batch (core/events.py) over one Pending of the ChatLog.

    An operation that sends a chat message (a ``say``: one message, in one or two entries) is
    marked once in its commit with when the reader thread read it (``READ_TIME``), for the
    metrics; the core knows nothing of it."""

    __slots__ = ("_messages", "_out")

    def __init__(self, out: Pending) -> None:
        self._out = out
        self._messages: set[int] | None = None  # the ids of the chat messages this batch carries

    def send(self, frame: ServerFrame, to: Iterable[Member] | None = None, aside: bool = False) -> None:
        message = type(frame) is Message
        if message:
            if self._messages is None:  # (most batches carry none: no set made for them)
                self._messages = {frame.id}  # type: ignore[union-attr]
            else:
                self._messages.add(frame.id)  # type: ignore[union-attr]
        if to is None:
            self._append(frame, FrameBytes(frame, aside, self._out.modes), None, message)
            return
        outboxes: list[Outbox] = [member.link for member in to]
        if len(outboxes) == 1:
            mode = outboxes[0].mode
            if isinstance(mode, Mode):
                self._out.append({mode: encode_as(mode, frame, aside)}, outboxes, message=message)
            else:
                account = ircout.account_of(frame, ACTING.outbox)
                self._out.append(ircout.direct(outboxes[0], frame, account), outboxes, message=message)
        elif outboxes:
            self._append(frame, FrameBytes(frame, aside, self._out.modes), outboxes, message)

    def _append(self, frame: ServerFrame, data: dict, outboxes: list[Outbox] | None, message: bool) -> None:
        """A frame for many: with IRC readers about, its bytes for each IRC variant too (once
        each), and the acting IRC reader's own copy when it differs (ircout.py)."""
        modes = self._out.irc_modes
        if not modes:
            self._out.append(data, outboxes, message=message)
            return
        data = ircout.shared(frame, data, modes, ircout.account_of(frame, ACTING.outbox))
        self._out.append(data, outboxes, ircout.own_copy(frame, data, ACTING.outbox), message)

    def page(self, member: Member, messages: Sequence[Message], more: bool | None) -> None:
        """The newest of ``messages`` that fit in half the member's output limit, oldest first
        (a page larger than that could get a reader cut off as too slow by its own request)."""
        outbox: Outbox = member.link
        if not isinstance(outbox.mode, Mode):
            self._out.append(ircout.page(outbox, messages, more), [outbox])
            return
        budget = outbox.limit // 2
        lines: list[bytes] = []
        for message in reversed(messages):
            line = encode_as(outbox.mode, message)
            budget -= len(line)
            if budget < 0:
                break
            lines.append(line)
        lines.reverse()
        if more is not None:
            end = HistoryEnd(count=len(lines), more=more or len(lines) < len(messages))
            lines.append(encode_as(outbox.mode, end))
        if lines:
            self._out.append({outbox.mode: b"".join(lines)}, [outbox])

    def admit(self, member: Member) -> None:
        self._out.join(member.link)

    def dismiss(self, member: Member) -> None:
        self._out.leave(member.link)

    def close(self, member: Member) -> None:
        self._out.close(member.link)

    def commit(self) -> None:
        if self._messages:
            count, self._messages = len(self._messages), None
            self._out.message(READ_TIME.at or time.monotonic(), count)  # not read from a socket: now
        self._out.commit()


class LogOutlet:
    """The Outlet (core/events.py) of a ChatLog: the registry's events become log entries."""

    def __init__(self, chat_log: ChatLog) -> None:
        self.chat_log = chat_log

    def batch(self) -> LogBatch:
        return LogBatch(self.chat_log.pending())

"""What one typed or piped line does: ``submit_line`` reads it as the text protocol does (a
message or a ``/command``, by the one command table in protocol/textmode.py) and sends it over
a ChatLink, answering with an ``Outcome``."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ..protocol.frames import (
    Bye,
    ClientFrame,
    FrameError,
    Join,
    Say,
)
from ..protocol.names import BadRoom, normalize_room
from ..protocol.textmode import in_room, parse_text_command
from .session import ChatLink


class Outcome(Enum):
    """What became of one line typed or piped in."""

    SENT = "sent"
    SKIPPED = "skipped"  # blank
    HELP = "help"
    QUIT = "quit"
    INVALID = "invalid"  # a command the client refused; ``message`` says why
    OFFLINE = "offline"  # no connection right now; nothing was sent


@dataclass(frozen=True)
class LineResult:
    outcome: Outcome
    message: str = ""


def submit_line(link: ChatLink, line: str, literal: bool = False, to: str | None = None) -> LineResult:
    """Send one line as the text protocol reads it (a message, or a ``/command``); with
    ``literal`` every line is a plain message (private to ``to`` if given), however it starts."""
    if not line.strip():
        return LineResult(Outcome.SKIPPED)
    if literal:
        frame: ClientFrame | None = Say(text=line, to=to)
    else:
        try:
            command = parse_text_command(line)
        except FrameError as exc:
            return LineResult(Outcome.INVALID, exc.message)
        if command.help:
            return LineResult(Outcome.HELP)
        if isinstance(command.frame, Bye):
            return LineResult(Outcome.QUIT)
        frame = command.frame
    if frame is None:
        return LineResult(Outcome.SKIPPED)
    frame = in_room(frame, link.current_room)
    if isinstance(frame, Join):
        try:
            room = normalize_room(frame.room)
        except BadRoom as exc:
            return LineResult(Outcome.INVALID, f"bad room name: {exc}")
        if not link.send(frame):
            return LineResult(Outcome.OFFLINE)
        link.switch_to(room)
        return LineResult(Outcome.SENT)
    return LineResult(Outcome.SENT if link.send(frame) else Outcome.OFFLINE)

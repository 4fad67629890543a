"""Text mode: the wording of server frames for people (and nc), and the slash commands.

This module owns what a text-mode connection reads (``text_line``, ``encode_text``,
``encode_for``) and the one table of slash commands, ``TEXT_COMMANDS``, from which the command
parser (``parse_text_command``), the ``/help`` text (``TEXT_HELP``) and the terminal client's
completion list (``COMMAND_NAMES``) are all generated: adding a slash command is one entry in
that table.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass, replace

from .codec import encode
from .frames import (
    LOBBY,
    MAX_INT,
    Bye,
    ClientFrame,
    Error,
    ErrorCode,
    FrameError,
    HistoryEnd,
    HistoryRequest,
    Join,
    Joined,
    LeaveReason,
    Left,
    Me,
    Message,
    Mode,
    Nick,
    Part,
    Ping,
    Pong,
    Renamed,
    RoomList,
    Rooms,
    Say,
    ServerFrame,
    Shutdown,
    Users,
    Welcome,
    Who,
    room_of,
)
from .names import for_terminal

# --------------------------------------------------------------------------------------------
# Wording
# --------------------------------------------------------------------------------------------

_LEFT_REASONS = {
    LeaveReason.QUIT.value: "",
    LeaveReason.DISCONNECTED.value: "",
    LeaveReason.PART.value: "",
    LeaveReason.TOO_SLOW.value: " (too slow)",
    LeaveReason.REPLACED.value: " (replaced)",
}


def text_line(frame: ServerFrame, current_room: str = LOBBY) -> str:
    """The text-mode wording of a server frame, without line end (the seed's lines where the
    seed has them).  A message from a room other than the reader's ``current_room`` starts
    with that room's name: ``[#ops] alice: hi``.  Everything in it that a user chose (text,
    names, rooms, echoed input) is passed through ``for_terminal``: nc shows it raw."""
    return for_terminal(_wording(frame, current_room))


def _wording(frame: ServerFrame, current_room: str) -> str:
    if isinstance(frame, Message):
        mark = "[history] " if frame.history else ""
        if frame.to is None and room_of(frame) != current_room:
            mark += f"[{room_of(frame)}] "
        if frame.to is not None:
            body = f"* {frame.sender} {frame.text}" if frame.action else f"{frame.sender}: {frame.text}"
            return f"{mark}[private to {frame.to}] {body}"
        if frame.action:
            return f"{mark}* {frame.sender} {frame.text}"
        return f"{mark}{frame.sender}: {frame.text}"
    if isinstance(frame, Joined):
        where = "the chat!" if frame.room is None else frame.room
        return f"{frame.user} has joined {where}"
    if isinstance(frame, Left):
        suffix = _LEFT_REASONS.get(frame.reason, f" ({frame.reason})")
        where = "the chat!" if frame.room is None else frame.room
        return f"{frame.user} has left {where}{suffix}"
    if isinstance(frame, Welcome):
        count = len(frame.users)
        people = "person" if count == 1 else "people"
        return (
            f"Welcome, {frame.user}! {count} {people} online: {', '.join(frame.users)}. "
            "Type /help for commands."
        )
    if isinstance(frame, Users):
        where = "" if frame.room is None else f" in {frame.room}"
        return f"Online{where} ({len(frame.users)}): {', '.join(frame.users)}"
    if isinstance(frame, RoomList):
        return "Rooms: " + ", ".join(f"{info.room} ({info.users})" for info in frame.rooms)
    if isinstance(frame, Renamed):
        return f"{frame.old} is now known as {frame.new}"
    if isinstance(frame, Pong):
        return "pong" if frame.token is None else f"pong {frame.token}"
    if isinstance(frame, Error):
        return f"error: {frame.message}"
    if isinstance(frame, HistoryEnd):
        more = "; ask for more with /history N" if frame.more else ""
        return f"End of history ({frame.count} message{'' if frame.count == 1 else 's'}{more})."
    if isinstance(frame, Shutdown):
        return frame.message or Shutdown.message
    raise TypeError(f"no text wording for {type(frame).__name__}")


def encode_text(frame: ServerFrame, current_room: str = LOBBY) -> bytes:
    """One text-mode line: the wording of ``text_line`` in UTF-8, ended by ``\\n``."""
    return text_line(frame, current_room).encode("utf-8") + b"\n"


def encode_for(mode: Mode, frame: ServerFrame) -> bytes:
    """The bytes of ``frame`` for a connection in ``mode``."""
    return encode(frame) if mode is Mode.JSON else encode_text(frame)


@dataclass(frozen=True)
class TextCommand:
    """A parsed text-mode line: the client frame it stands for, or a local action."""

    frame: ClientFrame | None = None
    help: bool = False


def in_room(frame: ClientFrame, room: str) -> ClientFrame:
    """A typed line is about the typist's current ``room``: messages, actions, ``/history`` and a
    bare ``/part``.  Lobby frames carry no room, like those of a client that knows nothing of
    rooms (and are returned as they are: the common case costs nothing)."""
    if room == LOBBY and not isinstance(frame, Part):
        return frame
    if isinstance(frame, Say) and frame.to is None and frame.room is None:
        return replace(frame, room=room)
    if isinstance(frame, (Me, HistoryRequest)) and frame.room is None:
        return replace(frame, room=room)
    if isinstance(frame, Part) and not frame.room:
        return replace(frame, room=room)
    return frame


# --------------------------------------------------------------------------------------------
# Slash commands: one table makes the parser, /help and the client's completion
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlashCommand:
    """One row of TEXT_COMMANDS: a slash command, how /help shows it, and how it is parsed.

    ``parse`` gets the rest of the line after the command, stripped, and returns the command, or
    None when the rest does not fit ``args`` (answered ``usage: /NAME ARGS``, with ``re`` naming
    the request, the command's name when unset).  A row without ``parse`` only shows another
    form of a command in /help (the row that parses it comes earlier)."""

    name: str
    args: str = ""
    summary: str = ""
    parse: Callable[[str], TextCommand | None] | None = None
    re: str | None = None

    @property
    def usage(self) -> str:
        return f"/{self.name} {self.args}".rstrip()

    @property
    def help_item(self) -> str:
        return f"{self.usage} ({self.summary})" if self.summary else self.usage


def _msg(rest: str) -> TextCommand | None:
    name, _, text = rest.partition(" ")
    if not name or not text.strip():
        return None
    return TextCommand(Say(text=text, to=name))


def _history(rest: str) -> TextCommand | None:
    # Digits are counted before int(): Python refuses to convert more than 4300 of them.
    number = rest.isascii() and rest.isdigit() and len(rest) <= len(str(MAX_INT))
    if rest and not (number and int(rest) <= MAX_INT):
        return None
    return TextCommand(HistoryRequest(limit=int(rest) if rest else None))


# In the order /help lists them.  A new slash command is one row here (and, if it needs a new
# frame type, that frame in frames.py and codec.py).
TEXT_COMMANDS: tuple[SlashCommand, ...] = (
    SlashCommand("who", "", "who is online", lambda rest: TextCommand(Who(room=rest or None))),
    SlashCommand("msg", "NAME TEXT", "private message", _msg, re="say"),
    SlashCommand("me", "TEXT", "action", lambda rest: TextCommand(Me(text=rest)) if rest else None),
    SlashCommand("nick", "NAME", "change name", lambda rest: TextCommand(Nick(user=rest)) if rest else None),
    SlashCommand(
        "join",
        "#ROOM",
        "join a room, or switch to it",
        lambda rest: TextCommand(Join(room=rest)) if rest else None,
    ),
    # A bare /part (room ""): the current room.
    SlashCommand("part", "[#ROOM]", "leave a room", lambda rest: TextCommand(Part(room=rest))),
    SlashCommand("rooms", "", "list rooms", lambda rest: TextCommand(Rooms())),
    SlashCommand("who", "[#ROOM]"),  # parsed by the first /who row
    SlashCommand("history", "[N]", "earlier messages", _history),
    SlashCommand("ping", "", "check the server answers", lambda rest: TextCommand(Ping(token=rest or None))),
    SlashCommand("quit", "", "leave", lambda rest: TextCommand(Bye())),
    SlashCommand("help", "", "this text", lambda rest: TextCommand(help=True)),
)


def _parsers(commands: tuple[SlashCommand, ...]) -> dict[str, SlashCommand]:
    """The row that parses each command name; two parsing rows for one name are a mistake."""
    table: dict[str, SlashCommand] = {}
    for command in commands:
        if command.parse is not None:
            if command.name in table:
                raise ValueError(f"/{command.name} has two rows that parse it")
            table[command.name] = command
    return table


_PARSERS = _parsers(TEXT_COMMANDS)

# The answer to /help, wrapped to lines of at most 88 characters.
TEXT_HELP: tuple[str, ...] = tuple(
    textwrap.wrap(
        "Commands: "
        + ", ".join(command.help_item for command in TEXT_COMMANDS)
        + ". Lines go to the room joined last. Start a message with // to send a line that begins with /.",
        width=88,
        break_long_words=False,
        break_on_hyphens=False,
    )
)

# What the terminal client completes at the start of a line.
COMMAND_NAMES: tuple[str, ...] = tuple(sorted({f"/{command.name}" for command in TEXT_COMMANDS}))


def parse_text_command(line: str) -> TextCommand:
    """Turn a logged-in text-mode line into a frame.  Raises FrameError for bad commands."""
    if not line.startswith("/") or line.startswith("//"):
        return TextCommand(Say(text=line[1:] if line.startswith("//") else line))
    name, _, rest = line[1:].partition(" ")
    name = name.lower()
    command = _PARSERS.get(name)
    if command is None or command.parse is None:
        raise FrameError(ErrorCode.UNKNOWN_COMMAND, f"unknown command /{name}; type /help for commands")
    parsed = command.parse(rest.strip())
    if parsed is None:
        raise FrameError(ErrorCode.BAD_FRAME, f"usage: {command.usage}", command.re or command.name)
    return parsed

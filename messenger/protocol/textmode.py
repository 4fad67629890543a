"""Text mode: the wording of server frames for people (and nc), and the slash commands.

This module owns what a text-mode connection reads (``text_line``, ``encode_text``,
``encode_for``) and the one table of slash commands, ``TEXT_COMMANDS``, from which the command
parser (``parse_text_command``), the ``/help`` text (``TEXT_HELP``) and the terminal client's
completion list (``COMMAND_NAMES``) are all generated: adding a slash command is one entry in
that table.
"""

from __future__ import annotations

import textwrap
from dataclasses import replace

from .frames import (
    LOBBY,
    MAX_INT,
    Bye,
    ClientFrame,
    ErrorCode,
    FrameError,
    HistoryRequest,
    Join,
    Me,
    Nick,
    Part,
    Ping,
    Rooms,
    Say,
    Who,
)
from .moderation import Allow, Disallow, ModeRequest, TopicRequest
from .moderation_commands import MODERATION_COMMANDS, PRESENCE_COMMANDS
from .slash import SlashCommand, TextCommand
from .wording import encode_for, encode_text, text_line  # noqa: F401  (re-exported)


def in_room(frame: ClientFrame, room: str) -> ClientFrame:
    """A typed line is about the typist's current ``room``: messages, actions, ``/history`` and a
    bare ``/part`` (a private message or action is about no room).  Lobby frames carry no room,
    like those of a client that knows nothing of rooms (and are returned as they are: the common
    case costs nothing)."""
    if room == LOBBY and not isinstance(frame, Part):
        return frame
    if isinstance(frame, Say) and frame.to is None and frame.room is None:
        return replace(frame, room=room)
    if isinstance(frame, Me) and frame.to is None and frame.room is None:
        return replace(frame, room=room)
    if isinstance(frame, HistoryRequest) and frame.room is None:
        return replace(frame, room=room)
    if isinstance(frame, Part) and not frame.room:
        return replace(frame, room=room)
    if isinstance(frame, (TopicRequest, ModeRequest, Allow, Disallow)) and frame.room is None:
        return replace(frame, room=room)
    return frame


# --------------------------------------------------------------------------------------------
# Slash commands: one table makes the parser, /help and the client's completion
# --------------------------------------------------------------------------------------------


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


# In the order /help lists them.  A new slash command is one row of one of these (and, if it
# needs a new request, that frame's dataclass in frames.py or moderation.py, listed in
# frames.CLIENT_FRAMES).
CHAT_COMMANDS: tuple[SlashCommand, ...] = (
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
# The one table: the parser, /help and the terminal's completion are all made from it.
TEXT_COMMANDS = CHAT_COMMANDS + PRESENCE_COMMANDS + MODERATION_COMMANDS


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


def _help_paragraph(title: str, commands: tuple[SlashCommand, ...], tail: str = "") -> list[str]:
    """One paragraph of /help, wrapped to lines of at most 88 characters."""
    text = f"{title}: " + ", ".join(command.help_item for command in commands) + "." + tail
    return textwrap.wrap(text, width=88, break_long_words=False, break_on_hyphens=False)


# The answer to /help.
TEXT_HELP: tuple[str, ...] = (
    *_help_paragraph(
        "Commands",
        CHAT_COMMANDS,
        " Lines go to the room joined last. Start a message with // to send a line that begins with /.",
    ),
    *_help_paragraph("Also", PRESENCE_COMMANDS),
    *_help_paragraph("Operators", MODERATION_COMMANDS),
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

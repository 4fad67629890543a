"""Turning server frames into Rich ``Text`` for a terminal or a pipe: the one place that decides
how chat looks.

User text is always wrapped in ``Text`` (never parsed as markup) and sanitised again here, so a
hostile or buggy server still cannot write escape sequences or markup to the terminal.
Consoles built by ``make_console`` print plain text, without escape codes, when their file is
not a terminal.
"""

from __future__ import annotations

import os
import zlib
from typing import IO

from rich.console import Console
from rich.text import Text

from .protocol import (
    Error,
    Joined,
    Left,
    Message,
    Pong,
    Renamed,
    ServerFrame,
    Shutdown,
    Users,
    Welcome,
    name_key,
    sanitize_text,
)

# Colours that read well on both dark and light backgrounds; red is kept for errors.
NAME_COLOURS = (
    "cyan",
    "green",
    "yellow",
    "blue",
    "magenta",
    "bright_cyan",
    "bright_green",
    "bright_magenta",
    "dark_orange",
    "orchid",
    "turquoise2",
    "gold3",
)
NOTICE_STYLE = "dim italic"
PRIVATE_STYLE = "bold magenta"
ERROR_STYLE = "bold red"

_LEFT_REASONS = {"too_slow": "too slow", "replaced": "replaced by a new login"}


def make_console(file: IO[str], color: str = "auto") -> Console:
    """A console for chat output: colours on a terminal only (``color`` auto/always/never,
    and NO_COLOR honoured), no wrapping of long lines, no highlighting of user text."""
    no_color = color == "never" or (color == "auto" and "NO_COLOR" in os.environ)
    force = True if color == "always" else None
    return Console(
        file=file,
        force_terminal=force,
        no_color=no_color,
        highlight=False,
        emoji=False,
        markup=False,
        soft_wrap=True,
    )


def name_style(name: str) -> str:
    """The colour of a username: the same name gets the same colour in every session."""
    index = zlib.crc32(name_key(name).encode("utf-8")) % len(NAME_COLOURS)
    return f"bold {NAME_COLOURS[index]}"


def _name(name: str) -> Text:
    return Text(sanitize_text(name), style=name_style(name))


def _notice(*parts: str | Text) -> Text:
    text = Text(style=NOTICE_STYLE)
    for part in parts:
        text.append(part)
    return text


def render_frame(frame: ServerFrame, me: str | None = None) -> Text | None:
    """The line to show for ``frame``, or None for frames that show nothing."""
    if isinstance(frame, Message):
        return render_message(frame, me)
    if isinstance(frame, Joined):
        return _notice(_name(frame.user), " has joined the chat!")
    if isinstance(frame, Left):
        reason = _LEFT_REASONS.get(frame.reason)
        return _notice(_name(frame.user), " has left the chat!", f" ({reason})" if reason else "")
    if isinstance(frame, Renamed):
        return _notice(_name(frame.old), " is now known as ", _name(frame.new))
    if isinstance(frame, (Users, Welcome)):
        return render_users(frame.users)
    if isinstance(frame, Error):
        return Text(f"error: {sanitize_text(frame.message)}", style=ERROR_STYLE)
    if isinstance(frame, Shutdown):
        return _notice(sanitize_text(frame.message) or "The server is shutting down.")
    if isinstance(frame, Pong):
        return _notice("pong" if frame.token is None else f"pong {sanitize_text(str(frame.token))}")
    return None


def render_message(frame: Message, me: str | None = None) -> Text:
    """A chat line: ``alice: hi``, ``* alice waves``, private ones marked ``[private to bob]``."""
    line = Text()
    if frame.history:
        line.append("[history] ", style=NOTICE_STYLE)
    if frame.to is not None:
        line.append(f"[private to {sanitize_text(frame.to)}] ", style=PRIVATE_STYLE)
    body = sanitize_text(frame.text)
    if frame.action:
        line.append("* ", style="italic")
        line.append(_name(frame.sender))
        line.append(" " + body, style="italic")
    else:
        line.append(_name(frame.sender))
        line.append(": " + body)
    if me is not None and frame.sender != me and name_key(me) in name_key(body):
        line.stylize("reverse", len(line) - len(body))
    return line


def render_users(users: tuple[str, ...]) -> Text:
    line = Text(f"Online ({len(users)}): ", style=NOTICE_STYLE)
    for index, user in enumerate(users):
        if index:
            line.append(", ", style=NOTICE_STYLE)
        line.append(_name(user))
    return line

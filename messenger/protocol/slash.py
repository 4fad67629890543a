"""What a slash command is: a TextCommand (what a typed line stands for) and a SlashCommand (one
row of the command table in textmode.py: how it is parsed and how /help shows it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .frames import ClientFrame
from .quick import quick_init


@quick_init
@dataclass(frozen=True)
class TextCommand:
    """A parsed text-mode line: the client frame it stands for, or a local action."""

    frame: ClientFrame | None = None
    help: bool = False


# How a row reads the rest of a typed line: the command, or None for "usage: ...".
Parser = Callable[[str], "TextCommand | None"]


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
    parse: Parser | None = None
    re: str | None = None

    @property
    def usage(self) -> str:
        return f"/{self.name} {self.args}".rstrip()

    @property
    def help_item(self) -> str:
        return f"{self.usage} ({self.summary})" if self.summary else self.usage

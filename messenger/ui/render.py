"""Turning server frames into Rich renderables for a terminal or a pipe: the one place that decides
how chat looks.

Everything a server sends is wrapped in ``Text`` (never parsed as markup) and passed through
``for_terminal`` here, so a hostile or buggy server still cannot write escape sequences, markup,
or invisible characters that reorder a line (U+202E) to the terminal.
Consoles built by ``make_console`` print plain text, without escape codes, when their file is
not a terminal.  Each line is a ``ChatLine``: a prefix (time, name) and a body.  On a terminal a
long body wraps under itself, measured in terminal cells so wide characters and emoji line up;
in a pipe every frame stays one line.
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import IO, TYPE_CHECKING

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

if TYPE_CHECKING:
    from ..client import Incoming

from ..protocol.frames import (
    LOBBY,
    Error,
    HistoryEnd,
    Joined,
    LeaveReason,
    Left,
    Message,
    Pong,
    Presence,
    Renamed,
    RoomList,
    ServerFrame,
    Shutdown,
    Users,
    Welcome,
    room_of,
)
from ..protocol.moderation import MODERATION_ANSWERS
from ..protocol.names import comparison_form, for_terminal, name_key
from ..protocol.wording import text_line

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
TIME_STYLE = "dim"
ROOM_STYLE = "bold blue"
OWN_NAME_STYLE = "underline"  # added to the name's colour on your own messages
MENTION_STYLE = "bold reverse"  # the body of a message that mentions you

# Narrower than this, a hanging indent would leave a ribbon of text: wrap the whole line instead.
MIN_BODY_WIDTH = 16

# Frames shown in text mode's words (protocol/wording.py), which already pass through for_terminal.
_WORDED = frozenset((*MODERATION_ANSWERS, Presence))  # shown in text mode's wording

_LEFT_REASONS = {
    LeaveReason.TOO_SLOW.value: "too slow",
    LeaveReason.REPLACED.value: "replaced by a new login",
}


class ChatConsole(Console):
    """A Console that reports a closed output (``| head``) as BrokenPipeError for its caller to
    handle; Rich's default raises SystemExit, which would silently end the printing thread."""

    def on_broken_pipe(self) -> None:
        self.quiet = True  # nothing more to write
        raise BrokenPipeError("the output was closed")


def make_console(file: IO[str], color: str = "auto", wrap: bool = False) -> Console:
    """A console for chat output: colours on a terminal only (``color`` auto/always/never,
    and NO_COLOR honoured), no highlighting of user text.  ``wrap`` lets long lines wrap under
    their message (for a terminal); otherwise every line is printed whole."""
    no_color = color == "never" or (color == "auto" and "NO_COLOR" in os.environ)
    force = True if color == "always" else None
    return ChatConsole(
        file=file,
        force_terminal=force,
        no_color=no_color,
        highlight=False,
        emoji=False,
        markup=False,
        soft_wrap=not wrap,
    )


def name_style(name: str) -> str:
    """The colour of a username: the same name gets the same colour in every session."""
    index = zlib.crc32(name_key(name).encode("utf-8")) % len(NAME_COLOURS)
    return f"bold {NAME_COLOURS[index]}"


def mentions(text: str, name: str) -> bool:
    """Whether ``text`` names ``name`` as a word (``@alice``, ``Alice:``, not ``malice``)."""
    key = name_key(name)
    if not key:
        return False
    pattern = rf"(?<![\w-]){re.escape(key)}(?![\w-])"
    return re.search(pattern, comparison_form(text)) is not None  # not name_key: it caches


def local_time(ts: str | None, tz: tzinfo | None = None, now: datetime | None = None) -> str:
    """``HH:MM`` in local time (or ``tz``) of a frame's ISO 8601 ``ts``, with the date in front
    (``Nov 24 21:50``) when it is not today, as for replayed history; now when there is none."""
    current = (now or datetime.now(timezone.utc)).astimezone(tz)
    moment = None
    if ts:
        try:
            moment = datetime.fromisoformat(ts.replace("Z", "+00:00"))
        except ValueError:
            moment = None
    try:
        # A server's ts at the edge of the calendar ("0001-01-01T00:00+14:00") has no local time.
        moment = moment.astimezone(tz) if moment is not None and moment.tzinfo is not None else None
    except OverflowError:
        moment = None
    if moment is None:
        return current.strftime("%H:%M")
    return moment.strftime("%H:%M" if moment.date() == current.date() else "%b %d %H:%M")


@dataclass(frozen=True)
class ChatLine:
    """One rendered frame: ``prefix`` (time and name) then ``body``.

    ``mention`` says the line names the reader; ``from_other`` that it is someone else's chat
    message (for the terminal bell).  Rendered with wrapping, continuation lines are indented
    by the prefix's width in cells.
    """

    prefix: Text
    body: Text
    mention: bool = False
    from_other: bool = False

    @property
    def text(self) -> Text:
        """The whole line as one Text."""
        return Text.assemble(self.prefix, self.body)

    @property
    def plain(self) -> str:
        return self.text.plain

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        indent = self.prefix.cell_len
        if options.no_wrap or options.max_width - indent < MIN_BODY_WIDTH:
            yield self.text
            return
        body_lines = self.body.wrap(console, options.max_width - indent, overflow="fold")
        wrapped = Text(no_wrap=True, end="\n")
        for index, line in enumerate(body_lines):
            wrapped.append_text(self.prefix if index == 0 else Text("\n" + " " * indent))
            line.rstrip()
            wrapped.append_text(line)
        yield wrapped


@dataclass
class Renderer:
    """Frames → ChatLines for one reader: ``me`` is the reader's name (own messages and mentions),
    ``timestamps`` adds ``HH:MM`` in ``tz`` (default: local time)."""

    me: str | None = None
    timestamps: bool = False
    tz: tzinfo | None = None
    now: datetime | None = None  # fixed "now" (tests); otherwise the clock
    room: Callable[[], str] | None = None  # the reader's current room; messages from others are marked

    def render(self, frame: ServerFrame) -> ChatLine | None:
        """The line to show for ``frame``, or None for frames that show nothing."""
        ts = getattr(frame, "ts", None)
        if isinstance(frame, Message):
            return self.message(frame)
        body: Text | None = None
        if isinstance(frame, Joined):
            where = "the chat!" if frame.room is None else for_terminal(frame.room)
            body = _notice(_name(frame.user), f" has joined {where}")
        elif isinstance(frame, Left) and frame.by is not None:  # kicked or banned: who did it
            body = _notice(text_line(frame))
        elif isinstance(frame, Left):
            reason = _LEFT_REASONS.get(frame.reason)
            where = "the chat!" if frame.room is None else for_terminal(frame.room)
            body = _notice(_name(frame.user), f" has left {where}", f" ({reason})" if reason else "")
        elif isinstance(frame, Renamed):
            body = _notice(_name(frame.old), " is now known as ", _name(frame.new))
        elif isinstance(frame, Welcome):
            body = render_users(frame.users, total=frame.count)
            if frame.topic:  # the lobby's, on a line of its own (as text mode words it)
                body.append_text(_notice("\n" + text_line(frame).split("\n", 1)[1]))
        elif isinstance(frame, Users):
            body = render_users(frame.users, frame.room)
        elif isinstance(frame, RoomList):
            body = _notice(text_line(frame))  # topics included
        elif isinstance(frame, Error):
            body = Text(f"error: {for_terminal(frame.message)}", style=ERROR_STYLE)
        elif isinstance(frame, Shutdown):
            body = _notice(for_terminal(frame.message) or "The server is shutting down.")
        elif isinstance(frame, HistoryEnd):
            more = "; /history N for more" if frame.more else ""
            plural = "" if frame.count == 1 else "s"
            body = _notice(f"End of history ({frame.count} message{plural}{more})")
        elif isinstance(frame, Pong):
            body = _notice("pong" if frame.token is None else f"pong {for_terminal(str(frame.token))}")
        elif type(frame) in _WORDED:
            body = _notice(text_line(frame))  # moderation and presence: text mode's wording
        if body is None:
            return None
        return ChatLine(self._time(ts), body)

    def message(self, frame: Message) -> ChatLine:
        """A chat line: ``alice: hi``, ``* alice waves``, private ones ``[private] alice → bob: hi``."""
        own = self.is_me(frame.sender)
        prefix = self._time(frame.ts)
        if frame.history:
            prefix.append("[history] ", style=NOTICE_STYLE)
        if frame.to is not None:
            prefix.append("[private] ", style=PRIVATE_STYLE)
        elif room_of(frame) != (self.room() if self.room is not None else LOBBY):
            prefix.append(f"[{for_terminal(room_of(frame))}] ", style=ROOM_STYLE)
        sender = _name(frame.sender, own)
        if frame.to is not None:
            sender.append(" → ", style=PRIVATE_STYLE)
            sender.append_text(_name(frame.to, self.is_me(frame.to)))
        if frame.action:
            prefix.append("* ", style="italic")
            prefix.append_text(sender)
            prefix.append(" ")
            body = Text(for_terminal(frame.text), style="italic")
        else:
            prefix.append_text(sender)
            prefix.append(": ")
            body = Text(for_terminal(frame.text))
        # A private message to you counts as a mention, as in IRC clients.
        mention = not own and self.me is not None
        mention = mention and (frame.to is not None or mentions(frame.text, self.me or ""))
        if mention:
            body.stylize(MENTION_STYLE)
        return ChatLine(prefix, body, mention=mention, from_other=not own and not frame.history)

    def is_me(self, name: str) -> bool:
        return self.me is not None and name_key(name) == name_key(self.me)

    def _time(self, ts: str | None) -> Text:
        if not self.timestamps:
            return Text()
        stamp = Text()
        stamp.append(local_time(ts, self.tz, self.now), style=TIME_STYLE)
        stamp.append(" ")
        return stamp


def render_users(users: tuple[str, ...], room: str | None = None, total: int | None = None) -> Text:
    """``Online (3): a, b, c``; with ``total`` (a crowd's welcome): ``Online (250): a, b and 248 more``."""
    where = "" if room is None else f" in {for_terminal(room)}"
    total = len(users) if total is None else total
    line = Text(f"Online{where} ({total}): ", style=NOTICE_STYLE)
    for index, user in enumerate(users):
        if index:
            line.append(", ", style=NOTICE_STYLE)
        line.append_text(_name(user))
    if total > len(users):
        line.append(f" and {total - len(users)} more", style=NOTICE_STYLE)
    return line


def render_prompt(name: str | None, online: bool, room: str = LOBBY) -> Text:
    """The input line's prompt: ``alice #lobby> `` (where typed lines go), with ``(offline)`` in
    front while reconnecting."""
    prompt = Text()
    if not online:
        prompt.append("(offline) ", style=ERROR_STYLE)
    if name:
        prompt.append_text(_name(name))
        prompt.append(" ")
    prompt.append(for_terminal(room), style=ROOM_STYLE)
    prompt.append("> ")
    return prompt


def _name(name: str, own: bool = False) -> Text:
    style = name_style(name) + (f" {OWN_NAME_STYLE}" if own else "")
    return Text(for_terminal(name), style=style)


def _notice(*parts: str | Text) -> Text:
    text = Text(style=NOTICE_STYLE)
    for part in parts:
        if isinstance(part, Text):
            text.append_text(part)
        else:
            text.append(part)
    return text


class ConsoleView:
    """The part every view shares: program notices and errors on the ``err`` console, and a hook
    for the line editor to redraw its prompt when the link goes online or offline."""

    def __init__(self, err: Console) -> None:
        self.err = err
        self.on_status: Callable[[], None] | None = None

    def show(self, incoming: Incoming) -> None:
        """Only errors, on ``err`` (what ``messenger send`` shows)."""
        if isinstance(incoming.frame, Error):
            self.error(incoming.frame.message)

    def notice(self, message: str) -> None:
        self.err.print(Text(for_terminal(message), style=NOTICE_STYLE))

    def error(self, message: str) -> None:
        self.err.print(Text(f"error: {for_terminal(message)}", style=ERROR_STYLE))

    def status_changed(self) -> None:
        if self.on_status is not None:
            self.on_status()


class ChatView(ConsoleView):
    """Shows a link's frames on consoles: chat on ``out``, errors and program notices on ``err``,
    and rings the terminal bell per ``bell`` (off, mention, all)."""

    def __init__(self, out: Console, err: Console, renderer: Renderer, bell: str = "mention") -> None:
        super().__init__(err)
        self.out = out
        self.renderer = renderer
        self.bell = bell

    def show(self, incoming: Incoming) -> None:
        frame = incoming.frame
        if frame is None:
            return
        if isinstance(frame, Welcome):
            self.renderer.me = frame.user
        elif isinstance(frame, Renamed) and self.renderer.is_me(frame.old):
            self.renderer.me = frame.new
        line = self.renderer.render(frame)
        if line is None:
            return
        console = self.err if isinstance(frame, Error) else self.out
        console.print(line)
        if self._rings(line):
            self.out.bell()

    def _rings(self, line: ChatLine) -> bool:
        if not self.out.is_terminal or not line.from_other:
            return False
        return self.bell == "all" or (self.bell == "mention" and line.mention)


class JsonView(ConsoleView):
    """``--json``: every line from the server printed as it came, one JSON object per line on
    ``out``; errors also as an ``error:`` line on ``err``, notices on ``err``."""

    def __init__(self, out: IO[str], err: Console) -> None:
        super().__init__(err)
        self.out = out

    def show(self, incoming: Incoming) -> None:
        self.out.write(incoming.line + "\n")
        self.out.flush()
        super().show(incoming)

"""ServerConnection: the protocol state machine of one client connection, without I/O.

Bytes go in with ``receive_data``; ``next_event`` hands out what each line asks for, in the
style of h11: a ``Request`` (a client frame the server must act on), a ``Reply`` (a frame for
this connection only, decided here: errors, ``pong``), ``RawText`` (lines worded for a person:
``/help``), ``Ignored`` (a line that asks for nothing), and ``NEED_DATA`` / ``EOF`` as the
LineDecoder gives them.  Every complete line gives exactly one event, so a transport can count
lines against flood control by counting events.

The connection owns what the protocol says about one connection: its mode (fixed by the first
line), whether it is logged in, the text-mode password prompt, the parsing of JSON frames and
text commands, the ``not_logged_in`` gate, ``/help`` and the errors for lines that are too long,
not UTF-8, or blank.  What needs the server's state comes in through two callbacks
(``expects_password``, ``current_room``) and two calls telling it a login's outcome
(``accept_login``, ``ask_password``).  Whoever drives it (server/handler.py for TCP) does the
I/O, the flood control and the ``on_<type>`` steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from .codec import parse_client_frame
from .frames import (
    LOBBY,
    Bye,
    ClientFrame,
    Command,
    Error,
    ErrorCode,
    FrameError,
    Hello,
    Me,
    Mode,
    Ping,
    Pong,
    Say,
    ServerFrame,
    detect_mode,
)
from .lines import EOF, NEED_DATA, BadEncoding, Line, LineDecoder, LineEvent, LineTooLong
from .moderation import Notice
from .moderation import Reply as PrivateReply
from .names import is_blank, sanitize_text
from .quick import quick_init
from .textmode import TEXT_HELP, in_room, parse_text_command

# The requests the connection answers itself: they never reach the server's ``on_<type>`` steps.
ANSWERED_HERE = frozenset({Ping.TYPE, Command.TYPE})  # a command becomes another request

# The answer to /help, as text-mode lines.
_HELP_TEXT = "".join(f"{line}\n" for line in TEXT_HELP)


@quick_init
@dataclass(frozen=True)
class Request:
    """A client frame the server must act on (its ``on_<type>`` step)."""

    frame: ClientFrame


@dataclass(frozen=True)
class Reply:
    """A server frame for this connection only, to be sent in its mode."""

    frame: ServerFrame


@dataclass(frozen=True)
class RawText:
    """Complete lines (each ended by ``\\n``) worded for a person, sent as they are: text mode's
    ``/help`` and password prompt."""

    text: str


@dataclass(frozen=True)
class Ignored:
    """A line that asks for nothing (a blank message in text mode)."""


Answer = Reply | RawText
Event = Request | Reply | RawText | Ignored | type(NEED_DATA)


class ServerConnection:
    """One connection's protocol state: lines in, requests and answers out.

    ``expects_password(name)``: whether a login as ``name`` needs a password (text mode reads
    ``NAME PASSWORD`` as a name and its password only then; otherwise the whole line is the
    name).  ``current_room()``: the room a text-mode line is about (the one joined last); it is
    asked for on every logged-in text line, as the core may change it (``/part``).
    """

    def __init__(
        self,
        max_line: int,
        expects_password: Callable[[str], bool] = lambda name: False,
        current_room: Callable[[], str] = lambda: LOBBY,
        mode: Mode | None = None,
    ) -> None:
        self.decoder = LineDecoder(max_line)
        # Fixed by the first line, whatever it holds; or from the start by the transport (a
        # WebSocket speaks JSON only).
        self.mode: Mode | None = mode
        self.logged_in = False
        self.awaiting_password: str | None = None  # text mode: the name whose password comes next
        self._expects_password = expects_password
        self._current_room = current_room

    def receive_data(self, data: bytes) -> None:
        """Bytes from the peer; ``b""`` means it closed."""
        self.decoder.receive_data(data)

    def next_event(self) -> Event:
        """What the next complete line asks for, or NEED_DATA, or EOF."""
        event = self.decoder.next_event()
        if event is NEED_DATA or event is EOF:
            return event
        return self._line_event(event)

    def message_event(self, data: bytes, too_long: bool = False) -> Event:
        """What one whole message asks for, from a transport that frames messages itself (a
        WebSocket message is one line): the same checks as a line, the same limit (``too_long``:
        the transport already dropped what passed it)."""
        if too_long or len(data) + 1 > self.decoder.max_line:  # counted with a line end
            return self._line_event(LineTooLong(data[:1]))
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return self._line_event(BadEncoding(data[:1]))
        return self._line_event(Line(text, data[:1]))

    # -- the server tells the connection how a login went -------------------------------------

    def accept_login(self) -> None:
        """The server logged this connection in."""
        self.logged_in = True
        self.awaiting_password = None

    def ask_password(self, name: str, why: str) -> Answer:
        """A login as ``name`` needs a password (``why`` says so): what to send.  Text mode asks
        for it on the next line; JSON mode answers ``password_required``."""
        if self.mode is Mode.TEXT:
            self.awaiting_password = name
            return RawText(f"{why}; type it on the next line (it is shown as you type):\n")
        return Reply(Error(code=ErrorCode.PASSWORD_REQUIRED.value, message=why, re="hello"))

    # -- lines --------------------------------------------------------------------------------

    def _line_event(self, event: LineEvent) -> Event:
        assert isinstance(event, (Line, LineTooLong, BadEncoding))
        if self.mode is None:
            self.mode = detect_mode(event.first_byte)
        if isinstance(event, LineTooLong):
            message = f"line longer than {self.decoder.max_line} bytes; it was discarded"
            return _error(ErrorCode.TOO_LONG, message)
        if isinstance(event, BadEncoding):
            return _error(ErrorCode.BAD_ENCODING, "line is not valid UTF-8; it was discarded")
        try:
            if self.mode is Mode.JSON:
                return self._request(parse_client_frame(event.text))
            return self._text_line(event.text)
        except FrameError as exc:
            return Reply(exc.to_frame())

    def _text_line(self, text: str) -> Event:
        if not self.logged_in:
            return self._request(self._text_hello(text))
        command = parse_text_command(text)
        if command.help:
            return RawText(_HELP_TEXT)
        assert command.frame is not None
        # Text mode has a current room (the one joined last): lines go there.
        return self._request(in_room(command.frame, self._current_room()))

    def _text_hello(self, text: str) -> Hello:
        """A text line before login: the password awaited, ``NAME PASSWORD`` where a password is
        expected, or else the whole line as the name (so "bob smith" is refused as a bad name)."""
        if self.awaiting_password is not None:
            name, self.awaiting_password = self.awaiting_password, None
            return Hello(user=name, password=text)
        name, _, password = text.strip().partition(" ")
        if password.strip() and self._expects_password(name):
            return Hello(user=name, password=password.strip())
        return Hello(user=text)

    def _request(self, frame: ClientFrame) -> Event:
        """A parsed frame through the checks that need no server state: the login gate, blank
        messages (text mode ignores them; JSON mode answers, so a client awaiting its echo is
        not left waiting), ``ping``."""
        if not self.logged_in and not isinstance(frame, (Hello, Bye)):
            return _error(ErrorCode.NOT_LOGGED_IN, "log in first with a 'hello' frame", frame.TYPE)
        if isinstance(frame, (Say, Me, PrivateReply)):
            text = sanitize_text(frame.text)
            if is_blank(text):
                if self.mode is Mode.JSON:
                    return _error(ErrorCode.EMPTY, "empty message not sent", frame.TYPE)
                return Ignored()
            if text != frame.text:
                frame = replace(frame, text=text)
        elif isinstance(frame, Ping):
            return Reply(Pong(token=frame.token))
        elif isinstance(frame, Command):
            return self._command(frame)
        return Request(frame)

    def _command(self, frame: Command) -> Event:
        """A ``command`` frame: its line read as text mode reads it, about its room."""
        command = parse_text_command(frame.text)
        if command.help:
            return Reply(Notice(text="\n".join(TEXT_HELP), re="command"))
        assert command.frame is not None
        return self._request(in_room(command.frame, frame.room or LOBBY))


def _error(code: ErrorCode, message: str, re: str | None = None) -> Reply:
    return Reply(Error(code=code.value, message=message, re=re))

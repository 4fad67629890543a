"""IRCConnection: one IRC client's protocol state, without I/O.

Bytes go in with ``receive_data``; ``next_event`` hands out, one at a time, what the lines ask
for (events.py): a ``Request`` carrying a messenger client frame (``Hello``, ``Say``, ``Join``,
``Kick`` ...) for the server's existing ``on_<type>`` steps, so limits, accounts and moderation
serve IRC users with the same code as everyone else; ``Lines`` the connection answers by itself
(PONG, CAP, numerics for unknown or malformed commands: never a disconnect); a ``SaslCheck``;
``Ignored``; and ``NEED_DATA`` / ``EOF``.

Registration (CAP LS/REQ/END, PASS, NICK, USER, AUTHENTICATE) is kept here, and its end is one
``Hello``: the nick as a messenger name (names.py), the server password from PASS or the
account SASL PLAIN proved (without its password: the transport checked it once, for the
SaslCheck, and remembers the account it proved).  The server tells the connection how it went, as it
tells a ServerConnection: ``accept_login``, ``ask_password``; SASL's check with
``sasl_outcome``.  What needs the server's state comes through callbacks: ``name()`` (the
member's name now: the core may rename it), ``rooms()`` (the rooms it is in) and
``room_exists(room)`` (someone is in it: IRC answers a channel that does not exist 403).

The transport must act on each request before asking for the next event: what follows a join
or a login (the room's names, its history) is decided then, by looking at ``rooms()``.

Frames the server sends this connection alone are turned into lines by ``send`` (numerics name
their reader); frames for many by ``encode.encode_shared``, once per variant (encode.py).

Threads: one thread at a time drives a connection (``receive_data``, ``next_event``, acting on
the events); it owns every field.  ``send`` may run in another thread (an operator's kick, a
private message), under the registry's lock: it reads ``caps`` (a frozenset, replaced whole),
``logged_in`` and the ``name()`` callback.  What it also changes — ``expected`` (popped) and
``last_whois`` — it changes only for answers to this connection's own requests, which the
server builds while the driving thread acts on them, so no lock is needed.
"""

from __future__ import annotations

import binascii
from base64 import b64decode
from collections import deque
from collections.abc import Callable, Sequence

from ..connection import Reply as FrameReply
from ..frames import (
    LOBBY,
    Error,
    ErrorCode,
    Hello,
    HistoryEnd,
    HistoryRequest,
    Message,
    ServerFrame,
    TopicRequest,
    Who,
)
from ..lines import EOF, NEED_DATA, BadEncoding, Line, LineDecoder, LineTooLong
from . import commands
from . import numerics as n
from .encode import encode_direct, encode_page
from .events import Event, Ignored, Lines, Request, SaslCheck
from .message import MAX_INPUT, IRCMessage, ParseError, parse_line, serialise
from .names import name_of_nick, to_nick

# The capabilities offered, and the value CAP LS 302 shows with each.
CAPS: dict[str, str] = {
    "message-tags": "",
    "server-time": "",
    "echo-message": "",
    "sasl": "PLAIN",
    "account-tag": "",
    "away-notify": "",
    "batch": "",
    "draft/chathistory": "",
}
_SASL_CHUNK = 400
_SASL_MAX = 3 * _SASL_CHUNK  # authzid, authcid and a password of a few hundred bytes
_BEFORE_REGISTRATION = frozenset({"CAP", "PASS", "NICK", "USER", "AUTHENTICATE", "PING", "PONG", "QUIT"})


class IRCConnection:
    """One IRC connection's protocol state: lines in, requests and answers out.

    ``server``: the name numerics come from; ``network``: ISUPPORT's NETWORK and the host shown
    for members; ``history``: how many past messages a join replays (to clients that asked for
    ``server-time``, which can show when they were said); ``motd``: the message of the day;
    ``password_needed``: the server asks every login for a password (``--password`` or
    ``--auth required``), so a login without one is answered 464, not 433.
    """

    def __init__(
        self,
        server: str = "messenger",
        network: str = "messenger",
        *,
        history: int = 0,
        motd: str | None = None,
        password_needed: bool = False,
        name: Callable[[], str | None] = lambda: None,
        rooms: Callable[[], Sequence[str]] = lambda: (LOBBY,),
        room_exists: Callable[[str], bool] = lambda room: True,
    ) -> None:
        self.decoder = LineDecoder(MAX_INPUT)
        self.server, self.network, self.history = server, network, history
        self.motd, self.password_needed = motd, password_needed
        self._name, self._rooms, self._room_exists = name, rooms, room_exists
        self.caps: frozenset[str] = frozenset()  # replaced whole, never changed in place
        self.logged_in = False
        self.login_name: str | None = None  # the name the last Hello asked for
        self.password: str | None = None  # PASS
        self.user_given = False
        self.cap_hold = False  # CAP LS or REQ before registration: wait for CAP END
        self.account: str | None = None  # proved by SASL
        self._sasl: str | None = None  # None, "plain" (reading its payload) or "checking"
        self._sasl_data = ""
        self._queue: deque[Event] = deque()
        self._after: tuple[str, str] | None = None  # what the last request handed out was
        self.subjects: dict[str, str] = {}  # request type -> the nick or channel it named
        self.expected: dict[str, deque[str]] = {}  # answer key -> how to word it (replies.py)
        self.last_whois = "whois"  # how the last refused whois was asked (errors.py)
        self.quiet = False  # the request being acted on came from a NOTICE (errors.py)

    # -- bytes in, events out -------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Bytes from the peer; ``b""`` means it closed."""
        self.decoder.receive_data(data)

    def next_event(self) -> Event:
        """The next thing to act on, or NEED_DATA, or EOF."""
        self.quiet = False
        self._settle()
        while not self._queue:
            event = self.decoder.next_event()
            if event is NEED_DATA or event is EOF:
                return event
            self._queue.extend(self._line_events(event))
        event = self._queue.popleft()
        if isinstance(event, Request):
            self._note_handed_out(event)
        return event

    def _line_events(self, event: object) -> list[Event]:
        if isinstance(event, LineTooLong):
            return [self.reply(n.ERR_INPUTTOOLONG, "Input line was too long")]
        if isinstance(event, BadEncoding):
            return [Lines(self.fail("*", "INVALID_UTF8", "lines must be UTF-8; this one was not"))]
        assert isinstance(event, Line)
        parsed = parse_line(event.text.encode("utf-8"))
        if isinstance(parsed, ParseError):
            return [self._parse_error(parsed)]
        events = self._command(parsed)
        if not events:
            return [Ignored()]
        # The first event of a line is charged, and each further request; answers are not.
        return [events[0], *(_uncharged(e) if isinstance(e, Lines) else e for e in events[1:])]

    def _parse_error(self, error: ParseError) -> Event:
        if error.kind == "too_long":
            return self.reply(n.ERR_INPUTTOOLONG, "Input line was too long")
        if error.kind == "encoding":
            return Lines(self.fail(error.command, "INVALID_UTF8", "lines must be UTF-8; this one was not"))
        if error.kind == "empty":
            return Ignored()  # RFC 1459: empty lines are silently ignored
        return Lines(self.fail(error.command, "INVALID_MESSAGE", error.reason))

    def _command(self, message: IRCMessage) -> list[Event]:
        if self.logged_in:
            return commands.handle(self, message)
        if message.command not in _BEFORE_REGISTRATION:
            if message.command.isdigit() or message.command in commands.KNOWN:
                return [self.reply(n.ERR_NOTREGISTERED, "You have not registered")]
            return [self.reply(n.ERR_UNKNOWNCOMMAND, message.command, "Unknown command")]
        return self._registration(message)

    # -- registration ---------------------------------------------------------------------------

    def _registration(self, message: IRCMessage) -> list[Event]:
        command = message.command
        if command == "PASS":
            if not message.params or not message.params[0]:
                return [self.reply(n.ERR_NEEDMOREPARAMS, "PASS", "Not enough parameters")]
            self.password = message.params[0]
            return []
        if command == "NICK":
            return self._nick(message)
        if command == "USER":
            if len(message.params) < 4 or not all(message.params[:4]):  # an empty real name too
                return [self.reply(n.ERR_NEEDMOREPARAMS, "USER", "Not enough parameters")]
            self.user_given = True
            return self._try_register()
        if command == "AUTHENTICATE":
            return self._authenticate(message)
        return commands.handle(self, message)  # CAP, PING, PONG, QUIT: the same at any time

    def _nick(self, message: IRCMessage) -> list[Event]:
        if not message.params or not message.params[0]:
            return [self.reply(n.ERR_NONICKNAMEGIVEN, "No nickname given")]
        name = name_of_nick(message.params[0])
        if not isinstance(name, str):
            return [self.reply(n.ERR_ERRONEUSNICKNAME, message.params[0][:64], f"Erroneous nickname: {name}")]
        self.login_name = name
        return self._try_register()

    def _try_register(self) -> list[Event]:
        """The Hello that ends registration, once nothing holds it back any more."""
        ready = self.login_name is not None and self.user_given and not self.cap_hold
        if not ready or self._sasl == "checking" or self._after is not None or self.logged_in:
            return []
        assert self.login_name is not None
        presence = True if "away-notify" in self.caps else None
        if self.account is not None:  # the transport checked its password (SaslCheck)
            hello = Hello(user=self.login_name, history=0, account=self.account, presence=presence)
        else:
            hello = Hello(user=self.login_name, history=0, password=self.password, presence=presence)
        self.subjects["hello"] = to_nick(self.login_name)
        return [Request(hello)]

    def cap_end(self) -> list[Event]:
        self.cap_hold = False
        return self._try_register()

    def _authenticate(self, message: IRCMessage) -> list[Event]:
        if not message.params or not message.params[0]:
            return [self.reply(n.ERR_NEEDMOREPARAMS, "AUTHENTICATE", "Not enough parameters")]
        data = message.params[0]
        if self.account is not None:
            return [self.reply(n.ERR_SASLALREADY, "You have already authenticated using SASL")]
        if data == "*":
            self._sasl, self._sasl_data = None, ""
            return [self.reply(n.ERR_SASLABORTED, "SASL authentication aborted")]
        if self._sasl is None:
            if data.upper() != "PLAIN":
                return [
                    self.reply(n.RPL_SASLMECHS, "PLAIN", "are available SASL mechanisms"),
                    self._sasl_fail(),
                ]
            self._sasl = "plain"
            return [Lines(serialise("AUTHENTICATE", "+"))]
        if self._sasl == "checking":
            return []
        if len(data) > _SASL_CHUNK:  # one line too long: 905; the whole too long: it failed
            self._sasl, self._sasl_data = None, ""
            return [self.reply(n.ERR_SASLTOOLONG, "SASL message too long")]
        if len(self._sasl_data) + len(data) > _SASL_MAX:
            self._sasl_data = ""
            return [self._sasl_fail()]
        if data != "+":
            self._sasl_data += data
        if len(data) == _SASL_CHUNK:
            return []  # more to come
        return self._sasl_plain()

    def _sasl_plain(self) -> list[Event]:
        payload, self._sasl_data = self._sasl_data, ""
        try:
            fields = b64decode(payload, validate=True).decode("utf-8").split("\0")
        except (binascii.Error, ValueError):
            return [self._sasl_fail()]
        if len(fields) != 3 or not fields[1] or (fields[0] and fields[0] != fields[1]):
            return [self._sasl_fail()]
        self._sasl = "checking"
        return [SaslCheck(account=fields[1], password=fields[2])]

    def _sasl_fail(self) -> Lines:
        self._sasl = None
        return self.reply(n.ERR_SASLFAIL, "SASL authentication failed")

    # -- the server tells the connection how things went ---------------------------------------

    def sasl_outcome(self, account: str | None) -> Lines:
        """The transport checked a SaslCheck: ``account`` as registered, or None (refused).
        Returns what to send; the login follows when registration ends."""
        if account is None:
            return self._sasl_fail()
        self._sasl, self.account = None, account
        mask = f"{to_nick(self.login_name) if self.login_name else '*'}!~m@{self.network}"
        lines = self.reply(n.RPL_LOGGEDIN, mask, to_nick(account), f"You are now logged in as {account}")
        self._queue.extend(self._try_register())
        return Lines(lines.data + self.reply(n.RPL_SASLSUCCESS, "SASL authentication successful").data)

    def accept_login(self) -> None:
        """The server logged this connection in (its welcome is on the way)."""
        self.logged_in = True
        self.password = None

    def ask_password(self, name: str, why: str) -> FrameReply:
        """A login as ``name`` needs a password: the error to send (worded by ``send``)."""
        return FrameReply(Error(code=ErrorCode.PASSWORD_REQUIRED.value, message=why, re="hello"))

    # -- what follows a request -----------------------------------------------------------------

    def _note_handed_out(self, event: Request) -> None:
        self.quiet = event.quiet
        frame = event.frame
        kind = getattr(frame, "TYPE", "")
        if kind == "hello":
            self._after = ("hello", "")
        elif kind == "join":
            self._after = ("join", getattr(frame, "room", ""))

    def _settle(self) -> None:
        """After the transport acted on a hello or a join: the room's names and history follow a
        join that worked; a login that did not can be tried again with another NICK or PASS."""
        if self._after is None:
            return
        kind, room = self._after
        self._after = None
        if kind == "hello" and self.logged_in:
            follow = [TopicRequest(room=LOBBY), *self._entering(LOBBY)]
            self.expect("topic", LOBBY, "join")
        elif kind == "join" and room in self._rooms():
            follow = self._entering(room)
        else:
            return
        self._queue.extendleft(reversed([Request(frame, charge=False) for frame in follow]))

    def _entering(self, room: str) -> list[Who | HistoryRequest]:
        self.expect("users", room, "names")
        follow: list[Who | HistoryRequest] = [Who(room=room)]
        if self.history > 0 and "server-time" in self.caps:
            self.subjects["history"] = room
            follow.append(HistoryRequest(limit=self.history, room=room))
        return follow

    def expect(self, kind: str, about: str, wording: str) -> None:
        """The next answer of ``kind`` about ``about`` answers an IRC command that words it
        ``wording`` (a ``users`` answer is NAMES or WHO)."""
        self.expected.setdefault(f"{kind} {about}", deque()).append(wording)

    def expectation(self, kind: str, about: str, default: str) -> str:
        """How to word the answer of ``kind`` about ``about`` (and forget it: a client that
        names a million rooms keeps no entry for any of them)."""
        key = f"{kind} {about}"
        waiting = self.expected.get(key)
        if not waiting:
            return default
        wording = waiting.popleft()
        if not waiting:
            del self.expected[key]
        return wording

    # -- lines out ------------------------------------------------------------------------------

    @property
    def me(self) -> str:
        """The reader's nick, as numerics name it: ``*`` before registration."""
        if not self.logged_in:
            return "*"
        name = self.current_name()
        return to_nick(name) if name else "*"

    def current_name(self) -> str | None:
        """The member's messenger name now (None before the login)."""
        if not self.logged_in:
            return None
        return self._name() or self.login_name

    def rooms(self) -> Sequence[str]:
        return self._rooms()

    def no_such_channel(self, room: str) -> bool:
        """Whether ``room`` is neither one of the member's nor one that exists (IRC's 403)."""
        return room not in self._rooms() and not self._room_exists(room)

    def reply(self, code: str, *params: str) -> Lines:
        return Lines(n.numeric(self.server, self.me, code, *params))

    def fail(self, command: str, code: str, text: str, *context: str) -> bytes:
        """A standard reply (IRCv3 ``FAIL``) for what no numeric names."""
        words = [n.as_word(word) for word in context]
        return serialise("FAIL", command, code, *words, text, source=self.server)

    def send(self, frame: ServerFrame, account: str | None = None) -> bytes:
        """A frame for this connection alone, in IRC lines (numerics name their reader);
        ``account``: the account of a message's sender, for ``account-tag``."""
        return encode_direct(frame, self, account)

    def send_page(self, messages: Sequence[Message], end: HistoryEnd | None) -> bytes:
        """A page of history: in a ``chathistory`` batch when the client asked for ``batch``."""
        return encode_page(messages, end, self)


def _uncharged(lines: Lines) -> Lines:
    return Lines(lines.data, charge=False)

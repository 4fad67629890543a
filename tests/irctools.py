"""Driving an IRCConnection without sockets: bytes in, and for each request the part of the
server the connection talks to, played by a small table (who is online, which rooms a member
is in, which SASL passwords are right).  The server's real steps are tested over loopback
once the IRC port exists; here each decision of the state machine is pinned down."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from messenger.protocol.frames import LOBBY, ClientFrame, Error, Hello, Join, Part, Ping, Pong, ServerFrame
from messenger.protocol.irc import EOF, NEED_DATA, IRCConnection, Lines, Request, SaslCheck
from messenger.protocol.irc.events import Event
from messenger.protocol.irc.message import IRCMessage, parse_line

ACCOUNTS = {"alice": "wonderland"}


@dataclass
class Door:
    """One IRC connection and the server state it asks about."""

    taken: set[str] = field(default_factory=set)
    history: int = 0
    motd: str | None = None
    password_needed: bool = False
    name: str | None = None
    rooms: list[str] = field(default_factory=lambda: [LOBBY])
    requests: list[ClientFrame] = field(default_factory=list)
    out: bytearray = field(default_factory=bytearray)
    on_request: Callable[[Door, ClientFrame], None] | None = None
    proved: str | None = None  # the account a SASL check proved

    def __post_init__(self) -> None:
        self.conn = IRCConnection(
            "irc.test",
            "TestNet",
            history=self.history,
            motd=self.motd,
            password_needed=self.password_needed,
            name=lambda: self.name,
            rooms=lambda: tuple(self.rooms),
        )

    def feed(self, data: bytes) -> list[Event]:
        """Feed ``data`` and act on every event as a transport does, in order; returns them."""
        self.conn.receive_data(data)
        events: list[Event] = []
        while True:
            event = self.conn.next_event()
            if event is NEED_DATA or event is EOF:
                return events
            events.append(event)
            self._act(event)

    def _act(self, event: Event) -> None:
        if isinstance(event, Lines):
            self.out += event.data
        elif isinstance(event, SaslCheck):
            right = ACCOUNTS.get(event.account) == event.password
            self.proved = event.account if right else self.proved  # as the IRC port keeps it
            self.out += self.conn.sasl_outcome(event.account if right else None).data
        elif isinstance(event, Request) and isinstance(event.frame, Ping):
            self.out += self.conn.send(Pong(token=event.frame.token))  # as the IRC port answers it
        elif isinstance(event, Request):
            self.requests.append(event.frame)
            self.serve(event.frame)

    def serve(self, frame: ClientFrame) -> None:
        """What the server does with a request, as far as these tests need."""
        if self.on_request is not None:
            self.on_request(self, frame)
        elif isinstance(frame, Hello):
            self.login(frame)
        elif isinstance(frame, Join):
            self.rooms.append(frame.room)
        elif isinstance(frame, Part):
            self.rooms.remove(frame.room)

    def login(self, frame: Hello) -> None:
        if frame.user.lower() in self.taken:
            self.send(Error(code="name_taken", message=f"the name {frame.user} is taken", re="hello"))
        elif frame.account is not None and frame.account != self.proved:
            self.send(Error(code="bad_password", message="wrong password", re="hello"))
        elif self.password_needed and frame.password != "sesame":
            self.send(self.conn.ask_password(frame.user, "this server needs a password").frame)
        else:
            self.name = frame.user
            self.conn.accept_login()

    def send(self, frame: ServerFrame) -> None:
        self.out += self.conn.send(frame)

    def take(self) -> list[IRCMessage]:
        """The lines sent so far, parsed (each must parse), and forgotten."""
        lines = bytes(self.out).split(b"\r\n")
        assert lines[-1] == b""
        self.out.clear()
        parsed = [parse_line(line) for line in lines[:-1]]
        assert all(isinstance(p, IRCMessage) for p in parsed), parsed
        return parsed  # type: ignore[return-value]

    def numerics(self) -> list[str]:
        return [m.command for m in self.take()]


def registered(**kwargs: object) -> Door:
    """A door whose client registered as alice without CAP; its output is cleared."""
    door = Door(**kwargs)  # type: ignore[arg-type]
    door.feed(b"NICK alice\r\nUSER a 0 * :Alice\r\n")
    assert door.conn.logged_in
    door.requests.clear()
    door.out.clear()
    return door

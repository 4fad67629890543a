"""IRC connections in front of the real core (a Registry), without sockets: the glue a
transport will be, reduced to what tests need, and an Outlet that encodes each frame for IRC
readers once per variant (and once more for the ``own`` reader), sharing the bytes, as the
server's outlet will.  It counts its encodings, so a test can check the sharing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from messenger.core.members import Answered, Member, NameTaken
from messenger.core.registry import Registry
from messenger.protocol.frames import (
    Away,
    Bye,
    ClientFrame,
    Error,
    FrameError,
    Hello,
    HistoryEnd,
    Join,
    LeaveReason,
    Me,
    Message,
    Part,
    Say,
    ServerFrame,
    TopicRequest,
    Who,
)
from messenger.protocol.irc import EOF, NEED_DATA, IRCConnection, Lines, Request, encode_shared, variant_of
from messenger.protocol.irc.encode import actor_of


class Link:
    """One IRC reader as the outlet sees it: its connection and the bytes it was sent."""

    def __init__(self, conn: IRCConnection) -> None:
        self.conn = conn
        self.out = bytearray()


class IRCBatch:
    def __init__(self, outlet: IRCOutlet) -> None:
        self.outlet = outlet

    def send(self, frame: ServerFrame, to: Iterable[Member] | None = None, aside: bool = False) -> None:
        links = list(self.outlet.admitted) if to is None else [m.link for m in to]
        if to is not None and len(links) == 1:
            self.outlet.encodings["direct"] += 1
            links[0].out += links[0].conn.send(frame)
            return
        shared: dict[tuple[frozenset[str], bool], bytes] = {}
        actor = actor_of(frame)
        for link in links:
            key = (variant_of(link.conn.caps), link.conn.current_name() == actor)
            if key not in shared:
                self.outlet.encodings["shared"] += 1
                shared[key] = encode_shared(frame, key[0], key[1], link.conn.network, link.conn.server)
            link.out += shared[key]

    def page(self, member: Member, messages: Sequence[Message], more: bool | None) -> None:
        end = None if more is None else HistoryEnd(count=len(messages), more=more)
        member.link.out += member.link.conn.send_page(messages, end)

    def admit(self, member: Member) -> None:
        self.outlet.admitted.append(member.link)

    def dismiss(self, member: Member) -> None:
        self.outlet.admitted.remove(member.link)

    def close(self, member: Member) -> None:
        pass

    def commit(self) -> None:
        pass


class IRCOutlet:
    def __init__(self) -> None:
        self.admitted: list[Link] = []
        self.encodings: Counter[str] = Counter()

    def batch(self) -> IRCBatch:
        return IRCBatch(self)


class Client:
    """One IRC client of a Registry: feed it lines, read what it was sent."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.member = Member(link=None)
        conn = IRCConnection(
            "irc.test", "TestNet", name=lambda: self.member.name, rooms=lambda: tuple(self.member.rooms)
        )
        self.member.link = Link(conn)
        self.conn = conn

    def feed(self, data: bytes) -> None:
        self.conn.receive_data(data)
        while (event := self.conn.next_event()) not in (NEED_DATA, EOF):
            if isinstance(event, Lines):
                self.member.link.out += event.data
            elif isinstance(event, Request):
                self._dispatch(event.frame)

    def _dispatch(self, frame: ClientFrame) -> None:
        try:
            self._step(frame)
        except Answered:
            pass
        except FrameError as exc:
            self.member.link.out += self.conn.send(exc.to_frame())
        except NameTaken:
            self.member.link.out += self.conn.send(Error(code="name_taken", message="taken", re="hello"))

    def _step(self, frame: ClientFrame) -> None:
        registry, member = self.registry, self.member
        if isinstance(frame, Hello):
            registry.join(member, frame.user)
            self.conn.accept_login()
        elif isinstance(frame, (Say, Me)):
            to = frame.to if isinstance(frame, Say) else None
            registry.say(member, frame.text, to=to, action=isinstance(frame, Me), room=frame.room)
        elif isinstance(frame, Join):
            registry.join_room(member, frame.room)
        elif isinstance(frame, Part):
            registry.part_room(member, frame.room)
        elif isinstance(frame, Who):
            registry.who(member, frame.room)
        elif isinstance(frame, TopicRequest):
            registry.topic(member, frame.room, frame.text)
        elif isinstance(frame, Away):
            registry.set_away(member, frame.text)
        elif isinstance(frame, Bye):
            registry.leave(member, LeaveReason.QUIT)

    def take(self) -> bytes:
        data = bytes(self.member.link.out)
        self.member.link.out.clear()
        return data


def logged_in(registry: Registry, nick: bytes, caps: bytes = b"") -> Client:
    client = Client(registry)
    if caps:
        client.feed(b"CAP LS 302\r\nCAP REQ :" + caps + b"\r\n")
    client.feed(b"NICK " + nick + b"\r\nUSER u 0 * :U\r\nCAP END\r\n")
    assert client.conn.logged_in
    return client

"""IRC clients in front of the real core (a Registry, no sockets): the frames the core sends,
in the order it sends them, read as IRC; and a broadcast encoded once per variant, not once
per reader."""

from __future__ import annotations

from messenger.core.registry import Registry
from messenger.protocol.irc import parse_line
from messenger.protocol.irc.message import IRCMessage

from .irccore import IRCOutlet, logged_in


def commands(data: bytes) -> list[str]:
    parsed = [parse_line(line) for line in data.split(b"\r\n")[:-1]]
    assert all(isinstance(p, IRCMessage) for p in parsed), parsed
    return [p.command for p in parsed]  # type: ignore[union-attr]


def test_a_login_reads_as_an_irc_registration_and_a_lobby_join() -> None:
    registry = Registry("messenger test", IRCOutlet())
    alice = logged_in(registry, b"alice")
    assert commands(alice.take()) == ["001", "002", "003", "004", "005", "251", "422", "JOIN", "353", "366"]


def test_two_irc_users_chat_in_a_room_and_privately() -> None:
    registry = Registry("messenger test", IRCOutlet())
    alice = logged_in(registry, b"alice", b"echo-message")
    bob = logged_in(registry, "José".encode())
    alice.take(), bob.take()
    alice.feed(b"JOIN #dev\r\n")
    bob.feed(b"JOIN #dev\r\n")
    assert commands(alice.take()) == ["JOIN", "353", "366", "JOIN"]
    assert b":^Jos-dma!~m@TestNet JOIN #dev\r\n" in bob.take()
    alice.feed(b"PRIVMSG #dev :hello\r\nPRIVMSG ^Jos-dma :psst\r\n")
    got = bob.take()
    assert b":alice!~m@TestNet PRIVMSG #dev :hello\r\n" in got
    assert b":alice!~m@TestNet PRIVMSG ^Jos-dma :psst\r\n" in got
    assert commands(alice.take()) == ["PRIVMSG", "PRIVMSG"]  # echo-message
    bob.feed(b"PRIVMSG #dev :\x01ACTION waves\x01\r\nPRIVMSG nobody :hi\r\n")
    assert alice.take() == b":^Jos-dma!~m@TestNet PRIVMSG #dev :\x01ACTION waves\x01\r\n"
    assert commands(bob.take()) == ["401"]  # no echo without echo-message; the unknown nick


def test_topic_part_and_quit() -> None:
    registry = Registry("messenger test", IRCOutlet())
    alice, bob = logged_in(registry, b"alice"), logged_in(registry, b"bob")
    alice.feed(b"JOIN #dev\r\n")
    bob.feed(b"JOIN #dev\r\nTOPIC #dev :plans\r\n")
    alice.take(), bob.take()
    alice.feed(b"TOPIC #dev\r\nPART #dev\r\n")
    assert commands(alice.take()) == ["332", "333", "PART"]
    bob.feed(b"QUIT :bye\r\n")
    assert b":bob!~m@TestNet QUIT :Quit\r\n" in alice.take()


def test_a_broadcast_is_encoded_once_per_variant() -> None:
    outlet = IRCOutlet()
    registry = Registry("messenger test", outlet)
    speaker = logged_in(registry, b"speaker")
    readers = [logged_in(registry, f"r{i}".encode(), b"server-time" if i % 2 else b"") for i in range(30)]
    for client in (speaker, *readers):
        client.take()
    outlet.encodings.clear()
    speaker.feed(b"PRIVMSG #lobby :to all\r\n")
    assert outlet.encodings["shared"] == 3  # no caps, server-time, and the speaker's own
    assert all(b"PRIVMSG #lobby :to all" in reader.take() for reader in readers)
    assert speaker.take() == b""

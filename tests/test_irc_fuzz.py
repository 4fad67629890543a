"""Hostile input to an IRCConnection: random commands with random parameters, before and after
registration, and random bytes.  Nothing raises, every line the connection answers with parses
as IRC and keeps the 512-byte rule, and the connection still answers a PING afterwards."""

from __future__ import annotations

import random

from messenger.protocol.frames import LOBBY, Error, Message, Users
from messenger.protocol.irc.commands import COMMANDS
from messenger.protocol.irc.message import IRCMessage, body_length, parse_line

from .irctools import Door, registered

WORDS = [
    "#lobby", "#dev", "#", "#a,b", ",", "*", ":", "::", "+", "-", "+b", "+o", "-v", "+im-b", "+:",
    "bob", "^Jos-dma", "^", "^!!", "[x]", "José", "a b", "", "0", "302", "LS", "REQ", "END", "PLAIN",
    "\x01ACTION x\x01", "\x01", "\x03", "x" * 300, "é" * 100, "+k", "nick!*@*", "*!*@10.0.0.0/8",
]  # fmt: skip
VERBS = [*sorted(COMMANDS), "FOO", "001", "OPER"]


def _random_line(generator: random.Random) -> bytes:
    words = [generator.choice(WORDS) for _ in range(generator.randrange(0, 5))]
    words = [w for w in words if w and " " not in w and not w.startswith(":")]
    trailing = generator.choice(["", " :" + generator.choice(WORDS)])
    line = " ".join([generator.choice(VERBS), *words]) + trailing
    return line.encode("utf-8")[:500] + b"\r\n"


def _check_output(door: Door) -> None:
    for raw in bytes(door.out).split(b"\r\n")[:-1]:
        assert body_length(raw + b"\r\n") <= 512, raw[:80]
        assert isinstance(parse_line(raw), IRCMessage), raw[:80]
    door.out.clear()


def _answer_everything(door: Door, frame: object) -> None:
    """A server that answers every request with an error and a few frames, to exercise the
    answers' wording too."""
    door.send(Error(code="not_permitted", message="no", re=getattr(frame, "TYPE", None)))
    door.send(Users(users=("alice", "José"), room=LOBBY))
    door.send(Message(id=1, sender="José", text="x" * 700, ts="2026-11-30T10:00:00.000Z"))


def test_random_commands_before_registration() -> None:
    generator = random.Random(161)
    for _ in range(40):
        door = Door()
        for _ in range(30):
            door.feed(_random_line(generator))
            _check_output(door)
        door.feed(b"PING alive\r\n")
        assert b"PONG" in bytes(door.out)


def test_random_commands_after_registration() -> None:
    generator = random.Random(162)
    for _ in range(40):
        door = registered()
        door.on_request = _answer_everything
        for _ in range(40):
            door.feed(_random_line(generator))
            _check_output(door)
        door.feed(b"PING alive\r\n")
        assert b"PONG" in bytes(door.out)


def test_random_bytes() -> None:
    generator = random.Random(163)
    alphabet = b"\x00\r\n :@;=\\#!\xff\xc3\xa9PRIVMSGJOINCAPNICK abc+-,*\x01"
    for _ in range(30):
        door = registered()
        door.on_request = _answer_everything
        for _ in range(20):
            door.feed(bytes(generator.choice(alphabet) for _ in range(generator.randrange(1, 80))))
            _check_output(door)
        door.feed(b"\r\nPING alive\r\n")
        assert b"PONG" in bytes(door.out)

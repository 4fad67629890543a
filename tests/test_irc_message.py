"""IRC lines without sockets: parsing and serialising round trips, the 512-byte rule, tags and
their escaping, hostile bytes (each gives a value, never an exception), and splitting long
text at character boundaries."""

from __future__ import annotations

import random
import unicodedata

import pytest

from messenger.protocol.irc.message import (
    MAX_CLIENT_TAGS,
    MAX_LINE,
    IRCMessage,
    ParseError,
    body_length,
    escape_tag_value,
    parse_line,
    serialise,
    split_text,
    unescape_tag_value,
)


def test_a_full_line_is_read_into_its_parts() -> None:
    got = parse_line(b"@time=2026-01-01T00:00:00.000Z;+draft/x;a=b\\sc :n!u@h PRIVMSG #room :hello world")
    tags = {"time": "2026-01-01T00:00:00.000Z", "+draft/x": None, "a": "b c"}
    assert got == IRCMessage("PRIVMSG", ("#room", "hello world"), "n!u@h", tags)


@pytest.mark.parametrize(
    ("raw", "command", "params"),
    [
        (b"nick alice", "NICK", ("alice",)),
        (b"USER a 0 * :Alice Liddell", "USER", ("a", "0", "*", "Alice Liddell")),
        (b"PRIVMSG   #a    :  spaced  ", "PRIVMSG", ("#a", "  spaced  ")),
        (b"PRIVMSG #a :", "PRIVMSG", ("#a", "")),
        (b"PRIVMSG #a ::)", "PRIVMSG", ("#a", ":)")),
        (b"001 me :Welcome", "001", ("me", "Welcome")),
        (b"CAP LS 302", "CAP", ("LS", "302")),
    ],
)
def test_commands_and_parameters(raw: bytes, command: str, params: tuple[str, ...]) -> None:
    got = parse_line(raw)
    assert isinstance(got, IRCMessage)
    assert (got.command, got.params) == (command, params)


@pytest.mark.parametrize(
    "params",
    [("#a", "hello"), ("#a", ""), ("#a", ":colon"), ("bob", "two words"), ("x",), ("#ü", "żółć 🎉")],
)
def test_serialise_then_parse_gives_the_same_message(params: tuple[str, ...]) -> None:
    tags = {"time": "2026-11-30T10:00:00.000Z", "msgid": "a;b c\\d\r\n"}
    line = serialise("PRIVMSG", *params, source="n!u@h", tags=tags)
    assert line.endswith(b"\r\n") and line.count(b"\n") == 1
    got = parse_line(line[:-2])
    assert got == IRCMessage("PRIVMSG", params, "n!u@h", dict(tags))


def test_tag_escaping_round_trips_every_special_character() -> None:
    value = "a;b c\\d\re\nf=g"
    assert escape_tag_value(value) == "a\\:b\\sc\\\\d\\re\\nf=g"
    assert unescape_tag_value(escape_tag_value(value)) == value
    assert unescape_tag_value("x\\") == "x"  # a lone backslash at the end is dropped
    assert unescape_tag_value("\\b") == "b"  # an unknown escape keeps the character


def test_a_middle_parameter_that_is_not_a_word_is_refused_when_writing() -> None:
    with pytest.raises(ValueError):
        serialise("KICK", "#a b", "bob")
    with pytest.raises(ValueError):
        serialise("KICK", "", "bob")


def test_text_with_line_ends_stays_one_line() -> None:
    line = serialise("PRIVMSG", "#a", "one\r\nQUIT :two\0")
    assert line == b"PRIVMSG #a :one  QUIT :two \r\n"


def test_the_512_byte_rule_counts_the_line_without_tags() -> None:
    head = b"PRIVMSG #a :"
    fits = head + b"x" * (MAX_LINE - 2 - len(head))
    assert isinstance(parse_line(fits), IRCMessage)
    assert isinstance(parse_line(b"@" + b"k=" + b"v" * 4000 + b" " + fits), IRCMessage)
    over = parse_line(fits + b"x")
    assert isinstance(over, ParseError) and over.kind == "too_long" and over.command == "PRIVMSG"


def test_a_client_s_tags_may_take_4094_bytes_and_no_more() -> None:
    tags = b"@k=" + b"v" * (MAX_CLIENT_TAGS - 2) + b" "
    assert len(tags) == MAX_CLIENT_TAGS + 2
    assert isinstance(parse_line(tags + b"PING x"), IRCMessage)
    too_many = parse_line(b"@k=" + b"v" * (MAX_CLIENT_TAGS - 1) + b" PING x")
    assert isinstance(too_many, ParseError) and too_many.kind == "too_long"


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (b"", "empty"),
        (b"   ", "empty"),
        (b":source.only", "empty"),
        (b":src :trailing only", "empty"),
        (b"@tags=only", "empty"),
        (b"PRIVMSG #a :\xff\xfe", "encoding"),
        (b"\xc3", "encoding"),
        (b"PRIVMSG #a :nul\0here", "invalid"),
        (b"PRIVMSG #a :lone\rcr", "invalid"),
        (b"PRIV-MSG x", "invalid"),
        (b"12 x", "invalid"),
        (b"PRIVMSG " + b"a " * 16, "invalid"),  # 16 parameters
        (b"@=x PING y", "invalid"),
        (b"@a!b=c PING y", "invalid"),
        (b"x" * 10_000, "too_long"),
    ],
)
def test_bad_lines_are_values_that_say_why(raw: bytes, kind: str) -> None:
    got = parse_line(raw)
    assert isinstance(got, ParseError), got
    assert got.kind == kind and got.reason


def test_fifteen_parameters_are_allowed() -> None:
    got = parse_line(b"PRIVMSG " + b"a " * 14 + b":last one")
    assert isinstance(got, IRCMessage) and len(got.params) == 15


def test_every_byte_sequence_gives_a_value_never_an_exception() -> None:
    generator = random.Random(16)
    alphabet = b"\x00\r\n :@;=\\#!\xff\xc3\xa9PRIVMSGabc \x01\x02"
    for _ in range(3000):
        raw = bytes(generator.choice(alphabet) for _ in range(generator.randrange(0, 40)))
        assert isinstance(parse_line(raw), (IRCMessage, ParseError))
    for byte in range(256):
        assert isinstance(parse_line(b"PRIVMSG #a :" + bytes([byte])), (IRCMessage, ParseError))


def test_body_length_leaves_the_tags_out() -> None:
    line = serialise("PING", "x", tags={"a": "b"})
    assert body_length(line) == len(b"PING x\r\n")
    assert body_length(b"PING x\r\n") == 8


SAMPLES = [
    "plain ascii words " * 40,
    "żółć gęślą jaźń " * 40,
    "漢字かな交じり文" * 60,
    "🎉👩‍👩‍👧‍👦🇫🇷" * 50,
    "e\u0301" * 300,  # e and a combining acute accent, 3 bytes a pair
    "x" * 1000,
    "a " * 500,
    "a" + "\u0301" * 500,  # one letter with 500 accents: a cluster longer than any line
    "👩\u200d" * 300,
]


@pytest.mark.parametrize("text", SAMPLES, ids=range(len(SAMPLES)))
@pytest.mark.parametrize("budget", [4, 7, 50, 400])
def test_split_pieces_fit_decode_and_keep_every_character(text: str, budget: int) -> None:
    pieces = split_text(text, budget)
    for piece in pieces:
        encoded = piece.encode("utf-8")
        assert len(encoded) <= budget
        assert encoded.decode("utf-8") == piece  # whole characters only
    assert "".join(pieces).replace(" ", "") == text.replace(" ", "")  # only spaces at cuts drop


def test_split_does_not_separate_a_letter_from_its_accent() -> None:
    for piece in split_text("e\u0301" * 300, 50):
        assert unicodedata.category(piece[0]) != "Mn"


def test_split_prefers_a_space() -> None:
    assert split_text("hello world again", 12) == ["hello world", "again"]
    assert split_text("short", 100) == ["short"]
    assert split_text("", 100) == [""]

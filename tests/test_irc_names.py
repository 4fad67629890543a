"""messenger names as IRC nicks and back: every name gets a nick IRC can carry, that nick leads
back to the same member (whatever ASCII case a client types it in), and no two members share
one; rooms are channels as they are."""

from __future__ import annotations

import random
import re

import pytest

from messenger.protocol.irc.names import (
    CASEMAPPING,
    NICKLEN,
    ascii_fold,
    from_nick,
    name_of_nick,
    room_of_channel,
    to_nick,
)
from messenger.protocol.names import BadName, BadRoom, name_key, normalize_name

# RFC 2812: a letter or special first, then letters, digits, specials and '-'.
IRC_NICK = re.compile(r"[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}-]*")

NAMES = [
    "alice", "Bob", "j.doe", ".dot", "_under", "a-b", "José", "Zoë.B", "Жора", "張偉", "김민수",
    "42", "7up", "-dash", "x1.2-3_", "ÀÉÎÕÜ", "دانیال", "xn--jos-dma", "ß", "İstanbul", "a" * 32,
]  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
def test_every_name_becomes_a_valid_nick_that_leads_back(name: str) -> None:
    name = normalize_name(name)
    nick = to_nick(name)
    assert IRC_NICK.fullmatch(nick), nick
    assert len(nick) <= NICKLEN
    assert from_nick(nick) == name
    assert name_of_nick(nick) == name


def test_plain_names_are_their_own_nicks_and_dots_become_bars() -> None:
    assert to_nick("alice") == "alice"
    assert to_nick("j.doe") == "j|doe"
    assert to_nick("José") == "^Jos-dma"
    assert to_nick("42") == "^42-"


@pytest.mark.parametrize("name", NAMES)
def test_any_ascii_case_of_a_nick_is_the_same_member(name: str) -> None:
    name = normalize_name(name)
    for typed in (to_nick(name).upper(), to_nick(name).lower()):
        back = name_of_nick(typed)
        assert isinstance(back, str), typed
        assert name_key(back) == name_key(name), typed


def test_names_that_differ_get_nicks_that_differ_under_casemapping() -> None:
    """CASEMAPPING=ascii: a client holds two nicks equal only when they are one member."""
    assert CASEMAPPING == "ascii"
    generator = random.Random(16)
    letters = "abcXYZ.-_09éÉжЖ漢"
    tries = {"a" + "".join(generator.choice(letters) for _ in range(4)) for _ in range(3000)}
    names = {normalize_name(name) for name in tries if _valid(name)}
    assert len(names) > 500
    by_fold: dict[str, str] = {}
    for name in names:
        folded = ascii_fold(to_nick(name))
        if folded in by_fold:
            assert name_key(by_fold[folded]) == name_key(name), (by_fold[folded], name)
        by_fold[folded] = name


def _valid(name: str) -> bool:
    try:
        normalize_name(name)
    except BadName:
        return False
    return True


def test_a_plain_name_cannot_pass_for_an_escaped_one() -> None:
    """``xn--jos-dma`` is someone's plain name: it stays itself, and José stays ^Jos-dma."""
    assert to_nick("xn--jos-dma") == "xn--jos-dma"
    assert from_nick("xn--jos-dma") == "xn--jos-dma"
    assert to_nick("José") != to_nick("xn--jos-dma")


def test_utf8_nicks_are_taken_as_names() -> None:
    assert name_of_nick("José") == "José"
    assert name_of_nick("Жора") == "Жора"


@pytest.mark.parametrize("nick", ["[bot]", "a b", "^!!!", "^", "a@b", "", "x" * 40, "^" + "9" * 300])
def test_nicks_no_name_stands_for_are_refused_with_a_reason(nick: str) -> None:
    got = name_of_nick(nick)
    assert isinstance(got, BadName) and str(got)


def test_the_longest_names_fit_nicklen() -> None:
    generator = random.Random(3)
    for _ in range(300):
        name = "".join(chr(generator.randrange(0x4E00, 0x9FFF)) for _ in range(32))
        assert len(to_nick(name)) <= NICKLEN
    spread = "".join(chr(c) for c in [0x4E00, 0x2A6D6, 0x4E01, 0x2A6D5] * 8)
    assert len(to_nick(normalize_name(spread))) <= NICKLEN


def test_channels_are_rooms() -> None:
    assert room_of_channel("#Lobby") == "#lobby"
    assert room_of_channel("#żółw") == "#żółw"
    assert isinstance(room_of_channel("lobby"), BadRoom)
    assert isinstance(room_of_channel("#a b"), BadRoom)

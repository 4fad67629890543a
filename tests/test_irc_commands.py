"""What each IRC command asks of messenger once registered: the request frames it becomes
(the server's own steps then serve IRC users as everyone else), and the numerics for what
messenger has no feature for or a client got wrong (never a disconnect)."""

from __future__ import annotations

import pytest

from messenger.protocol.frames import (
    Away,
    Bye,
    HistoryRequest,
    Join,
    Me,
    Nick,
    Part,
    Rooms,
    Say,
    TopicRequest,
    Who,
)
from messenger.protocol.irc import Lines, Request
from messenger.protocol.moderation import (
    Allow,
    Ban,
    BansRequest,
    Disallow,
    Ignore,
    IgnoredRequest,
    Kick,
    ModeRequest,
    Mute,
    RoleRequest,
    Unban,
    Unignore,
    Unmute,
    WhoisRequest,
)

from .irctools import registered


@pytest.mark.parametrize(
    ("line", "frames"),
    [
        (b"PRIVMSG #lobby :hello", [Say(text="hello", room="#lobby")]),
        (b"PRIVMSG #Lobby :\x02bold\x02 \x0304,01red\x03", [Say(text="bold red", room="#lobby")]),
        (b"NOTICE #lobby :a notice", [Say(text="a notice", room="#lobby")]),
        (b"PRIVMSG #lobby :\x01ACTION waves\x01", [Me(text="waves", room="#lobby")]),
        (b"PRIVMSG bob :hi", [Say(text="hi", to="bob")]),
        (b"PRIVMSG ^Jos-dma :hola", [Say(text="hola", to="José")]),
        (b"PRIVMSG j|doe :hi", [Say(text="hi", to="j.doe")]),
        (b"PRIVMSG bob :\x01ACTION waves\x01", [Me(text="waves", to="bob")]),
        (b"PRIVMSG bob,#lobby :both", [Say(text="both", to="bob"), Say(text="both", room="#lobby")]),
        (b"PART #dev", [Part(room="#dev")]),
        (b"TOPIC #dev", [TopicRequest(room="#dev")]),
        (b"TOPIC #dev :new topic", [TopicRequest(room="#dev", text="new topic")]),
        (b"TOPIC #dev :", [TopicRequest(room="#dev", text="")]),
        (b"NAMES #dev", [Who(room="#dev")]),
        (b"WHO #dev", [Who(room="#dev")]),
        (b"WHO *", [Who()]),
        (b"WHO bob", [WhoisRequest(user="bob")]),
        (b"WHOIS bob", [WhoisRequest(user="bob")]),
        (b"WHOIS irc.test bob", [WhoisRequest(user="bob")]),
        (b"LIST", [Rooms()]),
        (b"AWAY :lunch", [Away(text="lunch")]),
        (b"AWAY", [Away(text=None)]),
        (b"NICK carol", [Nick(user="carol")]),
        (b"QUIT :bye", [Bye()]),
        (b"MODE #dev", [ModeRequest(room="#dev")]),
        (b"MODE #dev +m", [ModeRequest(room="#dev", moderated=True)]),
        (b"MODE #dev -i+m", [ModeRequest(room="#dev", invite_only=False, moderated=True)]),
        (b"MODE #dev +b", [BansRequest()]),
        (b"MODE #dev +b bob!*@*", [Ban(target="bob")]),
        (b"MODE #dev +b *!*@10.0.0.0/8", [Ban(target="10.0.0.0/8")]),
        (b"MODE #dev -b bob", [Unban(target="bob")]),
        (b"MODE #dev +o bob", [RoleRequest(user="bob", role="op")]),
        (b"MODE #dev -o bob", [RoleRequest(user="bob", role="user")]),
        (b"MODE #dev +v bob", [Allow(user="bob", room="#dev")]),
        (b"MODE #dev -v bob", [Disallow(user="bob", room="#dev")]),
        (b"KICK #dev bob :spam", [Kick(user="bob", reason="spam")]),
        (b"KILL bob", [Kick(user="bob")]),
        (b"INVITE bob #dev", [Allow(user="bob", room="#dev")]),
        (b"MODE #dev +q bob!*@*", [Mute(user="bob")]),
        (b"MODE #dev -q bob", [Unmute(user="bob")]),
        (b"SILENCE +bob", [Ignore(user="bob")]),
        (b"SILENCE -^Jos-dma", [Unignore(user="José")]),
        (b"SILENCE", [IgnoredRequest()]),
    ],
)
def test_commands_become_messenger_requests(line: bytes, frames: list[object]) -> None:
    door = registered()
    door.rooms.append("#dev")
    door.feed(line + b"\r\n")
    assert door.requests == frames


def test_join_asks_for_the_names_and_history_once_it_worked() -> None:
    door = registered(history=5)
    door.conn.caps |= {"server-time"}
    door.feed(b"JOIN #dev,#Ops\r\n")
    assert door.requests == [
        Join(room="#dev"),
        Who(room="#dev"),
        HistoryRequest(limit=5, room="#dev"),
        Join(room="#ops"),
        Who(room="#ops"),
        HistoryRequest(limit=5, room="#ops"),
    ]


def test_a_join_that_failed_asks_for_nothing_more() -> None:
    door = registered()
    door.on_request = lambda door, frame: None  # the server refuses every join
    door.feed(b"JOIN #dev\r\n")
    assert door.requests == [Join(room="#dev")]


def test_joining_a_channel_one_is_on_does_nothing() -> None:
    door = registered()
    door.feed(b"JOIN #lobby\r\n")
    assert not door.requests and not door.out


@pytest.mark.parametrize(
    ("line", "numeric"),
    [
        (b"FROBNICATE", "421"),
        (b"OPER root secret", "421"),
        (b"JOIN", "461"),
        (b"JOIN #bad!room", "403"),
        (b"PART #notin", "442"),
        (b"PRIVMSG", "411"),
        (b"PRIVMSG #lobby", "412"),
        (b"PRIVMSG #lobby :   ", "412"),
        (b"PRIVMSG #lobby :\x02\x02", "412"),
        (b"PRIVMSG a,b,c,d,e :hi", "407"),
        (b"PRIVMSG [x] :hi", "401"),
        (b"PRIVMSG #a!b :hi", "403"),
        (b"TOPIC", "461"),
        (b"KICK #lobby", "461"),
        (b"MODE", "461"),
        (b"MODE #lobby +k key", "472"),
        (b"MODE #lobby +o", "461"),
        (b"MODE bob +i", "502"),
        (b"MODE alice +i", "221"),
        (b"WHOIS", "431"),
        (b"WHOIS [x]", "401"),
        (b"NICK [x]", "432"),
        (b"NAMES", "366"),
        (b"MOTD", "422"),
        (b"VERSION", "351"),
        (b"CAP BOGUS", "410"),
    ],
)
def test_unsupported_or_malformed_commands_get_a_numeric(line: bytes, numeric: str) -> None:
    door = registered()
    events = door.feed(line + b"\r\n")
    assert not door.requests
    assert door.numerics()[0] == numeric
    assert all(isinstance(e, Lines) for e in events)


def test_notice_never_gets_an_error_back() -> None:
    door = registered()
    door.feed(b"NOTICE\r\nNOTICE #lobby\r\nNOTICE [x] :hi\r\nNOTICE #lobby :\x01VERSION\x01\r\n")
    assert not door.out and not door.requests


def test_other_ctcp_is_not_delivered_as_text() -> None:
    door = registered()
    door.feed(b"PRIVMSG bob :\x01VERSION\x01\r\n")
    assert not door.requests


def test_ping_pong_and_quit_after_registration() -> None:
    door = registered()
    events = door.feed(b"PING :abc def\r\nPONG x\r\nQUIT :bye\r\n")
    lines = door.take()
    assert [(m.command, m.params) for m in lines] == [
        ("PONG", ("irc.test", "abc def")),
        ("ERROR", ("Closing link: quit",)),
    ]
    assert isinstance(events[-1], Request) and events[-1].frame == Bye()


def test_motd_when_the_server_has_one() -> None:
    door = registered(motd="Be kind.\nNo spam.")
    door.feed(b"MOTD\r\n")
    lines = door.take()
    assert [m.command for m in lines] == ["375", "372", "372", "376"]
    assert lines[1].params[-1] == "- Be kind."


def test_a_line_with_many_requests_charges_each_request() -> None:
    door = registered()
    events = door.feed(b"PRIVMSG a,b,c :hi\r\n")
    assert [e.charge for e in events] == [True, True, True]

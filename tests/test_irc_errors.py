"""messenger's error frames as IRC numerics, naming the nick or channel the refused request
named; codes without a numeric as FAIL; errors that end the connection as ERROR."""

from __future__ import annotations

import pytest

from messenger.protocol.frames import Error, ErrorCode

from .irctools import Door, registered


@pytest.mark.parametrize(
    ("line", "code", "re", "numeric", "subject"),
    [
        (b"PRIVMSG ^Jos-dma :hi", ErrorCode.UNKNOWN_USER, "say", "401", "^Jos-dma"),
        (b"PRIVMSG #dev :hi", ErrorCode.NOT_IN_ROOM, "say", "404", "#dev"),
        (b"TOPIC #dev :x", ErrorCode.NOT_IN_ROOM, "topic", "442", "#dev"),
        (b"PRIVMSG #dev :hi", ErrorCode.MODERATED, "say", "404", "#dev"),
        (b"PRIVMSG #dev :hi", ErrorCode.MUTED, "say", "404", "#dev"),
        (b"JOIN #vip", ErrorCode.INVITE_ONLY, "join", "473", "#vip"),
        (b"NICK bob", ErrorCode.NAME_TAKEN, "nick", "433", "bob"),
        (b"NICK bob", ErrorCode.NAME_REGISTERED, "nick", "433", "bob"),
        (b"KICK #lobby bob", ErrorCode.NOT_OPERATOR, "kick", "481", None),
        (b"MODE #dev +m", ErrorCode.NOT_OPERATOR, "mode", "482", "#dev"),
        (b"MODE #dev +o bob", ErrorCode.NOT_PERMITTED, "role", "481", None),
    ],
)
def test_errors_name_what_the_request_named(
    line: bytes, code: ErrorCode, re: str, numeric: str, subject: str | None
) -> None:
    door = registered()
    door.rooms.append("#dev")
    door.on_request = lambda door, frame: door.send(Error(code=code.value, message="refused", re=re))
    door.feed(line + b"\r\n")
    got = door.take()
    assert got[0].command == numeric
    if subject is not None:
        assert got[0].params[1] == subject


def test_a_code_without_a_numeric_is_a_standard_fail() -> None:
    door = registered()
    door.rooms.append("#dev")
    door.on_request = lambda door, frame: door.send(
        Error(code="last_room", message="your only room", re="part")
    )
    door.feed(b"PART #dev\r\n")
    got = door.take()[0]
    assert (got.command, got.params) == ("FAIL", ("PART", "LAST_ROOM", "your only room"))


@pytest.mark.parametrize("code", ["replaced", "server_full", "login_timeout"])
def test_errors_that_end_the_connection_are_error_lines(code: str) -> None:
    door = registered()
    door.send(Error(code=code, message="goodbye"))
    got = door.take()[0]
    assert (got.command, got.params) == ("ERROR", ("goodbye",))


def test_whois_of_nobody_ends_as_whois_or_who_did() -> None:
    door = registered()
    door.on_request = lambda door, frame: door.send(Error(code="unknown_user", message="no", re="whois"))
    door.feed(b"WHOIS ghost\r\n")
    assert door.numerics() == ["401", "318"]
    door.feed(b"WHO ghost\r\n")
    assert door.numerics() == ["315"]


def test_a_registered_name_without_a_password_is_433_on_an_open_server() -> None:
    door = Door()
    door.on_request = lambda door, frame: door.send(door.conn.ask_password("alice", "registered").frame)
    door.feed(b"NICK alice\r\nUSER a 0 * :A\r\n")
    got = door.take()[0]
    assert (got.command, got.params[:2]) == ("433", ("*", "alice"))
    assert not door.conn.logged_in


def test_login_refusals_before_registration() -> None:
    for code, numeric in (("bad_password", "464"), ("banned", "465"), ("rate_limited", "464")):
        door = Door()
        door.on_request = lambda door, frame, code=code: door.send(Error(code=code, message="no", re="hello"))
        door.feed(b"NICK alice\r\nUSER a 0 * :A\r\n")
        got = door.take()[0]
        assert (got.command, got.params[0]) == (numeric, "*")


def test_a_notice_refused_by_the_server_is_not_answered() -> None:
    door = registered()
    door.on_request = lambda door, frame: door.send(Error(code="unknown_user", message="no", re="say"))
    door.feed(b"NOTICE ghost :hi\r\n")
    assert door.requests and not door.out
    door.feed(b"PRIVMSG ghost :hi\r\n")  # the same refusal of a PRIVMSG is answered
    assert door.numerics() == ["401"]

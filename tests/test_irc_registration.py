"""Registering an IRC client: with and without CAP, SASL PLAIN (right, wrong, aborted, badly
formed), PASS (the server password), refused nicks tried again; commands before registration.
Bytes in, the requests and lines that come out checked (tests/irctools.py plays the server)."""

from __future__ import annotations

from base64 import b64encode

from messenger.protocol.frames import LOBBY, Bye, Hello, HistoryRequest, TopicRequest, Who
from messenger.protocol.irc import Ignored, Lines, Request, SaslCheck

from .irctools import Door


def plain(authzid: str, authcid: str, password: str) -> bytes:
    return b64encode(f"{authzid}\0{authcid}\0{password}".encode())


def test_nick_and_user_log_in_without_cap() -> None:
    door = Door()
    door.feed(b"NICK alice\r\n")
    assert not door.requests and not door.out
    door.feed(b"USER a 0 * :Alice\r\n")
    assert door.requests[0] == Hello(user="alice", history=0)
    assert door.conn.logged_in and door.conn.me == "alice"
    # Then what follows the lobby's JOIN: its topic and its names (no history: no server-time).
    assert door.requests[1:] == [TopicRequest(room=LOBBY), Who(room=LOBBY)]


def test_the_lobby_history_follows_only_for_server_time() -> None:
    door = Door(history=20)
    door.feed(b"CAP LS 302\r\nNICK alice\r\nUSER a 0 * :A\r\nCAP REQ :server-time\r\nCAP END\r\n")
    assert door.requests[-1] == HistoryRequest(limit=20, room=LOBBY)
    plain_door = Door(history=20)
    plain_door.feed(b"NICK alice\r\nUSER a 0 * :A\r\n")
    assert not any(isinstance(r, HistoryRequest) for r in plain_door.requests)


def test_follow_ups_cost_no_flood_control() -> None:
    door = Door()
    events = door.feed(b"NICK alice\r\nUSER a 0 * :Alice\r\n")
    charged = [e for e in events if getattr(e, "charge", True)]
    assert len(charged) == 2  # one per line
    assert [e.frame for e in events if isinstance(e, Request) and not e.charge] == door.requests[1:]


def test_cap_holds_registration_until_end() -> None:
    door = Door()
    door.feed(b"CAP LS 302\r\nNICK alice\r\nUSER a 0 * :Alice\r\n")
    assert not door.requests
    lines = door.take()
    assert lines[0].command == "CAP" and lines[0].params[:2] == ("*", "LS")
    offered = lines[0].params[2].split()
    assert "sasl=PLAIN" in offered and "server-time" in offered and "echo-message" in offered
    door.feed(b"CAP REQ :server-time echo-message\r\n")
    ack = door.take()[0]
    assert ack.params == ("*", "ACK", "server-time echo-message")
    assert not door.requests
    door.feed(b"CAP END\r\n")
    assert door.requests[0] == Hello(user="alice", history=0)
    assert door.conn.caps == {"server-time", "echo-message"}


def test_cap_ls_without_302_shows_no_values() -> None:
    door = Door()
    door.feed(b"CAP LS\r\n")
    assert "sasl" in door.take()[0].params[2].split()


def test_cap_req_is_all_or_nothing() -> None:
    door = Door()
    door.feed(b"CAP REQ :server-time made-up-cap\r\n")
    assert door.take()[0].params == ("*", "NAK", "server-time made-up-cap")
    assert door.conn.caps == set()
    door.feed(b"CAP REQ :server-time\r\nCAP REQ :-server-time batch\r\nCAP LIST\r\n")
    assert door.take()[-1].params == ("*", "LIST", "batch")


def test_a_bad_cap_subcommand_gets_410() -> None:
    door = Door()
    door.feed(b"CAP FROB\r\n")
    assert door.numerics() == ["410"]


def test_sasl_plain_success_logs_in_to_the_account() -> None:
    door = Door()
    door.feed(b"CAP LS 302\r\nNICK alice\r\nUSER a 0 * :A\r\nCAP REQ :sasl\r\nAUTHENTICATE PLAIN\r\n")
    assert door.take()[-1].command == "AUTHENTICATE"
    events = door.feed(b"AUTHENTICATE " + plain("", "alice", "wonderland") + b"\r\n")
    assert events[0] == SaslCheck(account="alice", password="wonderland")
    assert door.numerics() == ["900", "903"]
    door.feed(b"CAP END\r\n")
    assert door.requests[0] == Hello(user="alice", history=0, account="alice")
    assert door.conn.logged_in


def test_sasl_plain_failure_is_904_and_registration_goes_on_without_an_account() -> None:
    door = Door()
    door.feed(b"CAP LS 302\r\nNICK bob\r\nUSER b 0 * :B\r\nCAP REQ :sasl\r\nAUTHENTICATE PLAIN\r\n")
    door.take()
    door.feed(b"AUTHENTICATE " + plain("alice", "alice", "wrong") + b"\r\n")
    assert door.numerics() == ["904"]
    door.feed(b"CAP END\r\n")
    assert door.requests == [Hello(user="bob", history=0), TopicRequest(room=LOBBY), Who(room=LOBBY)]


def test_sasl_aborted_unknown_mechanism_and_bad_payloads() -> None:
    door = Door()
    door.feed(b"AUTHENTICATE EXTERNAL\r\n")
    assert door.numerics() == ["908", "904"]
    door.feed(b"AUTHENTICATE PLAIN\r\nAUTHENTICATE *\r\n")
    assert door.numerics() == ["AUTHENTICATE", "906"]
    door.feed(b"AUTHENTICATE PLAIN\r\nAUTHENTICATE !!!notbase64\r\n")
    assert door.numerics() == ["AUTHENTICATE", "904"]
    door.feed(b"AUTHENTICATE PLAIN\r\nAUTHENTICATE " + b64encode(b"only\0two") + b"\r\n")
    assert door.numerics() == ["AUTHENTICATE", "904"]
    door.feed(b"AUTHENTICATE PLAIN\r\nAUTHENTICATE " + plain("carol", "alice", "wonderland") + b"\r\n")
    assert door.numerics() == ["AUTHENTICATE", "904"]  # authorising as another: not supported
    door.feed(b"AUTHENTICATE PLAIN\r\n" + b"AUTHENTICATE " + b"A" * 400 + b"\r\n" * 1)
    door.feed(b"AUTHENTICATE " + b"A" * 401 + b"\r\n")
    assert door.numerics() == ["AUTHENTICATE", "905"]


def test_sasl_payload_in_400_byte_chunks() -> None:
    door = Door()
    payload = plain("", "alice", "wonderland" + "x" * 400)
    chunks = [payload[i : i + 400] for i in range(0, len(payload), 400)]
    door.feed(b"AUTHENTICATE PLAIN\r\n")
    for chunk in chunks:
        door.feed(b"AUTHENTICATE " + chunk + b"\r\n")
    if len(chunks[-1]) == 400:
        door.feed(b"AUTHENTICATE +\r\n")
    assert door.numerics() == ["AUTHENTICATE", "904"]  # checked as one: the password is wrong


def test_pass_is_the_server_password() -> None:
    door = Door(password_needed=True)
    door.feed(b"PASS sesame\r\nNICK alice\r\nUSER a 0 * :A\r\n")
    assert door.requests[0] == Hello(user="alice", history=0, password="sesame")
    assert door.conn.logged_in


def test_without_the_server_password_464_then_pass_and_nick_again() -> None:
    door = Door(password_needed=True)
    door.feed(b"NICK alice\r\nUSER a 0 * :A\r\n")
    assert not door.conn.logged_in
    assert door.numerics() == ["464"]
    door.feed(b"PASS sesame\r\nNICK alice\r\n")
    assert door.conn.logged_in


def test_a_taken_nick_is_433_and_another_nick_logs_in() -> None:
    door = Door(taken={"alice"})
    door.feed(b"NICK alice\r\nUSER a 0 * :A\r\n")
    lines = door.take()
    assert [(m.command, m.params[:2]) for m in lines] == [("433", ("*", "alice"))]
    assert door.requests == [Hello(user="alice", history=0)]  # nothing follows a refused login
    door.feed(b"NICK alice_\r\n")
    assert door.conn.logged_in and door.requests[-3] == Hello(user="alice_", history=0)


def test_a_nick_no_name_stands_for_is_432() -> None:
    door = Door()
    door.feed(b"NICK [bot]\r\nNICK\r\n")
    assert door.numerics() == ["432", "431"]


def test_before_registration_commands_get_451_and_unknown_ones_421() -> None:
    door = Door()
    door.feed(b"JOIN #a\r\nPRIVMSG #a :hi\r\nFROB x\r\n")
    assert door.numerics() == ["451", "451", "421"]
    assert not door.requests


def test_ping_and_quit_before_registration() -> None:
    door = Door()
    door.feed(b"PING token\r\nQUIT\r\n")
    lines = door.take()
    assert (lines[0].command, lines[0].params) == ("PONG", ("irc.test", "token"))
    assert lines[1].command == "ERROR"
    assert door.requests == [Bye()]  # no member to say goodbye for, but the connection ends


def test_user_pass_and_authenticate_after_registration() -> None:
    door = Door()
    door.feed(b"NICK alice\r\nUSER a 0 * :A\r\n")
    door.out.clear()
    door.feed(b"USER a 0 * :A\r\nPASS x\r\nAUTHENTICATE PLAIN\r\nUSER\r\n")
    assert door.numerics() == ["462", "462", "904", "462"]


def test_user_needs_four_parameters() -> None:
    door = Door()
    door.feed(b"USER a 0\r\n")
    assert door.numerics() == ["461"]


def test_bad_lines_are_answered_not_fatal() -> None:
    door = Door()
    events = door.feed(b"\r\n" + b"PRIVMSG #a :\xff\r\n" + b"x" * 600 + b"\r\n" + b"PING a\0b\r\nPING ok\r\n")
    assert isinstance(events[0], Ignored)
    lines = door.take()
    assert [m.command for m in lines] == ["FAIL", "417", "FAIL", "PONG"]
    assert lines[0].params[:2] == ("*", "INVALID_UTF8")
    assert all(isinstance(e, (Lines, Ignored)) for e in events)


def test_a_line_past_every_limit_is_dropped_as_it_arrives() -> None:
    door = Door()
    door.conn.receive_data(b"y" * 100_000)
    door.feed(b"\r\nPING ok\r\n")
    assert door.numerics() == ["417", "PONG"]
    assert door.conn.decoder.buffered == 0


def test_away_notify_cannot_be_asked_for_after_registration() -> None:
    """The login said whether it follows presence; asking later would promise AWAY lines that
    never come."""
    door = Door()
    door.feed(b"NICK alice\r\nUSER a 0 * :A\r\n")
    door.out.clear()
    door.feed(b"CAP REQ :away-notify\r\nCAP REQ :server-time\r\n")
    assert [m.params[1] for m in door.take()] == ["NAK", "ACK"]
    early = Door()
    early.feed(b"CAP REQ :away-notify\r\nNICK alice\r\nUSER a 0 * :A\r\nCAP END\r\n")
    assert early.requests[0] == Hello(user="alice", history=0, presence=True)

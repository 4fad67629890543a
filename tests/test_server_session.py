"""The server over real loopback sockets: the seed's session in text mode, every JSON frame, and
shutdown reaching every client."""

from __future__ import annotations

import json

import pytest

from messenger.client import ConnectionClosed
from messenger.protocol import Joined, Left, Message, Pong, Renamed, Shutdown, Welcome

from .rawlogin import ANY_TS, login_json, login_text

# -- the seed's session ---------------------------------------------------------------------


def test_seed_session_in_text_mode(raw) -> None:
    alice = login_text(raw, "Alice")
    bob = login_text(raw, "Bob")
    assert alice.line() == "Bob has joined the chat!"
    alice.send("Hello everyone!\n")
    assert alice.line() == "Alice: Hello everyone!"
    assert bob.line() == "Alice: Hello everyone!"
    bob.send("Hi Alice!\n")
    assert bob.line() == "Bob: Hi Alice!"
    assert alice.line() == "Bob: Hi Alice!"
    bob.close()
    assert alice.line() == "Bob has left the chat!"


def test_text_mode_commands(raw) -> None:
    alice = login_text(raw, "alice")
    bob = login_text(raw, "bob")
    alice.line()  # bob joined
    bob.send("/who\n")
    assert bob.line() == "Online (2): alice, bob"
    bob.send("/me waves\n")
    assert alice.line() == "* bob waves"
    bob.send("/msg ALICE psst\n")
    assert alice.line() == "[private to alice] bob: psst"
    assert bob.line() == "* bob waves"
    assert bob.line() == "[private to alice] bob: psst"
    bob.send("//slash\n")
    assert alice.line() == "bob: /slash"
    bob.send("/nick robert\n")
    assert alice.line() == "bob is now known as robert"
    bob.send("/bogus\n")
    assert bob.until(lambda line: line.startswith("error:"))[-1].startswith("error: unknown command /bogus")
    bob.send("/help\n")
    assert bob.line().startswith("Commands:")
    bob.send("   \n/msg nobody hi\n")
    assert bob.until(lambda line: line.startswith("error:"))[-1] == "error: no user named 'nobody' is online"
    bob.send("/quit\n")
    assert alice.line() == "robert has left the chat!"
    assert bob.closed()


def test_text_mode_refused_names_can_retry(raw) -> None:
    login_text(raw, "alice")
    bob = raw()
    bob.send("bad name\n")
    assert bob.line().startswith("error: bad name")
    bob.send("ALICE\n")
    assert bob.line() == "error: the name ALICE is taken; try another"
    bob.send("bob\n")
    assert bob.line().startswith("Welcome, bob! 2 people online: alice, bob.")


# -- JSON mode: every frame -----------------------------------------------------------------


def test_login_order_welcome_then_own_joined(raw) -> None:
    alice = raw()
    alice.send_json({"type": "hello", "user": "alice"})
    welcome = alice.frame()
    assert welcome == {
        "type": "welcome",
        "user": "alice",
        "users": ["alice"],
        "server": welcome["server"],
        "protocol": 1,
    }
    assert welcome["server"].startswith("messenger/")
    assert alice.frame() == {"type": "joined", "user": "alice", "ts": ANY_TS}
    bob = raw()
    bob.send_json({"type": "hello", "user": "bob"})
    assert bob.frame()["users"] == ["alice", "bob"]
    assert bob.frame()["user"] == "bob"
    assert alice.frame() == {"type": "joined", "user": "bob", "ts": ANY_TS}


def test_say_is_echoed_and_broadcast_with_increasing_ids(connect) -> None:
    alice = connect("alice")
    alice.receive()
    bob = connect("bob")
    bob.receive()
    assert alice.receive() == Joined("bob", ts=ANY_TS)
    alice.say("hi")
    echo = alice.receive()
    assert isinstance(echo, Message) and echo.sender == "alice" and echo.text == "hi"
    assert bob.receive() == echo
    bob.say("hello")
    second = bob.receive()
    assert alice.receive() == second
    assert second.id > echo.id


def test_private_messages_reach_sender_and_recipient_only(connect) -> None:
    alice, bob, carol = connect("alice"), connect("bob"), connect("carol")
    for client in (alice, bob, carol):
        client.ping("ready")
        while client.receive() != Pong("ready"):
            pass
    alice.say("psst", to="BOB")
    frame = alice.receive()
    assert isinstance(frame, Message) and frame.to == "bob" and frame.text == "psst"
    assert bob.receive() == frame
    carol.ping("after")
    assert carol.receive() == Pong("after")  # carol saw nothing
    alice.say("note to self", to="alice")
    to_self = alice.receive()
    assert to_self.to == "alice"
    alice.ping("once")
    assert alice.receive() == Pong("once")  # delivered once, not twice


def test_me_who_nick_ping(raw) -> None:
    alice = login_json(raw, "alice")
    alice.send_json({"type": "me", "text": "waves"})
    assert alice.frame() == {
        "type": "message",
        "id": 1,
        "from": "alice",
        "text": "waves",
        "ts": ANY_TS,
        "action": True,
    }
    alice.send_json({"type": "who"})
    assert alice.frame() == {"type": "users", "users": ["alice"]}
    alice.send_json({"type": "nick", "user": "Alice"})  # changing only the case is allowed
    assert alice.frame() == {"type": "nick", "old": "alice", "new": "Alice", "ts": ANY_TS}
    alice.send_json({"type": "ping", "token": "t1"})
    assert alice.frame() == {"type": "pong", "token": "t1"}
    alice.send_json({"type": "ping"})
    assert alice.frame() == {"type": "pong"}


def test_nick_to_a_taken_name_is_refused(connect) -> None:
    alice = connect("alice")
    bob = connect("bob")
    bob.nick("ALICE")
    frames = [bob.receive() for _ in range(2)]
    assert frames[-1].code == "name_taken" and frames[-1].re == "nick"
    bob.nick("robert")
    assert bob.receive() == Renamed("bob", "robert", ts=ANY_TS)
    alice.receive()
    alice.receive()
    assert alice.receive() == Renamed("bob", "robert", ts=ANY_TS)
    alice.nick("bob")  # the old name is free again
    assert alice.receive() == Renamed("alice", "bob", ts=ANY_TS)


def test_bye_leaves_with_reason_quit(connect) -> None:
    alice = connect("alice")
    bob = connect("bob")
    bob.bye()
    frames = [alice.receive() for _ in range(3)]
    assert frames[2] == Left("bob", ts=ANY_TS, reason="quit")
    with pytest.raises(ConnectionClosed):
        while True:
            bob.receive(timeout=5)


def test_disconnect_leaves_with_reason_disconnected(connect) -> None:
    alice = connect("alice")
    bob = connect("bob")
    bob.close()
    frames = [alice.receive() for _ in range(3)]
    assert frames[2] == Left("bob", ts=ANY_TS, reason="disconnected")


def test_bye_before_hello_closes_quietly(raw) -> None:
    client = raw()
    client.send_json({"type": "bye"})
    assert client.closed()


# -- shutdown -------------------------------------------------------------------------------


def test_shutdown_frame_reaches_every_client(server, raw) -> None:
    text_user = login_text(raw, "texter")
    json_user = login_json(raw, "jsoner")
    text_user.line()  # jsoner joined
    pending = raw()
    pending.send('{"type":"ping"}\n')
    assert pending.frame()["code"] == "not_logged_in"
    server.stop()
    assert json_user.frame() == {"type": "shutdown", "message": "Server is shutting down. Goodbye!"}
    assert text_user.line() == "Server is shutting down. Goodbye!"
    assert pending.frame()["type"] == "shutdown"
    for client in (text_user, json_user, pending):
        assert client.closed()


def test_no_left_frames_during_shutdown(server, connect) -> None:
    alice = connect("alice")
    connect("bob")
    alice.receive(), alice.receive()
    server.stop()
    frames = list(alice)
    assert frames == [Shutdown("Server is shutting down. Goodbye!")]


def test_welcome_frame_matches_library(connect) -> None:
    client = connect()
    welcome = client.login("zoë")
    assert welcome == Welcome(user="zoë", users=("zoë",), server=welcome.server)
    assert json.loads(json.dumps(welcome.users)) == ["zoë"]

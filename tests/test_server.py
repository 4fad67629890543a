"""The server over real loopback sockets: the seed's session, every frame and error, hostile
input, slow readers, churn and shutdown."""

from __future__ import annotations

import json
import random
import re
import socket
import threading

import pytest

from messenger.client import BadName, Client, ConnectionClosed, NameTaken
from messenger.protocol import Joined, Left, Message, Pong, Renamed, Shutdown, Users, Welcome

from .conftest import RawClient

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


class AnyTs(str):
    """Compares equal to any ISO 8601 UTC timestamp with milliseconds."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and TS.match(other) is not None

    __hash__ = str.__hash__


ANY_TS = AnyTs("<ts>")


def login_text(raw, name: str) -> RawClient:
    client = raw()
    client.send(f"{name}\n")
    assert client.line().startswith(f"Welcome, {name}!")
    assert client.line() == f"{name} has joined the chat!"
    return client


def login_json(raw, name: str) -> RawClient:
    client = raw()
    client.send_json({"type": "hello", "user": name})
    assert client.frame()["type"] == "welcome"
    assert client.frame() == {"type": "joined", "user": name, "ts": ANY_TS}
    return client


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


# -- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "code", "answer_to"),
    [
        (b"{not json\n", "bad_json", None),
        (b'{"type": "say", "text": "hi"\n', "bad_json", None),
        (b"{}\n", "bad_frame", None),
        (b'{"type": 5}\n', "bad_frame", None),
        (b'{"type": "dance"}\n', "bad_frame", "dance"),
        (b'{"type": "hello"}\n', "bad_frame", "hello"),
        (b'{"type": "hello", "user": 7}\n', "bad_frame", "hello"),
        (b'{"type": "hello", "user": "a", "history": true}\n', "bad_frame", "hello"),
        (b'{"type": "say"}\n', "bad_frame", "say"),
        (b'{"type": "say", "text": "hi"}\n', "not_logged_in", "say"),
        (b'{"type": "who"}\n', "not_logged_in", "who"),
        (b'{"type": "hello", "user": "a b"}\n', "bad_name", "hello"),
        (b'{"type": "hello", "user": ""}\n', "bad_name", "hello"),
        (b'{"type": "hello", "user": "\\u200balice"}\n', "bad_name", "hello"),
        (b'{"type": "\\ud800"}\n', "bad_frame", None),
        (b'{"type": "hello", "user": "a\\udfff"}\n', "bad_frame", "hello"),
    ],
)
def test_json_errors_before_login(raw, line: bytes, code: str, answer_to: str | None) -> None:
    client = raw()
    client.send(line)
    error = client.frame()
    assert error["type"] == "error" and error["code"] == code
    assert error.get("re") == answer_to
    assert error["message"]
    # The connection stays usable.
    client.send_json({"type": "hello", "user": "survivor"})
    assert client.frame()["type"] == "welcome"


def test_json_array_first_line_is_json_mode_bad_frame(raw) -> None:
    client = raw()
    client.send(b'{"type":"ping"}\n[1, 2]\n')
    assert client.frame()["code"] == "not_logged_in"
    assert client.frame()["code"] == "bad_frame"


def test_errors_after_login(raw) -> None:
    alice = login_json(raw, "alice")
    alice.send_json({"type": "hello", "user": "again"})
    assert alice.frame()["code"] == "already_logged_in"
    alice.send_json({"type": "say", "text": " \t\x01 "})
    assert alice.frame()["code"] == "empty"
    alice.send_json({"type": "me", "text": ""})
    empty = alice.frame()
    assert empty["code"] == "empty" and empty["re"] == "me"
    alice.send_json({"type": "nick", "user": "no spaces"})
    assert alice.frame()["code"] == "bad_name"


def test_unknown_user_error(raw) -> None:
    alice = login_json(raw, "alice")
    alice.send_json({"type": "say", "text": "hi", "to": "nobody"})
    error = alice.frame()
    assert (error["code"], error["re"]) == ("unknown_user", "say")
    assert "nobody" in error["message"]
    alice.send_json({"type": "ping", "token": "t"})
    assert alice.frame() == {"type": "pong", "token": "t"}  # answered once (by the registry)


def test_names_are_unique_case_insensitively_and_after_nfkc(connect) -> None:
    connect("alice")
    for taken in ("ALICE", "Alice", "ａｌｉｃｅ", " alice "):
        with pytest.raises(NameTaken):
            connect(taken)
    with pytest.raises(BadName):
        connect("al ice")
    client = connect()
    with pytest.raises(NameTaken):
        client.login("ALICE")
    assert client.login("alice2").user == "alice2"  # same connection, second try


def test_control_characters_are_stripped(connect, raw) -> None:
    alice = connect("alice")
    watcher = login_text(raw, "watcher")
    alice.say("\x1b[31mred\x07 and\ttab\x7f\x9b")
    frames = [alice.receive() for _ in range(3)]
    assert frames[2].text == "[31mred and\ttab"
    assert watcher.line() == "alice: [31mred and\ttab"


# -- limits and hostile input ---------------------------------------------------------------


def test_too_long_line_is_refused_once_and_connection_survives(make_server) -> None:
    server = make_server(max_line=1024)
    client = RawClient(server.port)
    client.send_json({"type": "hello", "user": "alice"})
    client.frame(), client.frame()
    client.send(b'{"type":"say","text":"' + b"x" * 5000 + b'"}\n')
    error = client.frame()
    assert error["code"] == "too_long"
    client.send_json({"type": "say", "text": "short"})
    assert client.frame()["text"] == "short"
    # Exactly at the limit (1024 bytes with "\n") is accepted.
    padding = 1023 - len(b'{"type":"say","text":""}')
    client.send(b'{"type":"say","text":"' + b"y" * padding + b'"}\n')
    assert client.frame()["text"] == "y" * padding


def test_mebibyte_line_without_newline_costs_bounded_memory(server, raw) -> None:
    client = raw()
    client.send_json({"type": "hello", "user": "flood"})
    client.frame(), client.frame()
    chunk = b"z" * 65536
    for _ in range(16):
        client.send(chunk)
    assert client.frame()["code"] == "too_long"  # sent as soon as the limit was passed
    client.send(b"\n")
    client.send_json({"type": "ping", "token": "alive"})
    assert client.frame() == {"type": "pong", "token": "alive"}
    (handler,) = [h for h in server.server.connections() if h.member and h.member.name == "flood"]
    assert handler.decoder.buffered <= server.server.config.max_line


def test_first_line_fixes_the_mode_even_when_refused(raw) -> None:
    too_long_json = raw()
    too_long_json.send(b"{" + b"a" * 20000 + b"\n")
    assert too_long_json.frame()["code"] == "too_long"
    bad_text = raw()
    bad_text.send(b"\xff\xfe name\n")
    assert bad_text.line() == "error: line is not valid UTF-8; it was discarded"
    bad_json = raw()
    bad_json.send(b"{\xff}\n")
    assert bad_json.frame()["code"] == "bad_encoding"


def test_garbage_and_churn_leave_no_ghost_users(server, connect) -> None:
    watcher = connect("watcher")
    rng = random.Random(42)
    for index in range(40):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        stage = index % 4
        if stage == 0:
            sock.sendall(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000))))
        elif stage == 1:
            sock.sendall(f'{{"type":"hello","user":"churn{index}"}}\n{{"type":"say","te'.encode())
        elif stage == 2:
            sock.sendall(f"text{index}\nhalf a line".encode())
        sock.close()
    watcher.who()
    while True:
        frame = watcher.receive()
        if isinstance(frame, Users):
            break
    # Churners may still be leaving: ask until only the watcher is left.
    for _ in range(200):
        if frame.users == ("watcher",):
            break
        watcher.who()
        frame = next(f for f in iter(watcher.receive, None) if isinstance(f, Users))
    assert frame.users == ("watcher",)


def test_random_bytes_never_kill_the_server(server, connect) -> None:
    rng = random.Random(7)
    clients = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(5)]
    for sock in clients:
        for _ in range(20):
            sock.sendall(rng.randbytes(rng.randrange(1, 512)) + rng.choice([b"\n", b"\r\n", b""]))
    for sock in clients:
        sock.close()
    alice = connect("alice")
    alice.say("still here")
    # Random bytes can spell a valid name and then a message, so others may join and talk
    # meanwhile: skip what they do until alice's own echo arrives.
    while True:
        frame = alice.receive(timeout=5)
        assert isinstance(frame, (Joined, Left, Message))
        if isinstance(frame, Message) and frame.sender == "alice":
            break
    assert frame.text == "still here"


def test_one_senders_messages_arrive_in_order(connect) -> None:
    alice = connect("alice")
    bob = connect("bob")
    count = 500
    sender = threading.Thread(target=lambda: [alice.say(f"m{i}") for i in range(count)])
    sender.start()
    received = []
    last_id = 0
    while len(received) < count:
        frame = bob.receive(timeout=10)
        if isinstance(frame, Message):
            assert frame.id > last_id
            last_id = frame.id
            received.append(frame.text)
    sender.join()
    assert received == [f"m{i}" for i in range(count)]


def test_flood_control_slows_but_never_drops(make_server) -> None:
    server = make_server(max_rate=200, burst=5)
    with Client.connect("127.0.0.1", server.port) as alice, Client.connect("127.0.0.1", server.port) as bob:
        alice.login("alice")
        bob.login("bob")
        for i in range(60):
            alice.say(f"flood {i}")
        texts = []
        while len(texts) < 60:
            frame = bob.receive(timeout=10)
            if isinstance(frame, Message):
                texts.append(frame.text)
        assert texts == [f"flood {i}" for i in range(60)]


def test_stalled_reader_is_cut_off_while_others_get_everything(make_server) -> None:
    server = make_server(sendq=256 * 1024)
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(("127.0.0.1", server.port))
    stalled.sendall(b'{"type":"hello","user":"stalled"}\n')  # and never reads again
    port = server.port
    with Client.connect("127.0.0.1", port) as alice, Client.connect("127.0.0.1", port) as bob:
        alice.login("alice")
        bob.login("bob")
        payload = "x" * 8000
        batches, batch = 50, 8  # 3.2 MB in all: far more than the sendq plus kernel buffers
        left = []
        for number in range(batches):
            for i in range(batch):
                alice.say(f"{number * batch + i} {payload}")
            # Both active clients read everything of this batch before the next one is sent.
            for client in (alice, bob):
                seen = 0
                while seen < batch:
                    frame = client.receive(timeout=10)
                    if isinstance(frame, Message):
                        assert frame.text.startswith(f"{number * batch + seen} ")
                        seen += 1
                    elif isinstance(frame, Left):
                        left.append((client.user, frame))
        assert [(who, frame.user, frame.reason) for who, frame in left] == [
            ("alice", "stalled", "too_slow"),
            ("bob", "stalled", "too_slow"),
        ]
        bob.who()
        while not isinstance(frame := bob.receive(timeout=10), Users):
            pass
        assert frame.users == ("alice", "bob")
    stalled.close()


def test_login_timeout_closes_idle_connections(make_server) -> None:
    server = make_server(login_timeout=0.3)
    silent = RawClient(server.port)
    assert silent.closed()
    refused = RawClient(server.port)
    refused.send_json({"type": "hello", "user": "no way"})
    assert refused.frame()["code"] == "bad_name"
    assert refused.frame()["code"] == "login_timeout"
    assert refused.closed()


def test_server_full(make_server) -> None:
    server = make_server(max_clients=1)
    port = server.port
    with Client.connect("127.0.0.1", port) as first, Client.connect("127.0.0.1", port) as second:
        first.login("first")
        with pytest.raises(Exception) as info:
            second.login("second")
        assert getattr(info.value, "code", None) == "server_full"


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

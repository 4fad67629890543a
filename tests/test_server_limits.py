"""The server over real loopback sockets under hostile input and load: line limits, garbage and
churn, random bytes, ordering, flood control, slow readers, idle logins, a full server."""

from __future__ import annotations

import random
import socket
import threading

import pytest

from messenger.client import Client
from messenger.protocol import Joined, Left, Message, Users

from .conftest import RawClient

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

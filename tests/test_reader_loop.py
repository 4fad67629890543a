"""The chat port is read by one reader loop, not a thread per connection: the server's threads
do not grow with its connections, and nothing one client does (flooding, a password check,
closing in the middle of a line, a bug in a request) holds up the others.

Real servers on loopback; synchronised on lines received, never on sleeps."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from messenger.server.limits import CheckGate

from .conftest import RawClient, ServerThread, stored_server

CLIENTS = 200
SPARE_THREADS = 8  # the loop, the Flusher, a few login workers: never one per connection


@pytest.fixture
def opened() -> Iterator[list[RawClient]]:
    clients: list[RawClient] = []
    yield clients
    for client in clients:
        client.close()


def json_login(port: int, user: str, opened: list[RawClient], **hello: object) -> RawClient:
    client = RawClient(port)
    opened.append(client)
    client.send_json({"type": "hello", "user": user, **hello})
    return client


def until_type(client: RawClient, kind: str) -> list[dict]:
    frames = [json.loads(line) for line in client.until(lambda line: f'"type":"{kind}"' in line)]
    return frames


def said(frames: list[dict]) -> list[str]:
    return [frame["text"] for frame in frames if frame.get("type") == "message"]


def test_server_threads_do_not_grow_with_connections(make_server, opened) -> None:
    server = make_server(max_clients=CLIENTS + 10, max_per_ip=0, conn_rate=0)
    before = threading.active_count()
    for index in range(CLIENTS):
        json_login(server.port, f"user{index}", opened)
    for client in opened:
        until_type(client, "welcome")
    assert len(server.server.connections()) == CLIENTS
    assert threading.active_count() - before <= SPARE_THREADS
    opened[0].send_json({"type": "say", "text": "to everyone"})
    for client in opened[1:]:
        assert "to everyone" in said(until_type(client, "message"))


def test_a_flooding_client_is_slowed_without_delaying_another(make_server, opened) -> None:
    server = make_server(max_rate=5, burst=1)
    flooder = json_login(server.port, "flooder", opened)
    quick = json_login(server.port, "quick", opened)
    watcher = json_login(server.port, "watcher", opened)
    for client in opened:
        until_type(client, "welcome")
    flood = "".join(json.dumps({"type": "say", "text": f"flood {n}"}) + "\n" for n in range(10))
    flooder.send(flood)  # 10 lines at once: at 5 a second, the last is acted on ~2 s later
    first = said(until_type(watcher, "message"))  # the flood has begun
    quick.send_json({"type": "say", "text": "quick"})
    seen = first + said([json.loads(line) for line in watcher.until(lambda line: '"text":"quick"' in line)])
    assert "flood 9" not in seen  # quick was not kept waiting behind the flooder's pause
    rest = said([json.loads(line) for line in watcher.until(lambda line: '"text":"flood 9"' in line)])
    assert [text for text in seen + rest if text.startswith("flood")] == [f"flood {n}" for n in range(10)]
    assert server.server.reader_stats.flood_delays >= 8


def occupy(gate: CheckGate) -> threading.Event:
    """Keep every worker of the password gate busy until the returned event is set."""
    release = threading.Event()
    started = threading.Barrier(gate.size + 1)

    def block() -> None:
        started.wait()
        release.wait(20)

    for _ in range(gate.size):
        threading.Thread(target=gate.run, args=(block,), daemon=True).start()
    started.wait(5)
    return release


@pytest.fixture
def accounts_server(tmp_path: Path) -> Iterator[ServerThread]:
    server = stored_server(tmp_path / "chat.db")
    assert server.accounts is not None
    server.accounts.add("carol", "carols-password")
    yield server
    server.stop()


def test_a_password_login_waiting_for_its_check_does_not_stop_others(accounts_server, opened) -> None:
    port = accounts_server.port
    alice, bob = json_login(port, "alice", opened), json_login(port, "bob", opened)
    until_type(alice, "welcome"), until_type(bob, "welcome")
    release = occupy(accounts_server.server.password_checks)
    try:
        carol = json_login(port, "carol", opened, password="carols-password")
        carol.send_json({"type": "ping", "token": "after-hello"})  # acted on after the login
        for number in range(3):  # while carol's check waits in line, the others chat
            alice.send_json({"type": "say", "text": f"hi {number}"})
            assert f"hi {number}" in said(until_type(bob, "message"))
    finally:
        release.set()
    frames = until_type(carol, "pong")
    assert frames[0]["type"] == "welcome" and frames[-1]["token"] == "after-hello"


def test_a_login_that_waits_past_the_gate_is_refused_as_busy(accounts_server, opened) -> None:
    server = accounts_server.server
    server.password_checks.close()
    server.password_checks = CheckGate(size=1, wait=0.3)
    alice = json_login(accounts_server.port, "alice", opened)
    until_type(alice, "welcome")
    release = occupy(server.password_checks)
    try:
        carol = json_login(accounts_server.port, "carol", opened, password="carols-password")
        alice.send_json({"type": "ping", "token": "meanwhile"})
        assert until_type(alice, "pong")[-1]["token"] == "meanwhile"
        refusal = json.loads(carol.line())
    finally:
        release.set()
    assert refusal["code"] == "rate_limited" and "busy" in refusal["message"]
    carol.send_json({"type": "hello", "user": "carol", "password": "carols-password"})
    assert until_type(carol, "welcome")[-1]["user"] == "carol"


def test_a_client_closing_in_the_middle_of_a_line(server, opened) -> None:
    alice, bob = json_login(server.port, "alice", opened), json_login(server.port, "bob", opened)
    until_type(alice, "welcome"), until_type(bob, "welcome")
    bob.send(b'{"type":"say","text":"never fini')
    bob.close()
    left = until_type(alice, "left")
    assert left[-1]["user"] == "bob" and "never fini" not in json.dumps(left)
    stranger = RawClient(server.port)
    opened.append(stranger)
    stranger.send(b"half a na")
    stranger.close()
    bob = json_login(server.port, "bob", opened)  # the name is free, the server goes on
    until_type(bob, "welcome")
    alice.send_json({"type": "ping", "token": "still-here"})
    assert until_type(alice, "pong")[-1]["token"] == "still-here"


def test_a_bug_in_one_request_costs_only_its_connection(server, opened, monkeypatch, caplog) -> None:
    alice, bob = json_login(server.port, "alice", opened), json_login(server.port, "bob", opened)
    until_type(alice, "welcome"), until_type(bob, "welcome")
    registry = server.server.registry
    say = registry.say

    def broken_for_bob(member, *args, **kwargs):  # a bug that only bob's requests reach
        if member.name == "bob":
            raise RuntimeError("a bug")
        return say(member, *args, **kwargs)

    monkeypatch.setattr(registry, "say", broken_for_bob)
    with caplog.at_level(logging.INFO, logger="messenger"):
        bob.send_json({"type": "say", "text": "boom"})
        assert bob.closed()
        alice.send_json({"type": "say", "text": "still chatting"})
        assert "still chatting" in said(until_type(alice, "message"))
    errors = [record for record in caplog.records if "internal error" in record.getMessage()]
    assert errors and not any(record.exc_info for record in errors)


def test_stop_with_clients_connected_in_every_state(make_server, opened) -> None:
    server = make_server(max_rate=1, burst=1)
    json_user = json_login(server.port, "json", opened)
    text_user = RawClient(server.port)
    opened.append(text_user)
    text_user.send("text\n")
    until_type(json_user, "welcome")
    text_user.until(lambda line: "has joined" in line)
    silent = RawClient(server.port)  # connected, never said a word
    opened.append(silent)
    paused = json_login(server.port, "paused", opened)
    until_type(paused, "welcome")
    paused.send('{"type":"ping"}\n' * 5)  # paused by flood control
    server.stop()
    assert until_type(json_user, "shutdown")
    assert text_user.until(lambda line: "shutting down" in line)
    for client in (json_user, text_user, silent, paused):
        assert client.closed()
    server.thread.join(5)
    assert not server.thread.is_alive()


def test_the_loop_accepts_after_a_storm_of_refusals(make_server, opened) -> None:
    """Connections over the per-address limit are closed at accept; the others get in."""
    server = make_server(max_per_ip=3)
    refused: list[RawClient] = []
    kept = [json_login(server.port, f"kept{index}", opened) for index in range(3)]
    for client in kept:
        until_type(client, "welcome")
    for _ in range(10):
        refused.append(RawClient(server.port))
    opened.extend(refused)
    for client in refused:
        assert client.closed()
    kept[0].send_json({"type": "ping", "token": "in"})
    assert until_type(kept[0], "pong")[-1]["token"] == "in"


def test_a_text_mode_password_line_is_checked_off_the_loop(accounts_server, opened) -> None:
    alice = json_login(accounts_server.port, "alice", opened)
    until_type(alice, "welcome")
    release = occupy(accounts_server.server.password_checks)
    try:
        carol = RawClient(accounts_server.port)
        opened.append(carol)
        carol.send("carol\n")
        assert "password" in carol.line()
        carol.send("carols-password\n/who\n")  # the password waits for the gate; /who after it
        alice.send_json({"type": "ping", "token": "meanwhile"})
        assert until_type(alice, "pong")[-1]["token"] == "meanwhile"
    finally:
        release.set()
    lines = carol.until(lambda line: line.startswith("Online ("))
    assert lines[0].startswith("Welcome, carol!") and "alice" in lines[-1]

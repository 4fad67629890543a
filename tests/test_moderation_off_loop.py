"""An operator's request waits for the database on a login worker, never in the reader loop: while
another process holds the database's write lock, everyone else is still answered, and the
request goes through once the lock is given back (real sockets, a real SQLite file)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from messenger.core.roles import Role

from .conftest import RawClient, ServerThread, stored_server

PASSWORD = "root's password"


@pytest.fixture
def db_server(tmp_path: Path) -> Iterator[tuple[ServerThread, Path]]:
    path = tmp_path / "chat.db"
    started = stored_server(path)
    started.accounts.add("root", PASSWORD, Role.ADMIN)
    yield started, path
    started.stop()


def logged_in(port: int, name: str, password: str | None = None) -> RawClient:
    client = RawClient(port)
    hello = {"type": "hello", "user": name, "history": 0}
    if password is not None:
        hello["password"] = password
    client.send_json(hello)
    client.until(lambda line: json.loads(line).get("type") == "joined" and name in line)
    return client


def frame_of(client: RawClient, kind: str) -> dict:
    return json.loads(client.until(lambda line: json.loads(line)["type"] == kind)[-1])


def test_a_mute_waiting_for_the_database_stops_nobody_else(db_server) -> None:
    server, path = db_server
    root = logged_in(server.port, "root", PASSWORD)
    bob = logged_in(server.port, "bob")
    carol = logged_in(server.port, "carol")
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another writer: the mute's INSERT must wait for it
        root.send_json({"type": "mute", "user": "bob"})
        root.send_json({"type": "ping", "token": "after-the-mute"})
        carol.send_json({"type": "ping", "token": "meanwhile"})
        carol.send_json({"type": "say", "text": "still here"})
        assert frame_of(carol, "pong")["token"] == "meanwhile"
        assert frame_of(bob, "message")["text"] == "still here"
        # Answered while the mute still waits (SQLite gives up after 5 s): the loop went on.
    finally:
        holder.execute("COMMIT")
        holder.close()
    notice = frame_of(root, "notice")
    assert notice["re"] == "mute" and "bob is muted" in notice["text"]
    assert frame_of(root, "pong")["token"] == "after-the-mute"  # its own lines kept their order
    assert "muted you" in frame_of(bob, "notice")["text"]
    for client in (root, bob, carol):
        client.close()


def test_a_guests_whois_is_answered_in_the_loop(db_server) -> None:
    """A guest has no role to read: its whois needs no worker, and is answered as before."""
    server, _ = db_server
    bob = logged_in(server.port, "bob")
    carol = logged_in(server.port, "carol")
    bob.send_json({"type": "whois", "user": "carol"})
    answer = frame_of(bob, "whois")
    assert answer["user"] == "carol" and "address" not in answer
    for client in (bob, carol):
        client.close()

"""The reader loop's housekeeping looks only at the connections that can need it (not logged in
yet: a login time-out; closing: a grace), never at every member: a logged-in, quiet member costs a
tick nothing.  Counts over real sockets; the time-outs themselves are tested elsewhere
(test_login_clock.py, test_server_limits.py)."""

from __future__ import annotations

import json

from .conftest import RawClient


def pong(client: RawClient, token: str) -> None:
    """A barrier: the lines before the ping have been acted on."""
    client.send_json({"type": "ping", "token": token})
    client.until(lambda line: json.loads(line).get("token") == token)


def test_only_unfinished_logins_and_closing_connections_are_watched(server, raw) -> None:
    members = []
    for number in range(20):
        client = raw()
        client.send_json({"type": "hello", "user": f"m{number}", "history": 0})
        pong(client, f"in-{number}")
        members.append(client)
    stranger = raw()
    stranger.send_json({"type": "ping", "token": "before"})  # spoken, but not logged in:
    assert stranger.frame()["type"] in ("pong", "error")  # answered, so it is tracked
    watched = server.server.watched()
    assert len(server.server.connections()) == 21
    assert len(watched) == 1 and watched[0].member is not None and not watched[0].logged_in
    stranger.send_json({"type": "hello", "user": "late", "history": 0})
    pong(stranger, "now-logged-in")
    assert server.server.watched() == []


def test_a_closing_connection_is_watched_until_it_is_gone(server, raw) -> None:
    alice = raw()
    alice.send_json({"type": "hello", "user": "alice", "history": 0})
    pong(alice, "in")
    handler = next(h for h in server.server.connections() if h.member is not None and h.logged_in)
    handler.close()  # as the server closes it (a time-out, shutdown): its grace is watched
    assert handler in server.server.watched() or handler not in server.server.connections()
    assert alice.closed()
    server.server.stop()  # the loop has finished every connection once it returns
    assert server.server.watched() == []

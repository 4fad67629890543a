"""A registered name is held only by a connection that proved its password, whatever the path
to it (login, ``nick``, text-mode ``/nick``, the two text-mode logins, reconnecting, taking
over), and private history reaches only whoever proved who they are."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import RawClient, ServerThread, stored_server

DAVE = "dave's password"
MALLORY = "mallory's password"
SERVER = "the server password"

# Each way of starting a server with accounts: (config, how mallory logs in).
MODES = {
    "open": ({}, None),
    "open with a server password": ({"password": SERVER}, SERVER),
    "required": ({"auth": "required"}, MALLORY),
}
# Ways of writing dave: the name itself, its case, and lookalikes (Latin alpha ɑ, fullwidth).
DAVES = ("dave", "DAVE", "dɑve", "ｄａｖｅ")


@pytest.fixture(params=list(MODES))
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerThread]:
    """A server of each mode where dave and mallory are registered and nobody is online."""
    config, _ = MODES[request.param]
    started = stored_server(tmp_path / "chat.db", **config)
    started.accounts.add("dave", DAVE)
    if config.get("auth") == "required":
        started.accounts.add("mallory", MALLORY)
    started.mode = request.param  # type: ignore[attr-defined]
    yield started
    started.stop()


@pytest.fixture
def opened() -> Iterator[Callable[[RawClient], RawClient]]:
    clients: list[RawClient] = []

    def keep(client: RawClient) -> RawClient:
        clients.append(client)
        return client

    yield keep
    for client in clients:
        client.close()


def mallory_json(server: ServerThread) -> RawClient:
    """A JSON connection logged in as mallory, the way the server's mode allows."""
    _, password = MODES[server.mode]  # type: ignore[attr-defined]
    client, frames = log_in_raw(server.port, "mallory", password)
    # The account a login proved is in its welcome; an unregistered login has none.
    required = server.mode == "required"  # type: ignore[attr-defined]
    assert frames[0].get("account") == ("mallory" if required else None)
    return client


def mallory_text(server: ServerThread) -> RawClient:
    _, password = MODES[server.mode]  # type: ignore[attr-defined]
    client = RawClient(server.port)
    client.send("mallory\n" if password is None else f"mallory {password}\n")
    assert client.until(lambda line: line == "mallory has joined the chat!")[0].startswith(
        "Welcome, mallory!"
    )
    return client


def answer(client: RawClient, request: dict[str, Any], kind: str) -> dict[str, Any]:
    """The answer to ``request``: the first frame of type ``kind`` or an error (a ping sent after
    it proves nothing else is coming; others' traffic meanwhile is skipped)."""
    client.send_json(request)
    client.send_json({"type": "ping", "token": "after"})
    frames = []
    while (frame := client.frame())["type"] != "pong":
        if frame["type"] in (kind, "error"):
            frames.append(frame)
    assert frames, f"no answer to {request}"
    return frames[0]


def test_nick_into_a_registered_name_is_refused_in_json_mode(
    server: ServerThread, opened: Callable[[RawClient], RawClient]
) -> None:
    mallory = opened(mallory_json(server))
    for dave in DAVES:
        refused = answer(mallory, {"type": "nick", "user": dave}, "nick")
        assert (refused["type"], refused["code"], refused["re"]) == ("error", "name_registered", "nick")
        assert refused["message"] == "dave is a registered name; log in with its password to use it"
    watcher = opened(watcher_json(server))
    assert "dave" not in who(watcher)


def test_nick_into_a_registered_name_is_refused_in_text_mode(
    server: ServerThread, opened: Callable[[RawClient], RawClient]
) -> None:
    mallory = opened(mallory_text(server))
    for dave in DAVES:
        mallory.send(f"/nick {dave}\n/ping done\n")
        lines = mallory.until(lambda line: line == "pong done")
        assert lines == ["error: dave is a registered name; log in with its password to use it", "pong done"]


def test_the_text_mode_logins_need_the_password(
    server: ServerThread, opened: Callable[[RawClient], RawClient]
) -> None:
    """``dave``, then a wrong password; ``dave WRONG`` in one line: never logged in."""
    two_lines = opened(RawClient(server.port))
    two_lines.send("dave\n")
    assert "type it on the next line" in two_lines.line()
    two_lines.send("not it\n")
    assert two_lines.line().startswith("error: wrong")
    one_line = opened(RawClient(server.port))
    one_line.send("dave not-it\n")
    assert one_line.line().startswith("error: wrong")
    for client in (two_lines, one_line):
        client.send("/who\n")  # still not logged in: this line is taken as a name
        assert not client.line().startswith("Online")


def test_a_takeover_needs_the_password(
    server: ServerThread, opened: Callable[[RawClient], RawClient]
) -> None:
    """With dave online, logins as dave (or a lookalike) without his password, in either mode,
    neither get in nor disturb him."""
    dave, _ = log_in_raw(server.port, "dave", DAVE)
    opened(dave)
    for hello in ({"user": "DAVE"}, {"user": "dɑve", "password": "guess"}):
        intruder = opened(RawClient(server.port))
        intruder.send_json({"type": "hello", **hello})
        assert intruder.frame()["code"] in ("password_required", "bad_password")
    text = opened(RawClient(server.port))
    text.send("dave guess\n")
    assert text.line().startswith("error: wrong")
    assert "dave" in who(dave)  # still online, never replaced


def test_the_owner_may_rename_and_come_back_to_the_name(
    server: ServerThread, opened: Callable[[RawClient], RawClient]
) -> None:
    dave, frames = log_in_raw(server.port, "DAVE", DAVE)
    opened(dave)
    welcome = frames[0]
    assert (welcome["user"], welcome["account"]) == ("dave", "dave")
    required = server.mode == "required"  # type: ignore[attr-defined]
    away = answer(dave, {"type": "nick", "user": "davey"}, "nick")
    if required:  # every name on such a server is an account's
        assert (away["code"], away["message"]) == (
            "name_registered",
            "only registered names are used here; davey is not one",
        )
        return
    assert (away["type"], away["new"]) == ("nick", "davey")
    back = answer(dave, {"type": "nick", "user": "dɑve"}, "nick")  # a lookalike of its own: as registered
    assert (back["type"], back["old"], back["new"]) == ("nick", "davey", "dave")


def who(client: RawClient) -> list[str]:
    users = answer(client, {"type": "who"}, "users")
    assert users["type"] == "users"
    return users["users"]


def watcher_json(server: ServerThread) -> RawClient:
    """Another JSON connection, logged in as watcher."""
    _, password = MODES[server.mode]  # type: ignore[attr-defined]
    if server.mode == "required":  # type: ignore[attr-defined]
        server.accounts.add("watcher", "w")
        password = "w"
    return log_in_raw(server.port, "watcher", password)[0]


# ------------------------------------------------------------------------------------------------
# Private history
# ------------------------------------------------------------------------------------------------


def private_texts(frames: list[dict[str, Any]]) -> list[str]:
    return [f["text"] for f in frames if f["type"] == "message" and "to" in f]


def log_in_raw(port: int, user: str, password: str | None = None) -> tuple[RawClient, list[dict[str, Any]]]:
    """A JSON connection logged in as ``user`` and what it got up to its own ``joined``."""
    client = RawClient(port)
    client.send_json({"type": "hello", "user": user, **({"password": password} if password else {})})
    frames = [client.frame()]
    assert frames[0]["type"] == "welcome", frames
    while not (frames[-1]["type"] == "joined" and frames[-1]["user"] == frames[0]["user"]):
        frames.append(client.frame())
    return client, frames


def history(client: RawClient) -> list[dict[str, Any]]:
    client.send_json({"type": "history", "limit": 100})
    frames = []
    while (frame := client.frame())["type"] != "history_end":
        if frame.get("history"):
            frames.append(frame)
    return frames


def leave(client: RawClient) -> None:
    """Say bye and wait until the server closed the connection: the name is free from then on."""
    client.send_json({"type": "bye"})
    assert client.closed()
    client.close()


def say(client: RawClient, text: str, to: str) -> None:
    assert answer(client, {"type": "say", "text": text, "to": to}, "message")["type"] == "message"


def test_a_later_holder_of_a_name_does_not_read_its_private_history(tmp_path: Path) -> None:
    server = stored_server(tmp_path / "chat.db")
    try:
        alice, _ = log_in_raw(server.port, "alice")
        carol, _ = log_in_raw(server.port, "carol")
        say(alice, "carol's secret", to="carol")
        leave(carol)
        later, replayed = log_in_raw(server.port, "carol")  # someone else, once carol has gone
        assert private_texts(replayed) == []
        assert private_texts(history(later)) == []
        say(alice, "for the new carol", to="carol")  # its own session's private messages it sees
        assert private_texts(history(later)) == ["for the new carol"]
        alice.close()
        later.close()
    finally:
        server.stop()


def test_an_account_keeps_its_private_history_across_renames(tmp_path: Path) -> None:
    server = stored_server(tmp_path / "chat.db")
    server.accounts.add("bob", "bob's password")
    try:
        alice, _ = log_in_raw(server.port, "alice")
        bob, _ = log_in_raw(server.port, "bob", "bob's password")
        say(alice, "to bob", to="bob")
        assert answer(bob, {"type": "nick", "user": "bobby"}, "nick")["type"] == "nick"
        say(alice, "to bobby", to="bobby")
        leave(bob)
        impostor, replayed = log_in_raw(server.port, "bobby")  # the unregistered name is free now
        assert private_texts(replayed) == [] and private_texts(history(impostor)) == []
        impostor.close()
        bob, replayed = log_in_raw(server.port, "bob", "bob's password")
        assert private_texts(replayed) == ["to bob", "to bobby"]
        assert all(f["type"] != "message" or f["text"] != "to bob" or f["to"] == "bob" for f in replayed)
        assert [m for m in private_texts(history(bob))] == ["to bob", "to bobby"]
        alice.close()
        bob.close()
    finally:
        server.stop()

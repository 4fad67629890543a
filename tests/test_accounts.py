"""Accounts: registered names, passwords, takeover, confusable names, logins with a password in
JSON and text mode, and what a replaced session does."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from messenger.client import ConnectionClosed, LoginError, NameTaken
from messenger.client.session import ChatLink, LinkOptions, open_client
from messenger.core.accounts import AccountError, Accounts
from messenger.protocol import Error, Joined, Left, name_key

from .accountstools import PASSWORD, connect
from .clitools import WAIT
from .conftest import RawClient, ServerThread, stored_server
from .test_session import RecordingView


@pytest.fixture
def accounts_server(tmp_path: Path) -> Iterator[Callable[..., ServerThread]]:
    started: list[ServerThread] = []

    def start(**config: Any) -> ServerThread:
        server = stored_server(tmp_path / "chat.db", **config)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def refusal(port: int, user: str, password: str | None = None) -> LoginError:
    with connect(port) as client, pytest.raises(LoginError) as refused:
        client.login(user, password=password, timeout=WAIT)
    return refused.value


# ------------------------------------------------------------------------------------------------
# The accounts table
# ------------------------------------------------------------------------------------------------


def test_passwords_are_salted_scrypt_hashes(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path / "chat.db")
    try:
        accounts.add("alice", PASSWORD)
        accounts.add("bob", PASSWORD)
        assert accounts.verify("ALICE", PASSWORD)
        assert not accounts.verify("alice", PASSWORD + "!")
        assert not accounts.verify("carol", PASSWORD)
        rows = accounts._db.execute("SELECT salt, hash FROM accounts").fetchall()
        assert rows[0][0] != rows[1][0] and rows[0][1] != rows[1][1]  # same password, other salt
        accounts.set_password("alice", "new one")
        assert accounts.verify("alice", "new one") and not accounts.verify("alice", PASSWORD)
        assert [a.name for a in accounts.all()] == ["alice", "bob"]
        with pytest.raises(AccountError, match="already registered"):
            accounts.add("aIice", "x")  # a capital I for the l: the same name
        with pytest.raises(AccountError, match="bad name"):
            accounts.add("al ice", "x")
        with pytest.raises(AccountError, match="empty"):
            accounts.add("dave", "")
        accounts.remove("bob")
        with pytest.raises(AccountError, match="not registered"):
            accounts.remove("bob")
    finally:
        accounts.close()
    assert PASSWORD.encode() not in (tmp_path / "chat.db").read_bytes()


@pytest.mark.parametrize("lookalike", ["аlice", "ALICE", "alicе", "ａｌｉｃｅ", "αlice", "ΑLICE"])
def test_names_that_look_alike_are_one_name(lookalike: str) -> None:
    assert name_key(lookalike) == name_key("alice")


def test_digits_that_look_like_letters_are_those_letters() -> None:
    assert name_key("b0b") == name_key("bob")
    assert name_key("alice1") == name_key("alicel")


# ------------------------------------------------------------------------------------------------
# Logging in
# ------------------------------------------------------------------------------------------------


def test_a_registered_name_needs_its_password(accounts_server: Callable[..., ServerThread]) -> None:
    server = accounts_server()
    server.accounts.add("alice", PASSWORD)
    assert refusal(server.port, "alice").code == "password_required"
    assert refusal(server.port, "ALICE", "wrong").code == "bad_password"
    with connect(server.port) as alice:
        assert alice.login("aIice", password=PASSWORD).user == "alice"  # as registered
    with connect(server.port) as bob:  # unregistered names are open
        assert bob.login("bob").user == "bob"


def test_the_owner_takes_over_a_held_name(accounts_server: Callable[..., ServerThread]) -> None:
    server = accounts_server()
    server.accounts.add("alice", PASSWORD)
    with connect(server.port) as watcher, connect(server.port) as stale, connect(server.port) as fresh:
        watcher.login("watcher")
        stale.login("alice", password=PASSWORD)
        while not isinstance(frame := watcher.receive(timeout=WAIT), Joined) or frame.user != "alice":
            pass
        fresh.login("alice", password=PASSWORD)  # e.g. after a dropped link left a ghost
        frames = []
        while True:
            try:
                frames.append(stale.receive(timeout=WAIT))
            except ConnectionClosed:
                break
        assert isinstance(frames[-1], Error) and frames[-1].code == "replaced"
        left = next(f for f in iter(lambda: watcher.receive(timeout=WAIT), None) if isinstance(f, Left))
        assert (left.user, left.reason) == ("alice", "replaced")
        joined = watcher.receive(timeout=WAIT)
        assert isinstance(joined, Joined) and joined.user == "alice"
        fresh.say("still me")
        assert fresh.receive(timeout=WAIT).TYPE in ("joined", "message")


def test_an_unregistered_name_held_by_a_live_connection_stays_taken(
    accounts_server: Callable[..., ServerThread],
) -> None:
    server = accounts_server()
    with connect(server.port) as bob, connect(server.port) as other:
        bob.login("bob")
        with pytest.raises(NameTaken):
            other.login("bob", timeout=WAIT)
        with pytest.raises(NameTaken):
            other.login("BOB", timeout=WAIT)


def test_auth_required_admits_accounts_only(accounts_server: Callable[..., ServerThread]) -> None:
    server = accounts_server(auth="required")
    server.accounts.add("alice", PASSWORD)
    unknown = refusal(server.port, "mallory", "guess")
    wrong = refusal(server.port, "alice", "guess")
    assert (unknown.code, str(unknown)) == (wrong.code, str(wrong)) == ("bad_password", str(wrong))
    with connect(server.port) as alice:
        alice.login("alice", password=PASSWORD)


def test_a_server_password(accounts_server: Callable[..., ServerThread]) -> None:
    server = accounts_server(password="let me in")
    server.accounts.add("alice", PASSWORD)
    assert refusal(server.port, "bob").code == "password_required"
    assert refusal(server.port, "bob", "wrong").code == "bad_password"
    with connect(server.port) as bob, connect(server.port) as alice:
        bob.login("bob", password="let me in")
        alice.login("alice", password=PASSWORD)  # a registered user gives its own


def test_failed_logins_are_rate_limited_per_address(accounts_server: Callable[..., ServerThread]) -> None:
    server = accounts_server()
    server.accounts.add("alice", PASSWORD)
    with connect(server.port) as guesser:
        codes = []
        for attempt in range(7):
            with pytest.raises(LoginError) as refused:
                guesser.login("alice", password=f"guess {attempt}", timeout=WAIT)
            codes.append(refused.value.code)
        assert codes == ["bad_password"] * 5 + ["rate_limited"] * 2
        with pytest.raises(LoginError) as refused:
            guesser.login("alice", password=PASSWORD, timeout=WAIT)  # even the right one, for now
        assert refused.value.code == "rate_limited"
    # The limit is the address's, not the connection's: a new connection does not reset it.
    assert refusal(server.port, "alice", PASSWORD).code == "rate_limited"


def test_passwords_never_reach_logs_history_or_errors(
    accounts_server: Callable[..., ServerThread], caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    server = accounts_server(password="server secret")
    server.accounts.add("alice", PASSWORD)
    with caplog.at_level(logging.DEBUG, logger="messenger"):
        errors = [
            str(refusal(server.port, "alice", "wrong secret")),
            str(refusal(server.port, "bob", "bad secret")),
        ]
        with connect(server.port) as alice:
            alice.login("alice", password=PASSWORD)
            alice.say("hello")
            alice.receive(timeout=WAIT)
        text = RawClient(server.port)
        try:
            text.send("carol server secret\nhi\n")
            text.until(lambda line: line == "carol: hi")
        finally:
            text.close()
    server.store.flush()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    stored = (tmp_path / "chat.db").read_bytes()
    for secret in (PASSWORD, "wrong secret", "bad secret", "server secret"):
        assert secret not in logged
        assert secret not in " ".join(errors)
        assert secret.encode() not in stored


def test_text_mode_logins_with_a_password(accounts_server: Callable[..., ServerThread]) -> None:
    server = accounts_server()
    server.accounts.add("alice", PASSWORD)
    first = RawClient(server.port)
    second = RawClient(server.port)
    try:
        first.send(f"alice {PASSWORD}\n")
        assert first.line().startswith("Welcome, alice!")
        second.send("alice\n")
        assert second.line().startswith("alice is a registered name: log in with its password; type it")
        second.send("nope\n")
        assert second.line() == "error: wrong password; try again"
        second.send(f"alice\n{PASSWORD}\n")
        second.line()  # the question again
        assert second.until(lambda line: line.startswith("Welcome"))[-1].startswith("Welcome, alice!")
        assert (
            first.until(lambda line: line.startswith("error:"))[-1]
            == "error: alice logged in from elsewhere; goodbye"
        )
        assert first.closed()
        # "bob smith" is still a bad name where no password is expected.
        third = RawClient(server.port)
        third.send("bob smith\n")
        assert third.line().startswith("error: bad name")
        third.close()
    finally:
        first.close()
        second.close()


def test_a_lookalike_of_an_online_name_is_taken(accounts_server: Callable[..., ServerThread]) -> None:
    server = accounts_server()
    with connect(server.port) as alice, connect(server.port) as mallory:
        alice.login("alice")
        for lookalike in ("aIice", "ɑlice", "ALİCE"):  # capital I, Latin alpha, dotted capital I
            with pytest.raises(NameTaken):
                mallory.login(lookalike, timeout=WAIT)
        # A zero-width space is not part of a name; Cyrillic, Greek letters among Latin ones neither.
        for bad in ("al\u200bice", "аlice", "ΑLICE", "alicе"):
            with pytest.raises(LoginError) as refused:
                mallory.login(bad, timeout=WAIT)
            assert refused.value.code == "bad_name"


def test_a_replaced_session_does_not_reconnect(accounts_server: Callable[..., ServerThread]) -> None:
    """Whoever logged in last keeps the name: the replaced client must not take it back."""
    server = accounts_server()
    server.accounts.add("alice", PASSWORD)
    options = LinkOptions("127.0.0.1", server.port, timeout=WAIT, reconnect=True, password=PASSWORD)
    client, welcome = open_client(options, "alice")
    view = RecordingView()
    link = ChatLink(options, view)
    link.start(client, welcome)
    with connect(server.port) as elsewhere:
        elsewhere.login("alice", password=PASSWORD)
        assert link.ended.wait(WAIT)
        assert link.replaced is not None and link.refused is None
        elsewhere.ping("still mine")
        while (frame := elsewhere.receive(timeout=WAIT)).TYPE != "pong":
            assert not (isinstance(frame, Left) and frame.user == "alice" and frame.reason == "replaced")

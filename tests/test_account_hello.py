"""``hello`` with ``account``: log in to an account under another name.  A renamed session gets
its name back on reconnecting without touching another device that holds the account's name,
takes over only a ghost of its own account, and is refused like any other login."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from messenger.client import Client
from messenger.protocol import Welcome

from .clitools import WAIT
from .conftest import RawClient, ServerThread, stored_server
from .test_account_reconnect import PASSWORD, bob_link, rename, restart
from .test_name_ownership import answer, log_in_raw, who

MALLORY = "mallory's password"
SERVER = "the server password"


def hello(client: RawClient, user: str, account: str, password: str | None = PASSWORD) -> dict[str, Any]:
    """The first answer to a ``hello`` with ``account``."""
    client.send_json({"type": "hello", "user": user, "account": account, "password": password})
    return client.frame()


def refusal(client: RawClient, user: str, account: str, password: str | None = PASSWORD) -> str:
    frame = hello(client, user, account, password)
    assert (frame["type"], frame.get("re")) == ("error", "hello"), frame
    return frame["code"]


def bob_server(path: Path, **config: Any) -> ServerThread:
    server = stored_server(path, **config)
    server.accounts.add("bob", PASSWORD)
    return server


def test_a_renamed_session_reconnects_without_replacing_another_device(tmp_path: Path) -> None:
    """bob renamed to bobby; a second device logged in as bob; the server restarts: both links
    come back, each with its own name, and neither is replaced."""
    path = tmp_path / "chat.db"
    server = bob_server(path)
    first, first_view = bob_link(server.port)
    second, second_view = None, None
    try:
        rename(first, first_view, "bobby")
        second, second_view = bob_link(server.port)
        server = restart(server, path, first_view)
        for view, name in ((first_view, "bobby"), (second_view, "bob")):
            welcome = view.next_frame(lambda f: isinstance(f, Welcome))
            assert (welcome.user, welcome.account) == (name, "bob")
        watcher, _ = log_in_raw(server.port, "watcher")
        try:
            assert who(watcher) == ["bob", "bobby", "watcher"]
        finally:
            watcher.close()
        assert (first.name, second.name) == ("bobby", "bob")
        assert first.online and second.online and first.replaced is None and second.replaced is None
    finally:
        first.leave()
        if second is not None:
            second.leave()
        server.stop()


def test_a_login_with_account_takes_over_a_ghost_of_that_account(tmp_path: Path) -> None:
    """The dropped session (renamed to bobby) is still online for the server: the login to bob's
    account as bobby replaces it, and leaves the device holding bob alone."""
    server = bob_server(tmp_path / "chat.db")
    ghost, _ = log_in_raw(server.port, "bob", PASSWORD)
    assert answer(ghost, {"type": "nick", "user": "bobby"}, "nick")["new"] == "bobby"
    device, _ = log_in_raw(server.port, "bob", PASSWORD)
    try:
        with Client.connect("127.0.0.1", server.port, timeout=WAIT) as back:
            welcome = back.login("bobby", password=PASSWORD, account="bob", timeout=WAIT)
            assert (welcome.user, welcome.account) == ("bobby", "bob")
            while (frame := ghost.frame())["type"] != "error":
                pass
            assert frame["code"] == "replaced"
            assert ghost.closed()
            assert who(device) == ["bob", "bobby"]
    finally:
        for client in (ghost, device):
            client.close()
        server.stop()


def test_a_login_with_account_is_refused_like_any_other(tmp_path: Path) -> None:
    """Someone else's registered name, a name held by a session of another account or of none,
    no password, an unknown account, bad names: refused, and nobody online is disturbed."""
    server = bob_server(tmp_path / "chat.db")
    server.accounts.add("mallory", MALLORY)
    holder, _ = log_in_raw(server.port, "bobby")  # logged in to no account
    mallory, _ = log_in_raw(server.port, "mallory", MALLORY)
    assert answer(mallory, {"type": "nick", "user": "mal"}, "nick")["new"] == "mal"
    client = RawClient(server.port)
    try:
        for user, account, password, code in [
            ("bobby", "bob", PASSWORD, "name_taken"),
            ("mal", "bob", PASSWORD, "name_taken"),
            ("MALLORY", "bob", PASSWORD, "name_registered"),
            ("bert", "bob", None, "password_required"),
            ("bert", "nobody", PASSWORD, "bad_password"),
            ("bert", "b o b", PASSWORD, "bad_name"),
            ("b o b", "bob", PASSWORD, "bad_name"),
        ]:
            assert refusal(client, user, account, password) == code, (user, account)
        assert who(holder) == ["bobby", "mal"]
        assert hello(client, "bert", "BOB")["type"] == "welcome"  # the connection stayed usable
    finally:
        for each in (holder, mallory, client):
            each.close()
        server.stop()


def test_wrong_passwords_for_an_account_are_counted(tmp_path: Path) -> None:
    server = bob_server(tmp_path / "chat.db")
    client = RawClient(server.port)
    try:
        codes = [refusal(client, "bobby", "bob", "wrong") for _ in range(5)]
        assert [*codes, refusal(client, "bobby", "bob")] == ["bad_password"] * 5 + ["rate_limited"]
    finally:
        client.close()
        server.stop()


def test_the_server_password_does_not_open_an_account(tmp_path: Path) -> None:
    server = bob_server(tmp_path / "chat.db", password=SERVER)
    client = RawClient(server.port)
    try:
        assert refusal(client, "zed", "zed", SERVER) == "bad_password"
        assert refusal(client, "bobby", "bob", SERVER) == "bad_password"
        assert hello(client, "bobby", "bob")["user"] == "bobby"
    finally:
        client.close()
        server.stop()


def test_under_auth_required_only_the_accounts_name_is_taken(tmp_path: Path) -> None:
    server = bob_server(tmp_path / "chat.db", auth="required")
    client = RawClient(server.port)
    try:
        assert refusal(client, "bobby", "bob") == "name_registered"
        assert refusal(client, "bobby", "nobody") == "bad_password"
        assert hello(client, "BOB", "bob")["user"] == "bob"
    finally:
        client.close()
        server.stop()

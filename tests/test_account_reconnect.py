"""A registered user who renamed gets back in after a server restart, after any renames."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pexpect

from messenger.client import Client
from messenger.client.session import ChatLink, LinkOptions, open_client
from messenger.protocol import Nick, Renamed, Welcome

from .clitools import RUN_TIMEOUT, WAIT, run_cli, spawn_in_terminal
from .conftest import ServerThread, stored_server
from .test_session import RecordingView

PASSWORD = "bob's password"


def bob_link(port: int) -> tuple[ChatLink, RecordingView]:
    """bob's reconnecting session, logged in to his account."""
    options = LinkOptions("127.0.0.1", port, timeout=WAIT, reconnect=True, password=PASSWORD)
    client, welcome = open_client(options, "bob")
    assert welcome.account == "bob"
    view = RecordingView()
    link = ChatLink(options, view)
    link.start(client, welcome)
    return link, view


def rename(link: ChatLink, view: RecordingView, name: str) -> None:
    assert link.send(Nick(user=name))
    view.next_frame(lambda f: isinstance(f, Renamed) and f.new == name)
    assert link.name == name


def restart(server: ServerThread, path: Path, view: RecordingView) -> ServerThread:
    port = server.port
    server.stop()
    view.next_notice("Reconnecting")
    return stored_server(path, port=port)


def test_a_renamed_account_holder_gets_back_in_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "chat.db"
    server = stored_server(path)
    server.accounts.add("bob", PASSWORD)
    link, view = bob_link(server.port)
    try:
        for name in ("bobby", "bert", "robert"):  # any sequence of renames
            rename(link, view, name)
        server = restart(server, path, view)
        # Back in as robert, logged in to bob's account: no detour through the name bob.
        welcome = view.next_frame(lambda f: isinstance(f, Welcome))
        assert (welcome.user, welcome.account) == ("robert", "bob")
        assert link.name == "robert" and link.refused is None
        rename(link, view, "bob")  # and home again, after another restart
        server = restart(server, path, view)
        view.next_frame(lambda f: isinstance(f, Welcome) and f.user == "bob")
        assert link.online and link.name == "bob"
    finally:
        link.leave()
        server.stop()


def test_when_the_name_is_gone_the_account_name_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "chat.db"
    server = stored_server(path)
    server.accounts.add("bob", PASSWORD)
    link, view = bob_link(server.port)
    try:
        rename(link, view, "bobby")
        port = server.port
        server.stop()
        view.next_notice("Reconnecting")  # the first retry is a second away
        server = stored_server(path, port=port)
        with Client.connect("127.0.0.1", port, timeout=WAIT) as other:
            other.login("bobby")  # someone else took it meanwhile
            view.next_notice("Could not take back the name bobby; you are bob.")
            assert link.online and link.name == "bob"
    finally:
        link.leave()
        server.stop()


def test_the_terminal_client_gets_a_renamed_account_back_in(serve: Any, tmp_path: Path) -> None:
    """``messenger connect`` as bob, ``/nick bobby``, the server is killed and started again:
    the client is back in as bobby."""
    db = str(tmp_path / "chat.db")
    assert run_cli("users", "add", "bob", "--db", db, input=PASSWORD + "\n").returncode == 0
    first = serve("--port", "0", "--db", db)
    child = spawn_in_terminal("connect", "--port", str(first.port), "--user", "bob")
    try:
        child.expect_exact("Password for bob: ", timeout=RUN_TIMEOUT)
        child.sendline(PASSWORD)
        child.expect_exact("bob has joined the chat!")
        child.sendline("/nick bobby")
        child.expect_exact("bob is now known as bobby")
        first.stop()
        child.expect_exact("Reconnecting")
        serve("--port", str(first.port), "--db", db)
        child.expect_exact("Connected to the server!", timeout=RUN_TIMEOUT)
        child.expect_exact("Online (1): bobby")
        child.sendline("/quit")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0
    finally:
        if child.isalive():
            child.terminate(force=True)

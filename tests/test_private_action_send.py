"""Sending a private action from every door, not only IRC: text mode's ``/action NAME TEXT``
(the terminal client's too), ``Client.me(text, to=...)`` in the library, over real sockets to a
server with its IRC port; the recipient sees a private action on its own door (JSON
``"action":true`` with ``to``, text mode ``[private to ...] * ...``, IRC a CTCP ACTION to its
nick), and nobody else sees it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from messenger.client import Client
from messenger.protocol import Message
from messenger.server import ServerConfig

from .clitools import WAIT, login, messages_from, run_cli, wait_for_joined
from .conftest import RawClient
from .ircport import IRCRaw, IRCServer, command_of

pytestmark = pytest.mark.timeout(25)


@pytest.fixture
def server() -> Iterator[IRCServer]:
    started = IRCServer(ServerConfig(max_rate=0))
    yield started
    started.stop()


def text_login(port: int, name: str) -> RawClient:
    client = RawClient(port)
    client.send(f"{name}\n")
    client.until(lambda line: line == f"{name} has joined the chat!")
    return client


def nothing_private_reached(client: RawClient, token: str) -> None:
    """Everything sent before this reached ``client`` before its pong: no private line did."""
    client.send(f"/ping {token}\n")
    seen = client.until(lambda line: line == f"pong {token}")
    assert not [line for line in seen if "private" in line or "*" in line], seen


def test_text_mode_action_reaches_a_json_user_privately(server: IRCServer) -> None:
    bob = login(server.port, "bob")
    carol = text_login(server.port, "carol")
    dave = text_login(server.port, "dave")
    try:
        carol.send("/join #ops\n")  # the current room is #ops: a private action is about no room
        carol.until(lambda line: line == "carol has joined #ops")
        carol.send("/action bob  waves at you\n")
        assert carol.until(lambda line: "waves" in line)[-1] == "[private to bob] * carol waves at you"
        message = messages_from(bob, "carol", lambda frame: True)[-1]
        assert (message.text, message.action, message.to, message.room) == ("waves at you", True, "bob", None)
        carol.send("/action bob\n")
        assert carol.line() == "error: usage: /action NAME TEXT"
        carol.send("/ACTION nobody hi\n")
        assert carol.line() == "error: no user named 'nobody' is online"
        nothing_private_reached(dave, "dave")
    finally:
        for client in (bob, carol, dave):
            client.close()


def test_the_library_sends_a_private_action_to_irc_and_text_mode(server: IRCServer) -> None:
    ivy = IRCRaw(server.irc_port)
    ivy.register("ivy")
    carol = text_login(server.port, "carol")
    dave = text_login(server.port, "dave")
    alice = Client.connect("127.0.0.1", server.port, timeout=WAIT)
    try:
        alice.login("alice")
        wait_for_joined(alice, "alice")
        alice.me("nods", to="ivy")
        line = ivy.until(lambda seen: command_of(seen) == "PRIVMSG")[-1]
        assert line == ":alice!~m@messenger PRIVMSG ivy :\x01ACTION nods\x01"
        alice.me("smiles", to="carol")
        carol.until(lambda seen: seen == "[private to carol] * alice smiles")
        own = [m for m in messages_from(alice, "alice", lambda frame: frame.text == "smiles")]
        assert [(m.text, m.to, m.action) for m in own] == [("nods", "ivy", True), ("smiles", "carol", True)]
        nothing_private_reached(dave, "dave")
        alice.me("waves")  # without ``to``: the lobby's, as before
        assert messages_from(alice, "alice", lambda frame: True)[-1].to is None
    finally:
        for client in (ivy, carol, dave, alice):
            client.close()


def test_the_terminal_client_sends_a_private_action(server: IRCServer) -> None:
    bob = login(server.port, "bob")
    try:
        piped = "/action bob waves from a script\n"
        result = run_cli("connect", "--port", str(server.port), "--user", "bot", input=piped)
        assert result.returncode == 0, result.stderr
        message: Message = messages_from(bob, "bot", lambda frame: True)[-1]
        assert (message.text, message.action, message.to) == ("waves from a script", True, "bob")
    finally:
        bob.close()

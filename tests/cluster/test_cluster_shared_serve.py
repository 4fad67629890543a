"""``messenger serve --redis`` processes and ``messenger users --redis``: an account registered
with the command protects its name on every node and every front door (IRC too), and its
owner logging in on another node takes over their IRC session there."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from messenger.client import Client

from ..clitools import WAIT, ServeProcess
from ..ircport import IRCRaw, command_of
from .redistools import RedisServer
from .sharedtools import PASSWORD, users


@pytest.fixture
def children() -> Iterator[list[ServeProcess]]:
    started: list[ServeProcess] = []
    yield started
    for child in started:
        child.stop()


def irc_node(children: list[ServeProcess], redis: RedisServer, name: str) -> ServeProcess:
    child = ServeProcess(
        "--port", "0", "--no-web", "--irc-port", "0", "--node", name, env={"MESSENGER_REDIS": redis.url}
    )  # fmt: skip
    children.append(child)
    return child


def test_an_account_from_the_command_line_holds_on_every_node_and_front_door(
    redis_server: RedisServer, children: list[ServeProcess]
) -> None:
    one, two = irc_node(children, redis_server, "one"), irc_node(children, redis_server, "two")
    added = users("add", "alice", "--role", "op", "--redis", redis_server.url, input=PASSWORD + "\n")
    assert added == (0, "")
    guest = IRCRaw(two.irc["IRC"])
    guest.send("NICK Alice")  # at registration, without the password: refused
    guest.send("USER x 0 * :x")
    assert command_of(guest.command("433")[-1]) == "433"
    guest.send("NICK zed")
    guest.command("366")
    for nick in ("alice", "ALICE"):  # nor by NICK later, in any case
        guest.send(f"NICK {nick}")
        assert command_of(guest.command("433")[-1]) == "433"
    alice_irc = IRCRaw(one.irc["IRC"])
    alice_irc.register("alice", f"PASS :{PASSWORD}")  # the account's password
    alice = Client.connect("127.0.0.1", two.port, timeout=WAIT)
    assert alice.login("alice", password=PASSWORD, history=0).account == "alice"
    error = alice_irc.command("ERROR")[-1]  # taken over on the other node: told, then closed
    assert "elsewhere" in error
    guest.send("WHOIS alice")
    lines = guest.command("318")
    assert any(command_of(line) == "311" for line in lines)  # alice is online, on two now
    alice.close()
    guest.close()
    alice_irc.close()

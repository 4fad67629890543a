"""The IRC port on a node of a cluster: ``messenger serve --redis --irc-port`` as child
processes, an IRC user on one node and JSON users on another, chatting as on one server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from messenger.client import Client
from messenger.cluster.node import attach
from messenger.protocol import Message, Renamed
from messenger.server import ServerConfig

from ..accountstools import PASSWORD
from ..clitools import WAIT, ServeProcess, login, wait_for_joined
from ..ircport import IRCRaw, IRCServer
from .clustertools import Node, next_of
from .redistools import RedisServer

pytestmark = pytest.mark.timeout(25)


@pytest.fixture
def pair(redis_server: RedisServer) -> Iterator[tuple[ServeProcess, ServeProcess]]:
    """Node ``one`` with an IRC port, node ``two`` without, on the test's redis-server."""
    env = {"MESSENGER_REDIS": redis_server.url}
    one = ServeProcess("--port", "0", "--no-web", "--node", "one", "--irc-port", "0", env=env)
    try:
        two = ServeProcess("--port", "0", "--no-web", "--node", "two", env=env)
    except BaseException:
        one.stop()
        raise
    yield one, two
    one.stop()
    two.stop()


def test_an_irc_user_and_a_json_user_on_two_nodes_chat(pair: tuple[ServeProcess, ServeProcess]) -> None:
    one, two = pair
    bob = login(two.port, "bob")
    ivy = IRCRaw(one.irc["IRC"])
    try:
        names = ivy.register("ivy")
        if not any(" 353 " in line and "bob" in line.split(":")[-1].split() for line in names):
            assert ivy.command("JOIN")[-1].startswith(":bob!")  # bob's login had not reached one yet
        ivy.send("PRIVMSG #lobby :hello from irc")
        message = next_of(bob, Message)
        assert (message.sender, message.text, message.to) == ("ivy", "hello from irc", None)
        bob.say("hello from json")
        assert ivy.command("PRIVMSG")[-1] == ":bob!~m@messenger PRIVMSG #lobby :hello from json"
        bob.say("just you", to="ivy")
        assert ivy.command("PRIVMSG")[-1] == ":bob!~m@messenger PRIVMSG ivy :just you"
        ivy.send("PRIVMSG bob :back to you")
        while (private := next_of(bob, Message)).sender == "bob":
            pass  # bob's own copies of what he said
        assert (private.sender, private.text, private.to) == ("ivy", "back to you", "bob")
        ivy.send("WHOIS bob")
        assert any(" 311 ivy bob " in line for line in ivy.command("318"))
        ivy.send("NICK ivo")
        renamed = next_of(bob, Renamed)
        assert (renamed.old, renamed.new) == ("ivy", "ivo")
    finally:
        ivy.close()
        bob.close()


def test_a_name_held_on_one_node_is_refused_to_irc_on_another(
    pair: tuple[ServeProcess, ServeProcess],
) -> None:
    one, two = pair
    bob = login(two.port, "bob")
    ivy = IRCRaw(one.irc["IRC"])
    try:
        ivy.send("NICK bob")
        ivy.send("USER bob 0 * :bob")
        assert " 433 " in ivy.command("433")[-1]  # nickname in use, cluster-wide
        ivy.send("NICK ivy")
        ivy.command("366")
        wait_for_joined(bob, "ivy")
        ivy.send("NICK BOB")  # the same name under IRC's case mapping
        assert " 433 " in ivy.command("433")[-1]
        bob.say("still me")
        assert ivy.command("PRIVMSG")[-1] == ":bob!~m@messenger PRIVMSG #lobby :still me"
    finally:
        ivy.close()
        bob.close()


def test_an_account_on_one_node_tags_its_messages_for_irc_readers_on_another(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """The account-tag of a message travels with its sender's record, not with a connection."""
    one = IRCServer(ServerConfig(max_rate=0))
    link = attach(one.server, redis_server.url, "one")
    two = Node(redis_server.url, "two", db=tmp_path / "two.db")
    two.accounts.add("alice", PASSWORD)  # the cluster's account (kept in Redis)
    reader = IRCRaw(one.irc_port)
    alice = Client.connect("127.0.0.1", two.port, timeout=WAIT)
    try:
        reader.register("reader", "CAP REQ :account-tag message-tags", "CAP END")
        alice.login("alice", password=PASSWORD, history=0)
        alice.say("signed")
        line = reader.command("PRIVMSG")[-1]
        assert line.startswith("@") and "account=alice" in line.split(" ")[0], line
        assert line.endswith("PRIVMSG #lobby :signed")
    finally:
        alice.close()
        reader.close()
        two.stop()
        one.stop()
        link.stop()

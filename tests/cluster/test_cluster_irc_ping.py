"""IRC's PING is a barrier on a cluster node as ``ping`` is on every front door: with
echo-message, the PONG comes after the echo of every PRIVMSG the client sent before it, though
each echo makes a trip through Redis first."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from messenger.client import Client
from messenger.cluster.bus import DEAD_AFTER
from messenger.cluster.node import ClusterNode, attach
from messenger.server import ServerConfig

from ..clitools import login, wait_for_joined
from ..ircport import IRCRaw, IRCServer, command_of
from .clustertools import Node, said
from .redistools import RedisServer

pytestmark = pytest.mark.timeout(25)

COUNT = 30


@pytest.fixture
def irc_node(redis_server: RedisServer) -> Iterator[tuple[IRCServer, ClusterNode]]:
    """A node with an IRC port, in this process, on the test's redis-server."""
    server = IRCServer(ServerConfig(max_rate=0))
    cluster = attach(server.server, redis_server.url, "one", DEAD_AFTER)
    yield server, cluster
    server.stop()
    cluster.stop()


def _until_pong(client: IRCRaw, token: str) -> list[str]:
    """The lines up to the PONG with ``token``."""
    return client.until(lambda line: command_of(line) == "PONG" and line.endswith(token), limit=10_000)


def test_an_irc_pong_follows_the_echoes_of_the_privmsgs_sent_before_it(
    irc_node: tuple[IRCServer, ClusterNode], nodes: Callable[..., Node]
) -> None:
    server, _ = irc_node
    two = nodes("two")
    bob: Client = login(two.port, "bob")
    ivy = IRCRaw(server.irc_port)
    try:
        ivy.register("ivy", "CAP REQ :echo-message", "CAP END")
        wait_for_joined(bob, "ivy")
        for round_ in range(3):
            privmsgs = "".join(f"PRIVMSG #lobby :r{round_} m{i}\r\n" for i in range(COUNT))
            ivy.send(privmsgs + f"PING :b{round_}")
            lines = _until_pong(ivy, f"b{round_}")
            echoes = [line.split(" :", 1)[1] for line in lines if command_of(line) == "PRIVMSG"]
            assert echoes == [f"r{round_} m{i}" for i in range(COUNT)], lines
            assert lines[-1] == f":messenger PONG messenger b{round_}"
        assert len(said(bob, 3 * COUNT)) == 3 * COUNT  # the other node got them too
    finally:
        ivy.close()
        bob.close()


def test_a_ping_before_registration_is_answered_at_once(irc_node: tuple[IRCServer, ClusterNode]) -> None:
    server, _ = irc_node
    eve = IRCRaw(server.irc_port)
    try:
        eve.send("PING :early")
        assert eve.line() == ":messenger PONG messenger early"
    finally:
        eve.close()

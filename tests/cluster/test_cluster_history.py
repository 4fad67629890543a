"""History is shared: a message said on one node is in every node's history under the id its
readers got live, including a node started later with an empty database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from messenger.client import Client
from messenger.cluster.node import attach
from messenger.core.store import SQLiteStore
from messenger.protocol import Joined, Message
from messenger.server import ServerConfig

from ..clitools import WAIT, wait_for_joined
from ..historytools import log_in, page, say_and_wait
from ..ircport import IRCRaw, IRCServer, command_of
from ..webclient import WsClient
from .clustertools import Node, said
from .redistools import RedisServer


def replayed(received: list[object]) -> list[tuple[int, str, str]]:
    """(id, sender, text) of the replayed messages among what a login received."""
    return [(f.id, f.sender, f.text) for f in received if isinstance(f, Message) and f.history]


def test_a_node_started_later_replays_earlier_history_on_login_and_in_pages(
    nodes: Callable[..., Node], tmp_path: Path
) -> None:
    one = nodes("one", db=tmp_path / "one.db")
    alice, _ = log_in(one.port, "alice")
    try:
        alice.join("#dev")
        echoes = say_and_wait(alice, *(f"m{i}" for i in range(5)))
        alice.say("in dev", room="#dev")
        [in_dev] = said(alice, 1)
        two = nodes("two", db=tmp_path / "two.db")  # started after all of it, its database empty
        bob, received = log_in(two.port, "bob", history=10)
        try:
            want = [(m.id, "alice", m.text) for m in echoes]
            assert replayed(received) == want
            bob.history(limit=2, before=echoes[3].id)  # a page further back: ids as said live
            messages, end = page(bob)
            assert [(m.id, m.text) for m in messages] == [(echoes[1].id, "m1"), (echoes[2].id, "m2")]
            assert end.more is True
            bob.join("#dev")  # a room's history too
            dev = [f for f in _until_joined(bob, "bob") if isinstance(f, Message) and f.history]
            assert [(m.id, m.text, m.room) for m in dev] == [(in_dev.id, "in dev", "#dev")]
        finally:
            bob.close()
    finally:
        alice.close()


def _until_joined(client: Client, user: str) -> list[object]:
    """What ``client`` receives up to ``user``'s ``joined`` (a room's replay comes before it)."""
    frames: list[object] = []
    while not (frames and isinstance(frames[-1], Joined) and frames[-1].user == user):
        frames.append(client.receive(timeout=WAIT))
    return frames


def test_every_node_replays_the_same_messages_under_the_ids_seen_live(
    nodes: Callable[..., Node], tmp_path: Path
) -> None:
    dbs = [tmp_path / f"{name}.db" for name in ("one", "two", "three")]
    one, two = nodes("one", db=dbs[0]), nodes("two", db=dbs[1])
    alice, _ = log_in(one.port, "alice")
    bob, _ = log_in(two.port, "bob")
    try:
        wait_for_joined(alice, "bob")
        for i in range(4):
            alice.say(f"a{i}")
            bob.say(f"b{i}")
        live = [(m.id, m.sender, m.text) for m in said(alice, 8)]
        assert [m[0] for m in live] == sorted({m[0] for m in live})  # strictly increasing
        assert [(m.id, m.sender, m.text) for m in said(bob, 8)] == live
        three = nodes("three", db=dbs[2])
        for node in (one, two, three):
            viewer, received = log_in(node.port, f"viewer{node.name}", history=20)
            viewer.close()
            assert replayed(received) == live, node.name
    finally:
        alice.close()
        bob.close()


def test_the_web_page_and_the_irc_port_of_a_later_node_replay_history(
    redis_server: RedisServer, nodes: Callable[..., Node], tmp_path: Path
) -> None:
    one = nodes("one", db=tmp_path / "one.db")
    alice, _ = log_in(one.port, "alice")
    said_live = [(m.id, m.text) for m in say_and_wait(alice, "for the page", "and for irc")]
    alice.close()
    two = IRCServer(ServerConfig(max_rate=0), store=SQLiteStore(tmp_path / "two.db"))
    cluster = attach(two.server, redis_server.url, "two")
    web = two.server.open_web(("127.0.0.1", 0), ())
    page = WsClient(web.port)
    ircer = IRCRaw(two.irc_port)
    try:
        page.send_json({"type": "hello", "user": "webby", "history": 10})
        frames = []
        while not ((frame := page.frame())["type"] == "joined" and frame["user"] == "webby"):
            frames.append(frame)
        assert [(f["id"], f["text"]) for f in frames if f["type"] == "message" and f["history"]] == said_live
        lines = ircer.register("ircy", "CAP REQ :server-time batch", "CAP END")
        lines += ircer.until(lambda line: "and for irc" in line)
        replayed = [line for line in lines if command_of(line) == "PRIVMSG"]
        assert [line.rpartition(" :")[2] for line in replayed] == ["for the page", "and for irc"]
        assert all("batch=" in line for line in replayed)
    finally:
        page.close()
        ircer.close()
        two.stop()
        cluster.stop()

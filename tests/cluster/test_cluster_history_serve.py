"""Shared history with ``messenger serve --redis`` processes: a node started later, a node that was
down (``kill -9``) while others chatted, and a node restarted with an empty database all replay
the whole conversation, each message once, under the ids its readers got live.  (Node ``one``
runs in this process: each test starts two processes, which a busy machine makes slow.)"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from messenger.client import Client
from messenger.protocol import Left, Message

from ..clitools import WAIT, ServeProcess
from ..historytools import log_in, say_and_wait
from .clustertools import Node
from .redistools import RedisServer


def serve_node(children: list[ServeProcess], redis: RedisServer, name: str, db: Path) -> ServeProcess:
    child = ServeProcess(
        "--port", "0", "--no-web", "--node", name, "--db", str(db), env={"MESSENGER_REDIS": redis.url}
    )
    children.append(child)
    return child


def replay_on(node: ServeProcess, user: str) -> list[tuple[int, str]]:
    """(id, text) of what a login on ``node`` replays."""
    client, received = log_in(node.port, user, history=50)
    client.close()
    return [(f.id, f.text) for f in received if isinstance(f, Message) and f.history]


def test_a_node_started_later_and_after_being_down_replays_the_whole_history(
    redis_server: RedisServer, nodes: Callable[..., Node], children: list[ServeProcess], tmp_path: Path
) -> None:
    one = nodes("one", db=tmp_path / "one.db")
    alice, _ = log_in(one.port, "alice")
    try:
        said = [(m.id, m.text) for m in say_and_wait(alice, "first", "second", "third")]
        two = serve_node(children, redis_server, "two", tmp_path / "two.db")
        assert replay_on(two, "bob") == said  # said before it started
        wait_for_left(alice, "bob")
        two.stop()  # kill -9
        said += [(m.id, m.text) for m in say_and_wait(alice, "while two was down", "still down")]
        two = serve_node(children, redis_server, "two", tmp_path / "two.db")  # its database again
        assert replay_on(two, "carol") == said
        assert [number for number, _ in said] == sorted({number for number, _ in said})
    finally:
        alice.close()


def test_a_node_restarted_with_an_empty_database_replays_the_whole_history(
    redis_server: RedisServer, nodes: Callable[..., Node], children: list[ServeProcess], tmp_path: Path
) -> None:
    one = nodes("one", db=tmp_path / "one.db")
    two = serve_node(children, redis_server, "two", tmp_path / "two.db")
    alice, _ = log_in(one.port, "alice")
    bob, _ = log_in(two.port, "bob")
    try:
        said = [(m.id, m.text) for m in say_and_wait(bob, "from two")]
        said += [(m.id, m.text) for m in say_and_wait(alice, "from one")]
        bob.close()
        wait_for_left(alice, "bob")
        two.stop()  # kill -9, and its database is lost
        two = serve_node(children, redis_server, "two", tmp_path / "empty.db")
        assert replay_on(two, "dave") == said
    finally:
        alice.close()


def wait_for_left(client: Client, user: str) -> None:
    while not (isinstance(frame := client.receive(timeout=WAIT), Left) and frame.user == user):
        pass

"""Three ``messenger serve --redis`` nodes as child processes: everyone's messages reach everyone
in one order with increasing ids, and a node killed with ``kill -9`` leaves the other two."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from messenger.client import Client
from messenger.protocol import Left

from ..clitools import ServeProcess, login, wait_for_joined
from .clustertools import said
from .redistools import RedisServer

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def three(redis_server: RedisServer) -> Iterator[list[ServeProcess]]:
    started: list[ServeProcess] = []
    try:
        for name in ("one", "two", "three"):
            env = {"MESSENGER_REDIS": redis_server.url}
            started.append(ServeProcess("--port", "0", "--no-web", "--node", name, env=env))
        yield started
    finally:
        for child in started:
            child.stop()


def test_three_nodes_as_processes_one_order_and_a_killed_one_leaves(three: list[ServeProcess]) -> None:
    people: list[Client] = []
    try:
        for node, user in zip(three, ("ann", "ben", "cat"), strict=True):
            people.append(login(node.port, user))
        for person in people[:2]:
            wait_for_joined(person, "cat")
        for round_ in range(3):
            for person in people:
                person.say(f"{person.user} {round_}")
        seen = [[(m.id, m.sender, m.text) for m in said(person, 9)] for person in people]
        assert seen[0] == seen[1] == seen[2]  # one order, the same ids, on every node
        ids = [entry[0] for entry in seen[0]]
        assert ids == sorted(set(ids))
        assert sorted(text for _, _, text in seen[0]) == sorted(
            f"{u} {r}" for u in ("ann", "ben", "cat") for r in range(3)
        )
        os.kill(three[2].proc.pid, signal.SIGKILL)
        for person in people[:2]:
            while not isinstance(frame := person.receive(timeout=10), Left):
                pass
            assert frame.user == "cat"
    finally:
        for person in people:
            person.close()

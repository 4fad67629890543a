"""Names across the cluster: one name, one holder, whichever node is asked."""

from __future__ import annotations

import threading
from collections.abc import Callable

from messenger.client import Client, NameTaken
from messenger.protocol import Left, Renamed

from ..clitools import WAIT, login, wait_for_joined
from .clustertools import Node

TRIALS = 40


def race(ports: tuple[int, int], name: str) -> list[Client | None]:
    """Two logins as ``name`` at the same instant, one per node; the clients that got it."""
    barrier = threading.Barrier(2)
    results: list[Client | None] = [None, None]
    connected = [Client.connect("127.0.0.1", port, timeout=WAIT) for port in ports]

    def attempt(index: int) -> None:
        barrier.wait(timeout=WAIT)
        try:
            connected[index].login(name)
            results[index] = connected[index]
        except NameTaken:
            connected[index].close()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=WAIT * 2)
    return results


def test_two_nodes_granting_one_name_at_once_exactly_one_wins(nodes: Callable[..., Node]) -> None:
    one, two = nodes("one"), nodes("two")
    winners: list[Client] = []
    try:
        for trial in range(TRIALS):
            got = [client for client in race((one.port, two.port), f"Racer{trial}") if client]
            winners.extend(got)
            assert len(got) == 1, f"trial {trial}: {len(got)} nodes granted the name"
    finally:
        for client in winners:
            client.close()


def test_a_lookalike_of_a_name_held_on_another_node_is_taken(
    nodes: Callable[..., Node], clients: Callable[[int, str], Client]
) -> None:
    one, two = nodes("one"), nodes("two")
    clients(one.port, "Alice")
    other = Client.connect("127.0.0.1", two.port, timeout=WAIT)
    try:
        for lookalike in ("alice", "ALICE", "A1ice", "AIice"):  # one name_key: "allce"
            try:
                other.login(lookalike)
            except NameTaken:
                continue
            raise AssertionError(f"{lookalike!r} was granted on the other node")
    finally:
        other.close()


def test_a_name_is_free_everywhere_once_its_holder_leaves_or_renames(
    nodes: Callable[..., Node], clients: Callable[[int, str], Client]
) -> None:
    one, two = nodes("one"), nodes("two")
    watcher = clients(two.port, "watcher")
    first = clients(one.port, "first")
    wait_for_joined(watcher, "first")
    first.nick("second")
    while not isinstance(frame := watcher.receive(timeout=WAIT), Renamed):
        pass
    assert (frame.old, frame.new) == ("first", "second")
    login(two.port, "first").close()  # the old name is free on the other node
    first.bye()
    while not isinstance(frame := watcher.receive(timeout=WAIT), Left) or frame.user != "second":
        pass
    login(two.port, "second").close()

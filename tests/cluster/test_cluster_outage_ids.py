"""Ids through a Redis outage: a node cut off numbers its users' messages in a range of its own and
keeps those ids when it is back; what comes late comes marked as history; no reader ever gets a
live id below one it got before, and every node's history holds each message once, under the id
its readers got."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from messenger.client import Client
from messenger.protocol import Message
from messenger.protocol.moderation import Notice

from ..clitools import WAIT, wait_for_joined
from ..historytools import log_in
from .clustertools import Node
from .cutproxy import CutProxy
from .redistools import RedisServer


def cut_node(
    nodes: Callable[..., Node], proxy: CutProxy, name: str, db: Path
) -> tuple[Node, dict[bool, threading.Event]]:
    """A node reaching Redis through ``proxy``, and events set when it finds Redis gone or back."""
    node = nodes(name, url=proxy.url, db=db)
    events = {False: threading.Event(), True: threading.Event()}
    node.cluster.bus.on_state = lambda up: events[up].set()
    return node, events


class Reader:
    """Everything one client receives, read until it has the messages asked for."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.frames: list[object] = []

    def until(self, *texts: str) -> None:
        """Read until a message with each of ``texts`` came (live or as history)."""
        while not set(texts) <= {f.text for f in self.messages()}:
            self.frames.append(self.client.receive(timeout=WAIT * 2))

    def messages(self) -> list[Message]:
        return [f for f in self.frames if isinstance(f, Message)]

    def ids(self) -> dict[str, int]:
        return {m.text: m.id for m in self.messages()}


def test_a_cut_off_node_keeps_its_ids_and_nobody_sees_an_id_go_back(
    nodes: Callable[..., Node], proxy: CutProxy, tmp_path: Path
) -> None:
    one, link = cut_node(nodes, proxy, "one", tmp_path / "one.db")
    two = nodes("two", db=tmp_path / "two.db")
    alice_client, _ = log_in(one.port, "alice")
    bob_client, _ = log_in(two.port, "bob")
    alice, bob = Reader(alice_client), Reader(bob_client)
    try:
        wait_for_joined(alice_client, "bob")
        alice_client.say("before")
        alice.until("before")
        bob.until("before")
        proxy.cut()
        assert link[False].wait(WAIT)
        gap = [f"g{i}" for i in range(5)]
        for text in gap:
            bob_client.say(text)  # numbered by Redis while one is cut off
        bob.until(*gap)
        for text in ("p0", "p1"):
            alice_client.say(text)  # numbered by one itself, delivered there at once
        alice.until("p0", "p1")
        proxy.heal()
        assert link[True].wait(WAIT * 2)
        alice.until(*gap)
        bob.until("p0", "p1")
        bob_client.say("after")
        alice.until("after")
        bob.until("after")
        everything = ["before", *gap, "p0", "p1", "after"]
        for reader in (alice, bob):
            texts = [m.text for m in reader.messages()]
            assert sorted(texts) == sorted(everything), texts  # each once
            live = [m.id for m in reader.messages() if not m.history]
            assert live == sorted(set(live)), reader.messages()  # never back, never twice
        assert alice.ids() == bob.ids()  # one id per message, cluster-wide
        late = [m for m in alice.messages() if m.history]
        assert [m.text for m in late] == gap  # the others' messages of the gap came late
        notices = [f for f in alice.frames if isinstance(f, Notice) and f.re == "late"]
        first_late = alice.frames.index(late[0])
        assert len(notices) == 1 and alice.frames.index(notices[0]) < first_late
        assert alice.ids()["after"] == max(alice.ids().values())  # numbered above the kept ids
        by_id = sorted(everything, key=lambda text: alice.ids()[text])
        for node in (one, two):
            viewer, received = log_in(node.port, f"viewer{node.name}", history=50)
            viewer.close()
            history = [(f.id, f.text) for f in received if isinstance(f, Message) and f.history]
            assert history == [(alice.ids()[text], text) for text in by_id], node.name
    finally:
        alice_client.close()
        bob_client.close()


def test_two_nodes_cut_off_at_once_number_apart_and_agree_once_back(
    redis_server: RedisServer, nodes: Callable[..., Node], tmp_path: Path
) -> None:
    """A Redis restart cuts every node off at once: each numbers in its own range, so no id is
    given twice, and once back every reader has every message once, live ids rising."""
    one, two = nodes("one", db=tmp_path / "one.db"), nodes("two", db=tmp_path / "two.db")
    links = []
    for node in (one, two):
        events = {False: threading.Event(), True: threading.Event()}
        node.cluster.bus.on_state = lambda up, events=events: events[up].set()
        links.append(events)
    alice_client, _ = log_in(one.port, "alice")
    bob_client, _ = log_in(two.port, "bob")
    alice, bob = Reader(alice_client), Reader(bob_client)
    try:
        wait_for_joined(alice_client, "bob")
        bob_client.say("before")
        alice.until("before")
        bob.until("before")
        redis_server.stop()
        for events in links:
            assert events[False].wait(WAIT)
        for text in ("a1", "a2"):
            alice_client.say(text)
        bob_client.say("b1")
        alice.until("a1", "a2")
        bob.until("b1")
        redis_server.restart()
        for events in links:
            assert events[True].wait(WAIT * 2)
        alice.until("b1")
        bob.until("a1", "a2")
        alice_client.say("after")
        alice.until("after")
        bob.until("after")
        everything = ["before", "a1", "a2", "b1", "after"]
        for reader in (alice, bob):
            assert sorted(m.text for m in reader.messages()) == sorted(everything)
            live = [m.id for m in reader.messages() if not m.history]
            assert live == sorted(set(live)), reader.messages()
        assert alice.ids() == bob.ids()
        assert len(set(alice.ids().values())) == len(everything)
        by_id = sorted(everything, key=lambda text: alice.ids()[text])
        for node in (one, two):
            viewer, received = log_in(node.port, f"viewer{node.name}", history=50)
            viewer.close()
            history = [(f.id, f.text) for f in received if isinstance(f, Message) and f.history]
            assert history == [(alice.ids()[text], text) for text in by_id], node.name
    finally:
        alice_client.close()
        bob_client.close()

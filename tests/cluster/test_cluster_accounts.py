"""Accounts are the cluster's: registered through one node (or ``users --redis``), they log in on
every node, their names are protected on every node, and one name is registered only once."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from messenger.client import Client, NameTaken
from messenger.cluster.accounts import ACCOUNTS, RedisAccounts, record
from messenger.core.accounts import AccountError, Accounts
from messenger.core.roles import Role
from messenger.protocol import Left
from messenger.protocol.names import name_key

from ..clitools import WAIT
from .clustertools import Node
from .redistools import RedisServer
from .sharedtools import PASSWORD, json_login, login_as, refused, settle, users


def test_an_account_registered_through_one_node_logs_in_on_the_others(
    nodes: Callable[..., Node], clients: Callable[[int, str], Client]
) -> None:
    one, two = nodes("one"), nodes("two")
    watcher, listener = clients(one.port, "watcher"), clients(two.port, "listener")
    one.accounts.add("alice", PASSWORD)
    settle(watcher, listener)  # two has read the stream up to here
    assert refused(two.port, "alice", "wrong password") == "bad_password"
    assert refused(two.port, "alice") == "password_required"  # a guest may not take it
    assert refused(two.port, "ALICE") == "password_required"  # nor in another case
    assert refused(two.port, "\u0251lice") == "password_required"  # nor a lookalike (Latin alpha)
    alice = login_as(two.port, "alice", PASSWORD)
    assert alice.welcome is not None and alice.welcome.account == "alice"
    alice.close()
    three = nodes("three")  # a node started later knows the account too
    later = login_as(three.port, "Alice", PASSWORD)
    assert later.user == "alice"
    later.close()


def test_a_guest_cannot_take_a_registered_name_by_renaming_on_another_node(
    nodes: Callable[..., Node], clients: Callable[[int, str], Client]
) -> None:
    one, two = nodes("one"), nodes("two")
    watcher, guest = clients(one.port, "watcher"), clients(two.port, "guest")
    one.accounts.add("alice", PASSWORD)
    settle(watcher, guest)
    for name in ("alice", "Alice", "\u0251lice", "\uff41\uff4c\uff49\uff43\uff45"):
        guest.nick(name)
        while (frame := guest.receive(timeout=WAIT)).TYPE != "error":
            assert frame.TYPE != "renamed", frame
        assert frame.code == "name_registered"


def test_redis_itself_refuses_a_registered_name_to_a_guest(
    nodes: Callable[..., Node], redis_server: RedisServer
) -> None:
    """A node whose copy of the accounts is behind (here: an account written to Redis without
    its entry, as a node would see it in the moment before reading the entry) still refuses
    the name: the claim checks the accounts in the same Redis step."""
    one = nodes("one")
    direct = redis.Redis.from_url(redis_server.url)
    direct.hset(ACCOUNTS, name_key("mallory"), json.dumps(record("mallory", PASSWORD, Role.USER)))
    assert one.accounts.lookup("mallory") is None  # the node does not know of it yet
    client = Client.connect("127.0.0.1", one.port, timeout=WAIT)
    with pytest.raises(NameTaken):
        client.login("Mallory", history=0)
    client.close()
    guest = json_login(one.port, "guest")
    guest.send_json({"type": "nick", "user": "mallory"})
    while (frame := json.loads(guest.line()))["type"] != "error":
        assert frame["type"] != "renamed", frame
    assert frame["code"] == "name_taken"
    guest.close()
    direct.close()


def register_at_once(nodes: list[Node], name: str) -> list[str]:
    """Every node registers ``name`` at the same instant (its own password); the winners'."""
    start = threading.Barrier(len(nodes))
    won: list[str] = []

    def register(node: Node) -> None:
        password = f"{node.name}'s password"
        start.wait(timeout=WAIT)
        try:
            node.accounts.add(name, password)
            won.append(password)
        except AccountError:
            pass

    threads = [threading.Thread(target=register, args=(node,)) for node in nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=WAIT)
    return won


def test_two_nodes_registering_one_name_at_once_exactly_one_wins(
    nodes: Callable[..., Node], redis_server: RedisServer
) -> None:
    one, two = nodes("one"), nodes("two")
    stored = RedisAccounts(redis.Redis.from_url(redis_server.url))
    for round_ in range(5):
        name = f"twin{round_}"
        won = register_at_once([one, two], name)
        assert len(won) == 1, won
        assert stored.verify(name, won[0])  # the winner's password is the cluster's
    stored.close()


def test_users_with_redis_registers_changes_and_removes_for_every_node(
    nodes: Callable[..., Node],
    clients: Callable[[int, str], Client],
    redis_server: RedisServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    one, two = nodes("one"), nodes("two")
    watcher, listener = clients(one.port, "watcher"), clients(two.port, "listener")
    observer = clients(two.port, "observer")  # sees bob's sessions go (settle() skips frames)
    url = ["--redis", redis_server.url]
    assert users("add", "bob", *url, input="first password\n") == (0, "")
    settle(watcher, listener)
    settle(listener, watcher)  # both nodes have read the change
    for node in (one, two):
        login_as(node.port, "bob", "first password").close()
    capsys.readouterr()
    assert users("add", "BOB", *url, input="other password\n")[0] == 1
    assert "bob is already registered" in capsys.readouterr().err.lower()
    assert users("passwd", "bob", *url, input="second password\n") == (0, "")
    settle(watcher, listener)
    settle(listener, watcher)
    for node in (one, two):
        assert refused(node.port, "bob", "first password") == "bad_password"
        login_as(node.port, "bob", "second password").close()
    for _ in range(4):  # the four sessions above are gone (their names released before)
        while not (isinstance(frame := observer.receive(timeout=WAIT), Left) and frame.user == "bob"):
            pass
    assert users("role", "bob", "op", *url) == (0, "")
    settle(watcher, listener)
    assert two.accounts.lookup("bob").role is Role.OP  # type: ignore[union-attr]
    assert users("remove", "bob", *url) == (0, "")
    settle(watcher, listener)
    assert two.accounts.lookup("bob") is None  # two has read the removal (settled above)
    login_as(two.port, "bob").close()  # the name is anyone's again


def test_users_import_shares_a_databases_accounts(
    nodes: Callable[..., Node], redis_server: RedisServer, tmp_path: Path
) -> None:
    db = tmp_path / "old.db"
    local = Accounts(db)
    local.add("carol", PASSWORD, Role.OP)
    local.add("dave", "dave's password")
    local.close()
    one = nodes("one")
    one.accounts.add("Dave", "the cluster's dave")  # the cluster's dave stays the cluster's
    assert users("import", "--db", str(db), "--redis", redis_server.url) == (0, "")
    two = nodes("two")
    carol = login_as(two.port, "carol", PASSWORD)  # her password and role came along
    assert two.accounts.lookup("carol").role is Role.OP  # type: ignore[union-attr]
    carol.close()
    assert refused(two.port, "dave", "dave's password") == "bad_password"


def test_a_nodes_own_database_grants_no_name_nor_role_in_a_cluster(
    redis_server: RedisServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An account only in one node's database (an old admin, say) is not the cluster's: it
    cannot log in there, and the node's log names it and says how to share it."""
    db = tmp_path / "node.db"
    local = Accounts(db)
    local.add("root", PASSWORD, Role.ADMIN)
    local.close()
    with caplog.at_level("WARNING", logger="messenger.cluster"):
        node = Node(redis_server.url, "one", db=db)
    try:
        assert any("root" in r.message and "users import" in r.message for r in caplog.records)
        assert refused(node.port, "root", PASSWORD) == "bad_password"
        login_as(node.port, "root").close()  # a name like any other here
    finally:
        node.stop()

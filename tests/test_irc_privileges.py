"""Every way to a privilege through the IRC door, tried by an attacker over real sockets: a
registered name (or a lookalike of one) by NICK before and after registering, a banned name,
SASL with a wrong password or someone else's account, PASS (the server's password), the
operators' commands by someone who is not one, and the takeover of a registered name another
session holds.  Each is refused, and whoever was targeted notices nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from messenger.core.accounts import Accounts
from messenger.core.moderation import Moderation
from messenger.core.roles import Role
from messenger.core.store import SQLiteStore
from messenger.server import ServerConfig

from .accountstools import PASSWORD
from .ircport import IRCRaw, IRCServer, command_of, sasl_plain

pytestmark = pytest.mark.timeout(25)
BOB_PASSWORD = "bobs own secret"


def start(started: list[IRCServer], path: Path, **config: object) -> IRCServer:
    """A server where alice and bob are registered users, olive an operator, adam an admin."""
    accounts = Accounts(path)
    for name, password, role in (
        ("alice", PASSWORD, Role.USER),
        ("bob", BOB_PASSWORD, Role.USER),
        ("olive", PASSWORD, Role.OP),
        ("adam", PASSWORD, Role.ADMIN),
    ):
        accounts.add(name, password, role)
    config.setdefault("max_rate", 0)
    server = IRCServer(
        ServerConfig(**config),  # type: ignore[arg-type]
        store=SQLiteStore(path),
        accounts=accounts,
        moderation=Moderation(path),
    )
    started.append(server)
    return server


def nothing_happened(client: IRCRaw, token: str = "still-here") -> None:
    """The next line ``client`` gets is the answer to its PING: nothing reached it before."""
    client.send(f"PING {token}")
    assert client.line().endswith(f"PONG messenger {token}")


def sasl(client: IRCRaw, account: str, password: str) -> str:
    client.send("AUTHENTICATE PLAIN")
    client.command("AUTHENTICATE")
    client.send("AUTHENTICATE " + sasl_plain(account, password))
    return command_of(client.until(lambda line: command_of(line) in ("903", "904"))[-1])


def refused(client: IRCRaw, line: str) -> str:
    client.send(line)
    answer = client.line()
    assert command_of(answer) in ("431", "432", "433", "464", "465", "481", "482"), (line, answer)
    return command_of(answer)


def test_a_registered_name_or_a_lookalike_needs_its_password(
    tmp_path: Path, started: list[IRCServer]
) -> None:
    server = start(started, tmp_path / "chat.db")
    client = IRCRaw(server.irc_port)
    client.send("USER x 0 * :X")
    for nick in ("alice", "ALICE", "aIice", "ALİCE", "a\u0430lice"[1:]):  # the last: Cyrillic а
        assert refused(client, f"NICK {nick}") in ("432", "433"), nick
    client.send("PASS :wrong")
    assert refused(client, "NICK alice") == "464"
    client.send(f"PASS :{BOB_PASSWORD}")  # an account's password, but another account's
    assert refused(client, "NICK alice") == "464"
    client.close()
    client = IRCRaw(server.irc_port)  # (a PASS given stays: a fresh connection to register)
    client.register("guest")
    for nick in ("alice", "Alice", "aIice", "ALİCE"):  # after registering: the same
        assert refused(client, f"NICK {nick}") == "433", nick
    client.send("WHOIS guest")
    assert not any(command_of(line) == "330" for line in client.command("318"))  # no account
    client.close()


def test_sasl_with_a_wrong_password_or_someone_elses_account(
    tmp_path: Path, started: list[IRCServer]
) -> None:
    server = start(started, tmp_path / "chat.db")
    client = IRCRaw(server.irc_port)
    client.send("CAP REQ :sasl")
    client.command("CAP")
    assert sasl(client, "alice", "wrong") == "904"
    assert sasl(client, "alice", BOB_PASSWORD) == "904"  # bob's password does not open alice
    assert sasl(client, "bob", BOB_PASSWORD) == "903"
    client.send("NICK alice\r\nUSER b 0 * :B\r\nCAP END")  # bob's account, alice's name
    assert command_of(client.line()) == "433"
    client.send("NICK bob")
    assert command_of(client.line()) == "001"
    client.command("366")
    assert refused(client, "NICK alice") == "433"
    client.close()


def test_a_registered_name_held_by_another_session_is_not_taken_over(
    tmp_path: Path, started: list[IRCServer]
) -> None:
    server = start(started, tmp_path / "chat.db")
    alice = IRCRaw(server.irc_port)
    alice.register("alice", f"PASS :{PASSWORD}")
    attacker = IRCRaw(server.irc_port)
    attacker.send("USER m 0 * :M")
    assert refused(attacker, "NICK alice") == "433"
    attacker.send("PASS :guess")
    assert refused(attacker, "NICK Alice") == "464"
    attacker.send("CAP REQ :sasl")
    attacker.command("CAP")
    assert sasl(attacker, "alice", "guess") == "904"
    attacker.close()
    attacker = IRCRaw(server.irc_port)
    attacker.register("mallory")
    alice.command("JOIN")  # mallory's arrival, and nothing else
    nothing_happened(alice)
    for nick in ("alice", "aIice"):
        assert refused(attacker, f"NICK {nick}") == "433"
    attacker.send("KILL alice\r\nKICK #lobby alice\r\nMODE #lobby +b alice!*@*\r\nMODE #lobby +q alice")
    for _ in range(4):
        assert command_of(attacker.line()) in ("481", "482")
    nothing_happened(alice, "after-attack")
    for client in (alice, attacker):
        client.close()


def test_a_banned_name_and_its_lookalikes_are_refused(tmp_path: Path, started: list[IRCServer]) -> None:
    server = start(started, tmp_path / "chat.db")
    adam = IRCRaw(server.irc_port)
    adam.register("adam", f"PASS :{PASSWORD}")
    adam.send("MODE #lobby +b mallory!*@*")
    adam.until(lambda line: "mallory" in line)  # the ban's confirmation
    client = IRCRaw(server.irc_port)
    client.send("USER m 0 * :M")
    for nick in ("mallory", "MALLORY", "maIlory"):
        assert refused(client, f"NICK {nick}") == "465", nick
    client.send("NICK guest")
    assert command_of(client.line()) == "001"
    client.command("366")
    for nick in ("mallory", "maIlory"):
        assert refused(client, f"NICK {nick}") == "465", nick
    for other in (adam, client):
        other.close()


def test_operators_commands_by_someone_who_is_not_one(tmp_path: Path, started: list[IRCServer]) -> None:
    server = start(started, tmp_path / "chat.db")
    olive = IRCRaw(server.irc_port)
    olive.register("olive", f"PASS :{PASSWORD}")
    bob = IRCRaw(server.irc_port)
    bob.register("bob", f"PASS :{BOB_PASSWORD}")
    olive.command("JOIN")
    for line in (
        "MODE #lobby +o bob",
        "MODE #lobby +b olive!*@*",
        "MODE #lobby +b *!*@127.0.0.1",
        "MODE #lobby -b mallory",
        "MODE #lobby +m",
        "MODE #lobby -m",
        "MODE #lobby +q olive",
        "MODE #lobby +v bob",
        "INVITE bob #lobby",
        "KICK #lobby olive :bye",
        "KILL olive :bye",
    ):
        refused(bob, line)
    refused(olive, "MODE #lobby +o bob")  # an operator, not an admin: may not give the role
    bob.send("MODE #lobby")
    assert bob.line().endswith("324 bob #lobby +")  # no mode changed
    bob.send("PRIVMSG #lobby :not muted")
    assert olive.command("PRIVMSG")[-1].endswith(":not muted")
    nothing_happened(olive)
    for client in (olive, bob):
        client.close()


def test_the_server_password(tmp_path: Path, started: list[IRCServer]) -> None:
    server = start(started, tmp_path / "chat.db", password="sesame")
    client = IRCRaw(server.irc_port)
    client.send("USER x 0 * :X")
    assert refused(client, "NICK guest") == "464"  # no PASS
    client.send("PASS :open sesame")
    assert refused(client, "NICK guest") == "464"
    client.send("PASS :sesame")  # the server's password does not open a registered name
    assert refused(client, "NICK alice") == "464"
    client.send("NICK guest")
    assert command_of(client.line()) == "001"
    client.close()

"""PASS on an open server: IRC clients that always send one (bouncers, some clients) register
under a name without an account as a guest, as a client without PASS does, since IRC cannot take
a PASS back.  Everywhere else PASS counts as before: a registered name (or a lookalike of one)
still needs its own password, ``--password`` and ``--auth required`` still refuse."""

from __future__ import annotations

from pathlib import Path

import pytest

from messenger.core.accounts import Accounts
from messenger.server import ServerConfig

from .accountstools import PASSWORD
from .ircport import IRCRaw, IRCServer, command_of

pytestmark = pytest.mark.timeout(25)


def start(started: list[IRCServer], path: Path | None, **config: object) -> IRCServer:
    """A server where alice is a registered user (no accounts at all without ``path``)."""
    accounts = None
    if path is not None:
        accounts = Accounts(path)
        accounts.add("alice", PASSWORD)
    config.setdefault("max_rate", 0)
    server = IRCServer(ServerConfig(**config), accounts=accounts)  # type: ignore[arg-type]
    started.append(server)
    return server


def answer_to_nick(client: IRCRaw, nick: str) -> list[str]:
    """Send NICK and read up to its answer: 001 (registered) or the numeric refusing it."""
    client.send(f"NICK {nick}")
    return client.until(lambda line: command_of(line) in ("001", "432", "433", "464", "465"))


def is_guest(client: IRCRaw, nick: str) -> bool:
    """Whether ``nick`` (registered by ``client``) is online without an account (no 330)."""
    client.command("366")
    client.send(f"WHOIS {nick}")
    lines = client.command("318")
    assert any(command_of(line) == "311" for line in lines), lines
    return not any(command_of(line) == "330" for line in lines)


def test_a_pass_for_a_name_without_an_account_logs_in_a_guest(
    tmp_path: Path, started: list[IRCServer]
) -> None:
    server = start(started, tmp_path / "chat.db")
    client = IRCRaw(server.irc_port)
    try:
        client.send("PASS :my bouncer password\r\nUSER g 0 * :G")
        lines = answer_to_nick(client, "guest")
        assert command_of(lines[-1]) == "001", lines
        assert any("NOTICE" in line and "PASS is not used" in line for line in lines), lines
        assert is_guest(client, "guest")
    finally:
        client.close()


def test_the_same_connection_is_still_refused_a_registered_name_then_registers_a_guest(
    tmp_path: Path, started: list[IRCServer]
) -> None:
    server = start(started, tmp_path / "chat.db")
    client = IRCRaw(server.irc_port)
    try:
        client.send("PASS :wrong\r\nUSER g 0 * :G")
        assert command_of(answer_to_nick(client, "alice")[-1]) == "464"
        for lookalike in ("ALICE", "aIice", "ALİCE"):  # alice's account: the PASS is hers to match
            assert command_of(answer_to_nick(client, lookalike)[-1]) == "464", lookalike
        assert command_of(answer_to_nick(client, "guest")[-1]) == "001"
        assert is_guest(client, "guest")
    finally:
        client.close()


def test_the_right_pass_still_logs_in_to_the_account(tmp_path: Path, started: list[IRCServer]) -> None:
    server = start(started, tmp_path / "chat.db")
    client = IRCRaw(server.irc_port)
    try:
        client.send(f"PASS :{PASSWORD}\r\nUSER a 0 * :A")
        lines = answer_to_nick(client, "Alice")
        assert command_of(lines[-1]) == "001"
        assert not any("PASS is not used" in line for line in lines)
        assert not is_guest(client, "alice")
    finally:
        client.close()


def test_an_open_server_without_accounts(started: list[IRCServer]) -> None:
    server = start(started, None)
    client = IRCRaw(server.irc_port)
    try:
        client.send("PASS :x\r\nUSER g 0 * :G")
        assert command_of(answer_to_nick(client, "guest")[-1]) == "001"
    finally:
        client.close()


@pytest.mark.parametrize("config", [{"password": "sesame"}, {"auth": "required"}])
def test_a_server_that_needs_a_password_still_refuses_a_wrong_one(
    tmp_path: Path, started: list[IRCServer], config: dict[str, str]
) -> None:
    server = start(started, tmp_path / "chat.db", **config)
    client = IRCRaw(server.irc_port)
    try:
        client.send("PASS :wrong\r\nUSER g 0 * :G")
        lines = answer_to_nick(client, "guest")
        assert command_of(lines[-1]) == "464", lines
        assert not any("PASS is not used" in line for line in lines)
    finally:
        client.close()

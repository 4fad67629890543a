"""A SASL PLAIN login over the IRC port checks the account's password once (one scrypt run),
and nothing it guarded is weakened: a wrong password is refused, failures count against the
address's limit, and a JSON login naming an account without its password is still refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from messenger.core.accounts import Accounts
from messenger.server import ServerConfig
from messenger.server.limits import FAILED_LOGIN_BURST

from .accountstools import PASSWORD
from .conftest import RawClient
from .ircport import IRCRaw, IRCServer, command_of, sasl_plain

pytestmark = pytest.mark.timeout(20)


class CountingAccounts(Accounts):
    """Real accounts that count the password checks (each one scrypt run)."""

    checks = 0

    def verify(self, name: str, password: str) -> bool:
        self.checks += 1
        return super().verify(name, password)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[IRCServer]:
    accounts = CountingAccounts(tmp_path / "accounts.db")
    accounts.add("alice", PASSWORD)
    started = IRCServer(ServerConfig(max_rate=0), accounts=accounts)
    yield started
    started.stop()


def sasl(client: IRCRaw, account: str, password: str) -> str:
    """One SASL PLAIN exchange; the numeric that ends it (903 or 904)."""
    client.send("AUTHENTICATE PLAIN")
    assert client.line() == "AUTHENTICATE +"
    client.send("AUTHENTICATE " + sasl_plain(account, password))
    return command_of(client.until(lambda line: command_of(line) in ("903", "904"))[-1])


def test_a_sasl_login_checks_the_password_once(server: IRCServer) -> None:
    accounts = server.accounts
    assert isinstance(accounts, CountingAccounts)
    client = IRCRaw(server.irc_port)
    client.send("CAP REQ :sasl\r\nNICK alice\r\nUSER a 0 * :A")
    client.command("CAP")
    assert sasl(client, "alice", PASSWORD) == "903"
    client.send("CAP END")
    assert command_of(client.line()) == "001"
    client.command("366")
    client.send("WHOIS alice")
    assert any(command_of(line) == "330" for line in client.command("318"))  # logged in
    assert accounts.checks == 1
    client.close()


def test_a_wrong_sasl_password_is_refused_and_registration_goes_on_without(server: IRCServer) -> None:
    client = IRCRaw(server.irc_port)
    client.send("CAP REQ :sasl\r\nNICK alice\r\nUSER a 0 * :A")
    client.command("CAP")
    assert sasl(client, "alice", PASSWORD + "!") == "904"
    client.send("CAP END")
    assert command_of(client.line()) == "433"  # alice is registered: not without its password
    client.send("NICK guest")
    assert command_of(client.line()) == "001"
    client.command("366")
    client.send("WHOIS guest")
    assert not any(command_of(line) == "330" for line in client.command("318"))
    client.close()


def test_sasl_failures_count_against_the_address(server: IRCServer) -> None:
    accounts = server.accounts
    assert isinstance(accounts, CountingAccounts)
    client = IRCRaw(server.irc_port)
    client.send("CAP REQ :sasl")
    client.command("CAP")
    for _ in range(FAILED_LOGIN_BURST):
        assert sasl(client, "alice", "wrong") == "904"
    assert sasl(client, "alice", PASSWORD) == "904"  # the right one, after too many: refused
    assert accounts.checks == FAILED_LOGIN_BURST  # and not even checked
    client.close()


def test_a_json_login_naming_an_account_still_needs_its_password(server: IRCServer) -> None:
    client = RawClient(server.port)
    client.send(json.dumps({"type": "hello", "user": "alice", "account": "alice"}).encode() + b"\n")
    answer = json.loads(client.line())
    assert answer["type"] == "error" and answer["code"] == "password_required"
    client.close()

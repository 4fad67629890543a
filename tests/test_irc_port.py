"""The IRC port over real sockets, with jaraco's ``irc`` client library (and raw lines where
the library gets in the way): registration, capabilities, SASL, channels, private messages,
history with server-time, and IRC, JSON and text users in one chat."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from messenger.core.accounts import Accounts
from messenger.core.moderation import Moderation
from messenger.core.store import SQLiteStore
from messenger.server import ServerConfig

from .accountstools import PASSWORD
from .conftest import RawClient
from .ircport import IRCRaw, IRCServer, LibClient, command_of, sasl_plain

pytestmark = pytest.mark.timeout(20)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[IRCServer]:
    """History, accounts (alice is registered) and moderation in one SQLite file."""
    path = tmp_path / "chat.db"
    started = IRCServer(
        ServerConfig(max_rate=0, history=20),
        store=SQLiteStore(path),
        accounts=Accounts(path),
        moderation=Moderation(path),
    )
    assert started.accounts is not None
    started.accounts.add("alice", PASSWORD)
    yield started
    started.stop()


@pytest.fixture
def irc(server: IRCServer) -> Iterator[Callable[[], IRCRaw]]:
    opened: list[IRCRaw] = []

    def open_irc() -> IRCRaw:
        opened.append(IRCRaw(server.irc_port))
        return opened[-1]

    yield open_irc
    for client in opened:
        client.close()


@pytest.fixture
def lib(server: IRCServer) -> Iterator[Callable[[str], LibClient]]:
    opened: list[LibClient] = []

    def open_lib(nick: str) -> LibClient:
        opened.append(LibClient(server.irc_port, nick))
        opened[-1].wait("endofnames")
        return opened[-1]

    yield open_lib
    for client in opened:
        client.close()


def test_registration_with_the_library(server: IRCServer) -> None:
    client = LibClient(server.irc_port, "zoe")
    try:
        assert client.wait("welcome").arguments[0].endswith("zoe")
        support = client.wait("featurelist").arguments
        assert "CHANTYPES=#" in support and "UTF8ONLY" in support
        assert client.wait("join").target == "#lobby"
        assert "zoe" in client.wait("namreply").arguments[2].split()
    finally:
        client.close()


def test_cap_negotiation(irc: Callable[[], IRCRaw]) -> None:
    client = irc()
    client.send("CAP LS 302")
    offered = client.command("CAP")[-1]
    assert "server-time" in offered and "sasl=PLAIN" in offered and "echo-message" in offered
    client.send("NICK zed\r\nUSER zed 0 * :Zed")  # registration waits for CAP END
    client.send("CAP REQ :server-time echo-message")
    assert client.command("CAP")[-1].endswith("ACK :server-time echo-message")
    client.send("CAP REQ :no-such-cap")
    assert client.command("CAP")[-1].endswith("NAK no-such-cap")
    client.send("CAP END")
    assert command_of(client.line()) == "001"
    client.command("366")
    client.send("PRIVMSG #lobby :echoed")  # echo-message: the sender gets its own line back
    echo = client.command("PRIVMSG")[-1]
    assert echo.startswith("@") and "time=" in echo and echo.endswith(":echoed")


def test_sasl_plain_logs_in_to_an_account(irc: Callable[[], IRCRaw]) -> None:
    client = irc()
    client.send("CAP LS 302\r\nCAP REQ :sasl\r\nNICK alice\r\nUSER a 0 * :A")
    client.command("CAP")
    client.command("CAP")
    client.send("AUTHENTICATE PLAIN")
    assert client.line() == "AUTHENTICATE +"
    client.send("AUTHENTICATE " + sasl_plain("alice", PASSWORD))
    assert command_of(client.command("900")[-1]) == "900"
    assert command_of(client.line()) == "903"
    client.send("CAP END")
    assert command_of(client.line()) == "001"


def test_whois_names_the_account_a_sasl_login_proved(irc: Callable[[], IRCRaw]) -> None:
    client = irc()
    client.send("CAP REQ :sasl\r\nNICK netcat\r\nUSER a 0 * :A\r\nAUTHENTICATE PLAIN")
    client.command("AUTHENTICATE")
    client.send("AUTHENTICATE " + sasl_plain("alice", PASSWORD))
    client.command("903")
    client.send("CAP END")
    client.command("001")
    other = irc()
    other.register("curious")
    other.send("WHOIS netcat")
    assert other.command("330")[-1].split()[2:5] == ["curious", "netcat", "alice"]


def test_a_wrong_sasl_password_is_refused(irc: Callable[[], IRCRaw]) -> None:
    client = irc()
    client.send("CAP REQ :sasl\r\nNICK alice\r\nUSER a 0 * :A\r\nAUTHENTICATE PLAIN")
    client.command("AUTHENTICATE")
    client.send("AUTHENTICATE " + sasl_plain("alice", "wrong"))
    assert command_of(client.command("904")[-1]) == "904"
    client.send("CAP END")  # the registered nick without its password: not logged in
    assert command_of(client.until(lambda line: command_of(line) in ("001", "433", "464"))[-1]) != "001"


def test_channels(lib: Callable[[str], LibClient], irc: Callable[[], IRCRaw]) -> None:
    ann = lib("ann")
    bob = irc()
    bob.register("bob")
    ann.conn.join("#dev")
    ann.wait("join", lambda e: e.target == "#dev")
    bob.send("JOIN #dev")
    assert ann.wait("join", lambda e: e.target == "#dev").source.nick == "bob"
    bob.send("TOPIC #dev :about code")
    assert ann.wait("topic").arguments == ["about code"]
    ann.conn.names(["#dev"])
    assert set(ann.wait("namreply").arguments[2].split()) == {"ann", "bob"}
    ann.conn.list()
    assert ann.wait("list", lambda e: e.arguments[0] == "#dev").arguments[1] == "2"
    ann.conn.who("#dev")
    assert {ann.wait("whoreply").arguments[4], ann.wait("whoreply").arguments[4]} == {"ann", "bob"}
    ann.conn.whois(["bob"])
    assert ann.wait("whoisuser").arguments[0] == "bob"
    bob.send("PART #dev")
    assert ann.wait("part").source.nick == "bob"


def test_private_messages(lib: Callable[[str], LibClient]) -> None:
    ann, bob = lib("ann"), lib("bob")
    ann.conn.privmsg("bob", "psst")
    event = bob.wait("privmsg")
    assert (event.source.nick, event.arguments) == ("ann", ["psst"])
    bob.conn.action("ann", "waves")  # a private action arrives as one (CTCP ACTION)
    assert ann.wait("action").arguments == ["waves"]
    assert [event.arguments for event in ann.events if event.type == "privmsg"] == []
    ann.conn.privmsg("nobody", "hello?")
    assert ann.wait("nosuchnick").arguments[0] == "nobody"


def test_history_with_server_time_on_join(irc: Callable[[], IRCRaw], server: IRCServer) -> None:
    json_user = RawClient(server.port)
    json_user.send_json({"type": "hello", "user": "jay", "history": 0})
    json_user.send_json({"type": "say", "text": "said before you came"})
    json_user.until(lambda line: "said before" in line)
    client = irc()
    lines = client.register("late", "CAP REQ :server-time batch", "CAP END")
    lines += client.until(lambda line: "said before" in line)
    replayed = lines[-1]
    assert replayed.startswith("@") and "time=20" in replayed and "batch=" in replayed
    assert any(command_of(line) == "BATCH" and "chathistory" in line for line in lines)
    plain = irc()  # without server-time, no replay (it could not say when)
    plain.register("plain")
    plain.send("PING :x")
    assert not any("said before" in line for line in plain.command("PONG"))
    json_user.close()


def test_irc_json_and_text_users_chat_together(irc: Callable[[], IRCRaw], server: IRCServer) -> None:
    ivy = irc()
    ivy.register("ivy")
    jay = RawClient(server.port)
    jay.send_json({"type": "hello", "user": "jay", "history": 0})
    tex = RawClient(server.port)
    tex.send("tex\n")
    assert tex.line().startswith("Welcome, tex!")
    ivy.command("JOIN")  # jay
    ivy.until(lambda line: line.startswith(":tex!") and command_of(line) == "JOIN")
    ivy.send("PRIVMSG #lobby :hello from irc")
    assert jay.until(lambda line: "hello from irc" in line)[-1].count('"from":"ivy"') == 1
    assert tex.until(lambda line: "hello from irc" in line)[-1] == "ivy: hello from irc"
    jay.send_json({"type": "say", "text": "hello from json"})
    assert ivy.command("PRIVMSG")[-1] == ":jay!~m@messenger PRIVMSG #lobby :hello from json"
    tex.send("hello from text\n")
    assert ivy.command("PRIVMSG")[-1] == ":tex!~m@messenger PRIVMSG #lobby :hello from text"
    ivy.send("PRIVMSG #lobby :\x01ACTION waves\x01")
    assert tex.until(lambda line: "waves" in line)[-1] == "* ivy waves"
    message = json.loads(jay.until(lambda line: "waves" in line)[-1])
    assert message["action"] is True and message["text"] == "waves"
    jay.close()
    tex.close()


def test_a_name_irc_cannot_carry_is_shown_as_its_nick(irc: Callable[[], IRCRaw], server: IRCServer) -> None:
    ivy = irc()
    ivy.register("ivy")
    jose = RawClient(server.port)
    jose.send_json({"type": "hello", "user": "José", "history": 0})
    assert ivy.command("JOIN")[-1].startswith(":^Jos-dma!")
    ivy.send("PRIVMSG ^Jos-dma :hola")
    assert json.loads(jose.until(lambda line: "hola" in line)[-1])["from"] == "ivy"
    jose.close()


def test_the_sender_gets_its_own_message_back_only_with_echo_message(irc: Callable[[], IRCRaw]) -> None:
    """The outlet's own copy: a broadcast the IRC sender takes no bytes of (no echo-message),
    while another IRC reader of the same variant gets them."""
    quiet, other = irc(), irc()
    quiet.register("quiet")
    other.register("other")
    quiet.send("PRIVMSG #lobby :first\r\nPING :mark")
    assert not any("first" in line for line in quiet.command("PONG"))
    assert other.command("PRIVMSG")[-1].endswith(":first")


def test_what_irssi_asks_after_registering_is_answered_without_errors(irc: Callable[[], IRCRaw]) -> None:
    """irssi's first lines after the welcome (seen on the wire): each gets its usual answer; the
    ban list asked by someone who may not see it is an empty one, not an error."""
    client = irc()
    client.register("ivy")
    client.send("MODE ivy +i\r\nMODE #lobby\r\nWHO #lobby\r\nMODE #lobby b\r\nPING :end")
    answers = [command_of(line) for line in client.command("PONG")]
    assert answers == ["221", "324", "352", "315", "368", "PONG"]


def test_account_tag_names_a_logged_in_senders_account(irc: Callable[[], IRCRaw], server: IRCServer) -> None:
    reader = irc()
    reader.register("reader", "CAP REQ :account-tag message-tags", "CAP END")
    alice = RawClient(server.port)
    alice.send_json({"type": "hello", "user": "alice", "password": PASSWORD, "history": 0})
    alice.send_json({"type": "say", "text": "signed"})
    assert reader.command("PRIVMSG")[-1].startswith("@msgid=1;account=alice :alice!")
    guest = RawClient(server.port)
    guest.send_json({"type": "hello", "user": "guest", "history": 0})
    guest.send_json({"type": "say", "text": "unsigned"})
    assert "account=" not in reader.command("PRIVMSG")[-1]
    alice.close()
    guest.close()

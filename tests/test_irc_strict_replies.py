"""The IRC port answers as the IRC specifications (and irctest) expect where messenger's first
answers differed, over real sockets: client tags over 4094 bytes, channels that do not exist,
a change to one's own nick, TAGMSG, and empty parameters."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from messenger.server import ServerConfig

from .ircport import IRCRaw, IRCServer, command_of

pytestmark = pytest.mark.timeout(20)


@pytest.fixture
def irc() -> Iterator[Callable[[], IRCRaw]]:
    server = IRCServer(ServerConfig(max_rate=0))
    opened: list[IRCRaw] = []

    def open_irc() -> IRCRaw:
        opened.append(IRCRaw(server.irc_port))
        return opened[-1]

    yield open_irc
    for client in opened:
        client.close()
    server.stop()


def quiet_until_pong(client: IRCRaw, token: str) -> None:
    """Nothing reaches ``client`` before the answer to a PING it sends now."""
    client.send(f"PING {token}")
    assert client.line().endswith(f"PONG messenger {token}")


def test_client_tags_over_4094_bytes_are_417_and_the_line_is_ignored(irc: Callable[[], IRCRaw]) -> None:
    sender, reader = irc(), irc()
    sender.register("tagger", "CAP REQ message-tags", "CAP END")
    reader.register("reader", "CAP REQ message-tags", "CAP END")
    sender.command("JOIN")  # the reader's arrival
    sender.send("@+x=" + "a" * 4096 + " PRIVMSG #lobby :too many tags")
    assert command_of(sender.line()) == "417"
    sender.send("@+x=" + "a" * (4094 - 3) + " PRIVMSG #lobby :just fits")
    assert reader.command("PRIVMSG")[-1].endswith(":just fits")  # the long one never came


def test_channels_that_do_not_exist_are_403(irc: Callable[[], IRCRaw]) -> None:
    client, other = irc(), irc()
    client.register("ana")
    other.register("bo")
    client.command("JOIN")
    for line in (
        "TOPIC #nowhere",
        "TOPIC #nowhere :a topic",
        "PART #nowhere",
        "MODE #nowhere",
        "KICK #nowhere bo",
        "PRIVMSG #nowhere :hello?",
    ):
        client.send(line)
        answer = client.line()
        assert command_of(answer) == "403" and "#nowhere" in answer, (line, answer)
    quiet_until_pong(other, "not-kicked")
    client.send("NOTICE #nowhere :hello?")  # a NOTICE is never answered
    quiet_until_pong(client, "after-notice")
    other.send("JOIN #somewhere")
    other.command("366")
    client.send("PART #somewhere")  # it exists, and ana is not in it
    assert command_of(client.line()) == "442"
    client.send("TOPIC #somewhere")
    assert command_of(client.line()) == "331"


def test_nick_to_ones_own_nick_is_silent(irc: Callable[[], IRCRaw]) -> None:
    alice, bob = irc(), irc()
    alice.register("alice")
    bob.register("bob")
    alice.command("JOIN")
    alice.send("NICK alice")
    quiet_until_pong(alice, "same")
    quiet_until_pong(bob, "same")
    alice.send("NICK Alice")  # a change of case is a change
    assert alice.line() == ":alice!~m@messenger NICK Alice"
    assert bob.line() == ":alice!~m@messenger NICK Alice"
    alice.send("NICK Alice")
    quiet_until_pong(alice, "again")
    quiet_until_pong(bob, "again")


def test_tagmsg_is_accepted_and_reaches_nobody(irc: Callable[[], IRCRaw]) -> None:
    sender, tagged, plain = irc(), irc(), irc()
    sender.register("typer", "CAP REQ message-tags", "CAP END")
    tagged.register("tagged", "CAP REQ message-tags", "CAP END")
    plain.register("plain")
    sender.command("JOIN")
    sender.command("JOIN")
    tagged.command("JOIN")
    for target in ("#lobby", "tagged", "plain"):
        sender.send(f"@+typing=active TAGMSG {target}")
    sender.send("TAGMSG")
    assert command_of(sender.line()) == "461"
    quiet_until_pong(sender, "tags")
    quiet_until_pong(tagged, "tags")
    quiet_until_pong(plain, "tags")


@pytest.mark.parametrize("line", ["USER u 0 * :", "PASS :", "AUTHENTICATE :", "PING :"])
def test_an_empty_parameter_before_registering_is_461(irc: Callable[[], IRCRaw], line: str) -> None:
    client = irc()
    client.send("NICK emptyreal")
    client.send(line)
    answer = client.line()
    assert command_of(answer) == "461", answer
    client.send("USER u 0 * :Real Name")
    assert command_of(client.line()) == "001"


@pytest.mark.parametrize("line", ["PING :", "INVITE bob :", "KICK #lobby :", "TAGMSG :"])
def test_an_empty_parameter_after_registering_is_461(irc: Callable[[], IRCRaw], line: str) -> None:
    client = irc()
    client.register("emptyparam")
    client.send(line)
    answer = client.line()
    assert command_of(answer) == "461", answer


def test_a_sasl_payload_too_long_in_all_is_904_and_a_line_too_long_905(irc: Callable[[], IRCRaw]) -> None:
    client = irc()
    client.send("CAP REQ :sasl")
    client.command("CAP")
    client.send("AUTHENTICATE PLAIN")
    assert client.line() == "AUTHENTICATE +"
    for _ in range(4):  # 400-byte lines, each saying more follows: 1600 bytes in all
        client.send("AUTHENTICATE " + "eHh4" * 100)
    assert command_of(client.line()) == "904"
    client.send("AUTHENTICATE PLAIN")
    assert client.line() == "AUTHENTICATE +"
    client.send("AUTHENTICATE " + "x" * 401)
    assert command_of(client.line()) == "905"

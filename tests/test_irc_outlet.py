"""IRC readers in the ChatLog, over real sockets: a broadcast is encoded once per IRC variant
(the capabilities that change its bytes), not once per reader, and readers of one variant
receive the same bytes; a reader that changes its capabilities after registering gets its new
variant's bytes from then on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from messenger.server import ServerConfig
from messenger.server.ircout import IRCMode

from .conftest import RawClient
from .ircport import IRCRaw, IRCServer

pytestmark = pytest.mark.timeout(20)


@pytest.fixture
def server() -> Iterator[IRCServer]:
    started = IRCServer(ServerConfig(max_rate=0))
    yield started
    started.stop()


def test_a_broadcast_is_encoded_once_per_variant(server: IRCServer) -> None:
    plain = [IRCRaw(server.irc_port) for _ in range(3)]
    for number, client in enumerate(plain):
        client.register(f"plain{number}")
    timed = IRCRaw(server.irc_port)
    timed.register("timed", "CAP REQ :server-time", "CAP END")
    sender = RawClient(server.port)
    sender.send_json({"type": "hello", "user": "jay", "history": 0})
    sender.send_json({"type": "say", "text": "to everyone"})
    lines = {client.command("PRIVMSG")[-1] for client in plain}
    assert lines == {":jay!~m@messenger PRIVMSG #lobby :to everyone"}
    assert timed.command("PRIVMSG")[-1].startswith("@time=")
    entries = [
        e for e in server.server.chat_log._entries if b"to everyone" in e.data.get(next(iter(e.data)), b"")
    ]
    (entry,) = entries  # one log entry for everyone, as for every other front door
    irc_keys = {key for key in entry.data if isinstance(key, IRCMode)}
    assert irc_keys == {IRCMode(frozenset()), IRCMode(frozenset({"server-time"}))}
    for client in (*plain, timed):
        client.close()
    sender.close()


def test_capabilities_changed_after_registering_change_the_bytes(server: IRCServer) -> None:
    late = IRCRaw(server.irc_port)
    late.register("late")
    late.send("CAP REQ :server-time")
    assert late.command("CAP")[-1].endswith("ACK server-time")
    sender = RawClient(server.port)
    sender.send_json({"type": "hello", "user": "jay", "history": 0})
    sender.send_json({"type": "say", "text": "now with a time"})
    assert late.command("PRIVMSG")[-1].startswith("@time=")
    late.close()
    sender.close()


def test_only_the_variants_in_use_are_encoded_ahead(server: IRCServer) -> None:
    """A client cycling through its capabilities leaves no extra encoding for every broadcast
    behind: the log encodes ahead only for the variants open connections have."""
    cycler = IRCRaw(server.irc_port)
    cycler.register("cycler")
    for caps in ("server-time", "message-tags", "echo-message", "-server-time -message-tags -echo-message"):
        cycler.send(f"CAP REQ :{caps}")
        cycler.command("CAP")
    cycler.send("PING :settled")
    cycler.command("PONG")
    assert server.server.chat_log.in_use.irc == (IRCMode(frozenset()),)
    cycler.send("QUIT")
    assert cycler.closed()
    other = IRCRaw(server.irc_port)
    other.register("other", "CAP REQ :server-time", "CAP END")
    assert server.server.chat_log.in_use.irc == (IRCMode(frozenset({"server-time"})),)
    other.close()

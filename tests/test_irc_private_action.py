"""A private action (``/me`` in a query) over real sockets, both ways: an IRC user's CTCP ACTION
to a nick, and a JSON user's ``me`` with ``to``, arrive as private actions — a CTCP ACTION
PRIVMSG to the reader's nick on IRC, ``"action":true`` with ``to`` in JSON, ``* name text`` in
text mode — never as a plain message ``* text``."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from messenger.server import ServerConfig

from .conftest import RawClient
from .ircport import IRCRaw, IRCServer, command_of

pytestmark = pytest.mark.timeout(20)


@pytest.fixture
def server() -> Iterator[IRCServer]:
    started = IRCServer(ServerConfig(max_rate=0))
    yield started
    started.stop()


def json_user(server: IRCServer, name: str) -> RawClient:
    client = RawClient(server.port)
    client.send_json({"type": "hello", "user": name, "history": 0})
    client.until(lambda line: '"type":"welcome"' in line)
    return client


def test_an_irc_users_private_action_reaches_irc_json_and_text_users(server: IRCServer) -> None:
    ivy, ann = IRCRaw(server.irc_port), IRCRaw(server.irc_port)
    ivy.register("ivy")
    ann.register("ann")
    jay = json_user(server, "jay")
    tex = RawClient(server.port)
    tex.send("tex\n")
    assert tex.line().startswith("Welcome, tex!")
    ivy.send("PRIVMSG ann :\x01ACTION waves\x01")
    assert ann.command("PRIVMSG")[-1] == ":ivy!~m@messenger PRIVMSG ann :\x01ACTION waves\x01"
    ivy.send("PRIVMSG jay :\x01ACTION nods\x01")
    message = json.loads(jay.until(lambda line: "nods" in line)[-1])
    assert (message["action"], message["to"], message["text"], message["from"]) == (
        True,
        "jay",
        "nods",
        "ivy",
    )
    ivy.send("PRIVMSG tex :\x01ACTION smiles\x01")
    assert tex.until(lambda line: "smiles" in line)[-1] == "[private to tex] * ivy smiles"
    ivy.send("PRIVMSG nobody :\x01ACTION waves\x01")
    assert command_of(ivy.command("401")[-1]) == "401"
    for client in (ivy, ann, jay, tex):
        client.close()


def test_a_json_users_private_action_reaches_an_irc_user_as_ctcp_action(server: IRCServer) -> None:
    ann = IRCRaw(server.irc_port)
    ann.register("ann")
    jay = json_user(server, "jay")
    jay.send_json({"type": "me", "text": "waves", "to": "ann"})
    assert ann.command("PRIVMSG")[-1] == ":jay!~m@messenger PRIVMSG ann :\x01ACTION waves\x01"
    echo = json.loads(jay.until(lambda line: "waves" in line)[-1])  # the sender's own copy
    assert (echo["action"], echo["to"]) == (True, "ann")
    ann.close()
    jay.close()

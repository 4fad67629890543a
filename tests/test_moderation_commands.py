"""Every presence and operator's slash command, typed by an operator in text mode (nc) and in the
terminal client (a pty), with the line each answers with.  The scenario must name every command
of the table, so a new command cannot go untested here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from messenger.client import Client
from messenger.core.roles import Role
from messenger.protocol.moderation_commands import MODERATION_COMMANDS, PRESENCE_COMMANDS

from . import test_terminal
from .clitools import RUN_TIMEOUT
from .conftest import RawClient, ServerThread, stored_server
from .test_terminal import ENTER, Terminal

terminal = test_terminal.terminal  # the fixture: terminal sessions closed after each test

OLIVE = "olive's password"

# (what olive types, the start of the line it answers with); bob is online and not registered.
SCENARIO = [
    ("/away brb", "olive is away: brb"),
    ("/back", "olive is back"),
    ("/whois bob", "bob: not registered; role user; in #lobby; idle "),
    ("/reply hi", "error: nobody has sent you a private message yet"),
    ("/action bob waves", "[private"),  # text mode: [private to bob] * olive waves
    ("/ignore carol", "Ignored (1): carol"),
    ("/unignore carol", "You ignore nobody."),
    ("/ignored", "You ignore nobody."),
    ("/topic #lobby plans for today", "Topic of #lobby: plans for today (set by olive)"),
    ("/mute bob 10m", "*** bob is muted for 10m more"),
    ("/unmute bob", "*** bob is no longer muted"),
    ("/mode +m", "#lobby is moderated (set by olive)"),
    ("/mode -m", "#lobby is open to everyone (set by olive)"),
    ("/allow bob", "*** bob may now join and speak in #lobby"),
    ("/disallow bob", "*** bob is no longer specially allowed in #lobby"),
    ("/ban eve 1h", "*** eve is banned for 1h more"),
    ("/bans", "Bans (1): eve (name, by olive until "),
    ("/unban eve", "*** eve is no longer banned"),
    ("/role bob op", "error: only admins give roles"),
    ("/kick bob that is all", "*** bob was kicked"),
]


def test_the_scenario_types_every_command_of_the_table() -> None:
    typed = {line.split()[0][1:] for line, _ in SCENARIO}
    assert typed == {command.name for command in PRESENCE_COMMANDS + MODERATION_COMMANDS}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerThread]:
    started = stored_server(tmp_path / "chat.db")
    started.accounts.add("olive", OLIVE, Role.OP)
    yield started
    started.stop()


def test_every_command_in_text_mode(server: ServerThread, clients: Callable[[int, str], Client]) -> None:
    clients(server.port, "bob")
    olive = RawClient(server.port)
    olive.send(f"olive {OLIVE}\n")
    olive.until(lambda line: line == "olive has joined the chat!")
    for typed, answer in SCENARIO:
        olive.send(typed + "\n")
        assert olive.until(lambda line, answer=answer: line.startswith(answer))


def test_every_command_in_the_terminal_client(
    server: ServerThread, clients: Callable[[int, str], Client], terminal: Callable[..., Terminal]
) -> None:
    clients(server.port, "bob")
    olive = terminal("connect", "--port", str(server.port), "--user", "olive", MESSENGER_PASSWORD=OLIVE)
    olive.wait_for_input("olive #lobby> ", timeout=RUN_TIMEOUT)
    for typed, answer in SCENARIO:
        # Counted in everything the client wrote, so an answer already on screen (or scrolled
        # away) from an earlier step does not count for this one.
        before = "".join(olive.output).count(answer)
        olive.type(typed + ENTER)
        olive.wait_for(repr(answer), lambda term, a=answer, n=before: "".join(term.output).count(a) > n)

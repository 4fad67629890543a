"""Moderation from the terminal client (``messenger connect`` in a pty): an operator's commands
complete and answer on screen, and a kicked user's client says why and does not come back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from messenger.client import Client
from messenger.core.roles import Role

from . import test_terminal
from .clitools import RUN_TIMEOUT, next_left, wait_for_joined
from .conftest import ServerThread, stored_server
from .test_terminal import ENTER, TAB, Terminal, chat

terminal = test_terminal.terminal  # the fixture: terminal sessions closed after each test

OLIVE = "olive's password"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerThread]:
    started = stored_server(tmp_path / "chat.db")
    started.accounts.add("olive", OLIVE, Role.OP)
    yield started
    started.stop()


def operator(terminal: Callable[..., Terminal], port: int) -> Terminal:
    term = terminal("connect", "--port", str(port), "--user", "olive", MESSENGER_PASSWORD=OLIVE)
    term.wait_for_input("olive #lobby> ", timeout=RUN_TIMEOUT)
    return term


def test_an_operator_kicks_from_the_terminal_and_the_kicked_client_ends(
    server: ServerThread, clients: Callable[[int, str], Client], terminal: Callable[..., Terminal]
) -> None:
    watcher = clients(server.port, "watcher")
    olive = operator(terminal, server.port)
    bob = chat(terminal, server.port, "bob")
    wait_for_joined(watcher, "bob")
    olive.type("/ki" + TAB)
    olive.wait_for_input("olive #lobby> /kick ")
    olive.type("bob go cool off" + ENTER)
    olive.wait_for_text("bob was kicked")
    left = next_left(watcher)
    assert (left.user, left.reason, left.by, left.message) == ("bob", "kicked", "olive", "go cool off")
    assert bob.wait_exit() == 1  # no reconnecting after an operator removed us
    assert any("you were kicked by olive: go cool off" in line for line in bob.lines()), bob.lines()
    assert server.server.registry.users() == ("olive", "watcher")


def test_presence_and_moderation_answers_on_the_terminal(
    server: ServerThread, clients: Callable[[int, str], Client], terminal: Callable[..., Terminal]
) -> None:
    olive = operator(terminal, server.port)
    clients(server.port, "bob")
    for line, shown in (
        ("/away lunch", "olive is away: lunch"),
        ("/whois bob", "bob: not registered; role user; in #lobby"),
        ("/topic plans for today", "Topic of #lobby: plans for today (set by olive)"),
        ("/mute bob 10m", "bob is muted for 10m more"),
        ("/bans", "No bans."),
        ("/mode +m", "#lobby is moderated (set by olive)"),
    ):
        olive.type(line + ENTER)
        olive.wait_for_text(shown)

"""What ``MODE #room`` answers over the IRC port (324, RPL_CHANNELMODEIS): the modes set, "+"
for none, never a change such as "-im" (a client would show that as the channel's modes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from messenger.core.accounts import Accounts
from messenger.core.moderation import Moderation
from messenger.core.roles import Role
from messenger.core.store import SQLiteStore
from messenger.server import ServerConfig

from .accountstools import PASSWORD
from .ircport import IRCRaw, IRCServer

pytestmark = pytest.mark.timeout(25)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[IRCServer]:
    """A server where olive is an operator."""
    path = tmp_path / "chat.db"
    accounts = Accounts(path)
    accounts.add("olive", PASSWORD, Role.OP)
    started = IRCServer(
        ServerConfig(max_rate=0), store=SQLiteStore(path), accounts=accounts, moderation=Moderation(path)
    )
    yield started
    started.stop()


def modes_of(client: IRCRaw, line: str) -> str:
    """The modes the 324 answering ``line`` (about #dev) lists."""
    client.send(line)
    return client.command("324")[-1].split(" #dev ", 1)[1]


def test_the_modes_set_and_plus_for_none(server: IRCServer) -> None:
    olive = IRCRaw(server.irc_port)
    olive.register("olive", f"PASS :{PASSWORD}")
    olive.send("JOIN #dev")
    olive.command("366")
    assert modes_of(olive, "MODE #dev") == "+"
    assert modes_of(olive, "MODE #dev +m") == "+m"
    assert modes_of(olive, "MODE #dev +i") == "+im"
    assert modes_of(olive, "MODE #dev -m") == "+i"
    assert modes_of(olive, "MODE #dev") == "+i"
    olive.close()

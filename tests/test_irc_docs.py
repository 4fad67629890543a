"""docs/irc.md is the IRC door's contract: it names every command the door knows and quotes
the ISUPPORT tokens and capabilities the code sends."""

from __future__ import annotations

from pathlib import Path

from messenger.protocol.irc import CAPS
from messenger.protocol.irc.commands import COMMANDS
from messenger.protocol.irc.replies import isupport

from .irctools import registered

DOC = (Path(__file__).resolve().parent.parent / "docs" / "irc.md").read_text(encoding="utf-8")


def test_every_command_is_described() -> None:
    missing = [command for command in COMMANDS if f"`{command}" not in DOC]
    assert not missing


def test_the_isupport_tokens_are_quoted() -> None:
    for token in isupport(registered().conn):
        assert token.replace("NETWORK=TestNet", "NETWORK=<name>") in DOC, token


def test_the_capabilities_are_quoted() -> None:
    for cap, value in CAPS.items():
        assert (f"{cap}={value}" if value else cap) in DOC, cap

"""Ctrl+C while the command is still starting (importing its modules) ends it as quietly as
Ctrl+C at a prompt: a newline, status 0, never a traceback."""

from __future__ import annotations

import sys

import pexpect
import pytest

from .clitools import WAIT, cli_env


@pytest.mark.parametrize("command", [("connect", "--port", "1"), ("serve", "--port", "0"), ("users", "list")])
def test_ctrl_c_while_starting_is_quiet(command: tuple[str, ...]) -> None:
    # Python reports each import as it finishes (-X importtime): Ctrl+C right after the first
    # of the command line's libraries lands while the rest are still being imported.
    child = pexpect.spawn(
        sys.executable,
        ["-X", "importtime", "-m", "messenger", *command],
        env=cli_env(TERM="dumb", NO_COLOR="1"),
        encoding="utf-8",
        timeout=WAIT,
    )
    try:
        child.expect(r"import time:[^\n]*\|\s+typer[.\w]*\r?\n")
        child.sendintr()
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert "Traceback" not in (child.before or ""), child.before
    assert "KeyboardInterrupt" not in (child.before or ""), child.before
    assert child.exitstatus == 0, (child.exitstatus, child.signalstatus)

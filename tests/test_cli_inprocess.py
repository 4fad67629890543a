"""The command line run in this process through ``program(args, Environment)``: the commands read
stdin, the terminal check and the password prompt from the Environment, not from ``sys``."""

from __future__ import annotations

import io
from typing import Any

import pytest

from messenger.cli import Environment, program
from messenger.core.accounts import Accounts


class TerminalInput(io.StringIO):
    """A stdin that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def run(args: list[str], env: Environment) -> int:
    with pytest.raises(SystemExit) as exited:
        program(args, env)
    return int(exited.value.code or 0)


def test_users_add_reads_the_password_from_the_environments_stdin(tmp_path: Any, capsys: Any) -> None:
    db = str(tmp_path / "h.db")
    env = Environment(stdin=io.StringIO("from-env-stdin\n"), stdout=io.StringIO(), stderr=io.StringIO())
    assert run(["users", "add", "zed", "--db", db], env) == 0
    assert capsys.readouterr().out == "registered zed\n"
    assert Accounts(db).verify("zed", "from-env-stdin")


def test_users_add_asks_the_environments_prompt_twice_on_a_terminal(tmp_path: Any, capsys: Any) -> None:
    db = str(tmp_path / "h.db")
    prompts: list[str] = []

    def typed(prompt: str) -> str:
        prompts.append(prompt)
        return "typed-secret"

    env = Environment(stdin=TerminalInput(""), stdout=io.StringIO(), stderr=io.StringIO(), getpass=typed)
    assert run(["users", "add", "ann", "--db", db], env) == 0
    assert prompts == ["New password for ann: ", "Again: "]
    assert Accounts(db).verify("ann", "typed-secret")


def test_ctrl_d_at_the_environments_prompt_stops_quietly(tmp_path: Any) -> None:
    def end_of_file(prompt: str) -> str:
        raise EOFError

    stderr = io.StringIO()
    env = Environment(stdin=TerminalInput(""), stdout=io.StringIO(), stderr=stderr, getpass=end_of_file)
    assert run(["users", "add", "ann", "--db", str(tmp_path / "h.db")], env) == 0
    assert stderr.getvalue() == "\n"
    assert Accounts(str(tmp_path / "h.db")).lookup("ann") is None

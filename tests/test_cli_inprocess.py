"""The command line run in this process through ``program(args, Environment)``: the commands read
stdin, the terminal check, the password prompt and the options' variables from the Environment,
not from ``sys`` or ``os.environ``; every command, ``connect`` and ``send`` too, returns its exit
status instead of ending the process."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
import typer.main

from messenger.cli import Environment, app, program
from messenger.cli.env import EnvironmentOption
from messenger.client import Client
from messenger.core.accounts import Accounts

from .clitools import assert_one_error_line, free_port, messages_from, next_left


class TerminalInput(io.StringIO):
    """A stdin that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def run(args: list[str], env: Environment) -> int:
    return program(args, env)


def piped(text: str, environ: Mapping[str, str] | None = None) -> Environment:
    """An Environment with ``text`` as stdin, its own stdout and stderr, and ``environ``."""
    return Environment(io.StringIO(text), io.StringIO(), io.StringIO(), environ or {})


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


# ------------------------------------------------------------------------------------------------
# The options' variables come from Environment.environ
# ------------------------------------------------------------------------------------------------


def test_an_options_variable_is_read_from_the_environment_and_not_from_os_environ(
    tmp_path: Any, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    given, other = str(tmp_path / "given.db"), str(tmp_path / "other.db")
    for db, name in ((given, "given"), (other, "other")):
        assert run(["users", "add", name, "--db", db], piped("secret-password\n")) == 0
    capsys.readouterr()
    monkeypatch.setenv("MESSENGER_DB", other)
    assert run(["users", "list"], piped("", {"MESSENGER_DB": given})) == 0
    assert [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()] == ["given"]


def test_a_variable_only_in_os_environ_is_not_read(
    tmp_path: Any, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MESSENGER_DB", str(tmp_path / "not-there.db"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # where the default database is
    assert run(["users", "list"], piped("", {})) == 1
    assert_one_error_line(capsys.readouterr().err, "history.db", "no such file")


def test_a_bad_value_in_the_environments_variable_is_named_as_that_variable(capsys: Any) -> None:
    assert run(["send", "--user", "ci", "hi"], piped("", {"MESSENGER_PORT": "port"})) == 2
    assert "Invalid value for MESSENGER_PORT: 'port' is not a whole number" in capsys.readouterr().err


def test_an_option_given_overrides_the_environments_variable(
    server: Any, clients: Callable[[int, str], Client]
) -> None:
    alice = clients(server.port, "alice")
    environ = {"MESSENGER_PORT": str(free_port()), "MESSENGER_USER": "ci"}
    assert run(["send", "--port", str(server.port), "hi"], piped("", environ)) == 0
    [message] = messages_from(alice, "ci", lambda frame: True)
    assert message.text == "hi"


# ------------------------------------------------------------------------------------------------
# send and connect return their exit status (the test process lives on)
# ------------------------------------------------------------------------------------------------


def test_send_runs_in_process_with_its_port_and_user_from_the_environment(
    server: Any, clients: Callable[[int, str], Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = clients(server.port, "alice")
    monkeypatch.setenv("MESSENGER_PORT", str(free_port()))  # nothing listens there
    monkeypatch.setenv("MESSENGER_USER", "impostor")
    env = piped("one\n/me two\n", {"MESSENGER_PORT": str(server.port), "MESSENGER_USER": "ci"})
    assert run(["send"], env) == 0
    received = messages_from(alice, "ci", lambda frame: frame.text == "/me two")
    assert [m.text for m in received] == ["one", "/me two"]
    left = next_left(alice)
    assert (left.user, left.reason) == ("ci", "quit")


def test_send_returns_1_when_a_message_is_refused(server: Any) -> None:
    env = piped("")
    assert run(["send", "--port", str(server.port), "--user", "ci", "--to", "nobody", "hi"], env) == 1
    assert env.stderr is not None
    assert_one_error_line(env.stderr.getvalue(), "nobody")


def test_send_returns_1_when_the_server_is_not_there(capsys: Any) -> None:
    assert run(["send", "--port", str(free_port()), "--user", "ci", "hi"], piped("")) == 1
    assert_one_error_line(capsys.readouterr().err, "refused")


def test_connect_runs_piped_lines_in_process(server: Any, clients: Callable[[int, str], Client]) -> None:
    watcher = clients(server.port, "watcher")
    env = piped("hello\n/me waves\n", {"MESSENGER_PORT": str(server.port)})
    assert run(["connect", "--user", "bot"], env) == 0
    received = messages_from(watcher, "bot", lambda frame: frame.text == "waves")
    assert [(m.text, m.action) for m in received] == [("hello", False), ("waves", True)]
    assert env.stdout is not None
    shown = env.stdout.getvalue().splitlines()
    assert "bot: hello" in shown
    assert "* bot waves" in shown


def test_connect_returns_1_when_a_piped_line_is_refused(server: Any) -> None:
    env = piped("/msg nobody hi\n", {"MESSENGER_PORT": str(server.port)})
    assert run(["connect", "--user", "bot"], env) == 1
    assert env.stderr is not None
    assert_one_error_line(env.stderr.getvalue(), "nobody")


def test_connect_returns_1_when_the_server_is_not_there(capsys: Any) -> None:
    assert run(["connect", "--port", str(free_port()), "--user", "bot"], piped("hi\n")) == 1
    assert_one_error_line(capsys.readouterr().err, "refused")


def test_every_option_with_a_variable_reads_it_from_the_environment() -> None:
    def options(command: Any) -> Iterator[Any]:
        yield from command.params
        for sub in getattr(command, "commands", {}).values():
            yield from options(sub)

    with_variables = [param for param in options(typer.main.get_command(app)) if param.envvar]
    assert len(with_variables) > 30  # serve's, connect's, send's, users'
    assert all(isinstance(param, EnvironmentOption) for param in with_variables)

"""The ``messenger`` command line's help, version and option values, run as real subprocesses:
usage errors exit 2 and name what the user typed; a file or database that cannot be used is
named in one error line; help a person reads.

Every wait is on an event (a line printed, a frame received, a process exiting) and has a
deadline; nothing sleeps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from messenger import __version__

from .clitools import ESCAPE, ServeProcess, assert_one_error_line, cli_env, free_port, run_cli

# ------------------------------------------------------------------------------------------------
# Help and version
# ------------------------------------------------------------------------------------------------


def test_app_help_lists_the_commands() -> None:
    result = run_cli("--help")
    assert result.returncode == 0, result.stderr
    assert "serve" in result.stdout
    assert "connect" in result.stdout
    assert "--version" in result.stdout


# The options (and environment variables, defaults, subcommands) each command's --help names.
HELP_OPTIONS = [
    (
        "serve",
        (
            "--host",
            "--port",
            "--max-rate",
            "--burst",
            "--max-line",
            "--sendq",
            "--max-clients",
            "--log-level",
            "MESSENGER_PORT",
            "MESSENGER_MAX_RATE",
            "MESSENGER_SENDQ",
            "--db",
            "~/.local/share/messenger/history.db",
            "--history",
            "--retain-days",
            "--retain-messages",
            "--auth",
            "--password",
            "--tls-cert",
            "--tls-key",
            "--max-per-ip",
            "--max-conn-rate",
        ),
    ),
    ("send", ("--user", "--to", "--tls", "--cafile", "--insecure", "--password-file")),
    ("users", ("add", "passwd", "remove", "list", "role", "audit")),
    (
        "connect",
        (
            "--host",
            "--port",
            "--user",
            "MESSENGER_HOST",
            "MESSENGER_PORT",
            "MESSENGER_USER",
            "--timestamps",
            "--bell",
            "--json",
            "--listen",
            "--reconnect",
            "--no-history",
            "--tls",
            "--cafile",
            "--insecure",
            "--password-file",
        ),
    ),
]


@pytest.mark.parametrize(("command", "options"), HELP_OPTIONS)
def test_command_help_mentions_its_options(command: str, options: tuple[str, ...]) -> None:
    result = run_cli(command, "--help")
    assert result.returncode == 0, result.stderr
    for option in options:
        assert option in result.stdout, f"{option} missing from '{command} --help'"
    assert ESCAPE not in result.stdout


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"messenger {__version__}"


@pytest.mark.parametrize(
    "args",
    [
        ("serve", "--port", "70000"),
        ("serve", "--max-line", "lots"),
        ("connect", "--port", "notaport", "--user", "bot"),
        ("nosuchcommand",),
    ],
)
def test_usage_errors_exit_2_without_traceback(args: tuple[str, ...]) -> None:
    result = run_cli(*args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr


# ------------------------------------------------------------------------------------------------
# Option values: usage errors that name what the user typed; help a person reads
# ------------------------------------------------------------------------------------------------

NONSENSE = [
    ("serve", "--port", "-1"),
    ("serve", "--port", "65536"),
    ("serve", "--max-line", "0"),
    ("serve", "--max-line", "1"),
    ("serve", "--max-line", "99G"),
    ("serve", "--max-line", "1.5M"),
    ("serve", "--sendq", "-5"),
    ("serve", "--sendq", "99999G"),
    ("serve", "--max-rate", "nan"),
    ("serve", "--max-rate", "-1"),
    ("serve", "--gather", "-1"),
    ("serve", "--gather", "nan"),
    ("serve", "--gather", "1001"),
    ("serve", "--burst", "0"),
    ("serve", "--burst", "1" + "0" * 40),
    ("serve", "--max-clients", "0"),
    ("serve", "--max-per-ip", "-1"),
    ("serve", "--max-conn-rate", "inf"),
    ("serve", "--history", "501"),
    ("serve", "--retain-days", "1e999"),
    ("serve", "--retain-days", "10000000"),
    ("serve", "--retain-messages", "-1"),
    ("serve", "--log-level", "loud"),
    ("serve", "--auth", "maybe"),
    ("serve", "--password", ""),
    ("connect", "--port", "0"),
    ("connect", "--max-line", "0"),
    ("connect", "--max-line", "-3"),
    ("connect", "--max-line", "garbage"),
    ("connect", "--timeout", "0"),
    ("connect", "--timeout", "nan"),
    ("connect", "--timeout", "1e300"),
    ("connect", "--history", "-1"),
    ("connect", "--history", "1" + "0" * 30),
    ("connect", "--color", "pink"),
    ("connect", "--bell", "loud"),
    ("send", "--port", "0"),
    ("send", "--max-line", "0"),
    ("send", "--timeout", "-1"),
]


@pytest.mark.parametrize(("command", "option", "value"), NONSENSE)
def test_nonsense_option_values_are_usage_errors_naming_the_option(
    command: str, option: str, value: str
) -> None:
    extra = (
        ("--user", "bot", "hi") if command == "send" else ("--user", "bot") if command == "connect" else ()
    )
    result = run_cli(command, f"{option}={value}", *extra)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert f"Invalid value for {option}:" in " ".join(result.stderr.split()), result.stderr


def test_a_bad_value_from_the_environment_names_the_variable() -> None:
    from_env = run_cli("connect", "--user", "bot", env=cli_env(MESSENGER_PORT="abc"))
    assert from_env.returncode == 2
    assert "Invalid value for MESSENGER_PORT:" in " ".join(from_env.stderr.split()), from_env.stderr
    typed = run_cli("connect", "--user", "bot", "--port", "abc", env=cli_env(MESSENGER_PORT="5555"))
    assert typed.returncode == 2
    flat = " ".join(typed.stderr.split())
    assert "Invalid value for --port:" in flat and "MESSENGER_PORT" not in flat, typed.stderr


@pytest.mark.parametrize(
    "command",
    [
        "",
        "serve",
        "connect",
        "send",
        "users",
        "users add",
        "users passwd",
        "users remove",
        "users list",
        "users role",
        "users audit",
    ],
)
def test_help_shows_no_python_types(command: str) -> None:
    result = run_cli(*command.split(), "--help")
    assert result.returncode == 0, result.stderr
    for python_type in ("<str>", "<bool>", "<int", "<float", "<list", "range]", "x<="):
        assert python_type not in result.stdout, f"{python_type} in 'messenger {command} --help'"


def test_host_help_says_what_the_host_is_for_each_command() -> None:
    assert "address to listen on" in " ".join(run_cli("serve", "--help").stdout.split())
    assert "server to connect to" in " ".join(run_cli("connect", "--help").stdout.split())


def test_a_second_server_on_the_same_port_and_database_is_told_about_the_port(
    serve: Callable[..., ServeProcess], tmp_path: Any
) -> None:
    db = str(tmp_path / "h.db")
    first = serve("--port", "0", "--db", db)
    result = run_cli("serve", "--port", str(first.port), "--db", db)
    assert result.returncode == 1
    assert_one_error_line(result.stderr, "port is in use", str(first.port))


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("serve", "--tls-cert", "/nope.crt", "--tls-key", "/nope.key"), ("/nope.crt", "no such file")),
        (("connect", "--user", "bot", "--cafile", "/nope.pem"), ("/nope.pem", "no such file")),
        (("connect", "--user", "bot", "--password-file", "/nope.txt"), ("/nope.txt", "no such file")),
        (("send", "--user", "bot", "--password-file", "/tmp", "hi"), ("/tmp", "directory")),
    ],
)
def test_a_file_that_cannot_be_read_is_named(args: tuple[str, ...], words: tuple[str, ...]) -> None:
    result = run_cli(*args, "--port", str(free_port()))
    assert result.returncode == 1, result.stderr
    assert_one_error_line(result.stderr, *words)


def test_an_empty_password_is_never_sent(server: Any, tmp_path: Any) -> None:
    empty = tmp_path / "password"
    empty.write_text("\n")
    by_file = run_cli(
        "send", "--user", "bot", "--port", str(server.port), "--password-file", str(empty), "hi"
    )
    assert by_file.returncode == 1
    assert_one_error_line(by_file.stderr, "empty", str(empty))
    env = cli_env(MESSENGER_PASSWORD="")
    by_env = run_cli("connect", "--user", "bot", "--port", str(server.port), input="hi\n", env=env)
    assert by_env.returncode == 1
    assert_one_error_line(by_env.stderr, "MESSENGER_PASSWORD", "empty")


def test_users_commands_name_a_database_they_cannot_use(tmp_path: Any) -> None:
    missing = str(tmp_path / "nowhere" / "h.db")
    for command in ("list", "remove ann", "passwd ann", "role ann op", "audit"):
        result = run_cli("users", *command.split(), "--db", missing, input="pw\n")
        assert result.returncode == 1, result.stderr
        assert_one_error_line(result.stderr, missing, "no such file")
    assert not (tmp_path / "nowhere").exists()  # looking did not create it

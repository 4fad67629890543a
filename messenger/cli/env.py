"""What the commands see of the process around them, and how they talk to the person there.

``Environment`` carries the standard streams, the variables and the no-echo prompt, so that a
command reads them from one object: ``main()`` leaves it unset and every command then takes the
process's own (``sys.stdin``... as they are when the command runs), while a test can hand
``program()`` its own.  The options' ``MESSENGER_*`` variables are read from it too
(``EnvironmentGroup``).  This module also owns the ``error:`` line (``fail``), the prompts that
end the command quietly on Ctrl+C or Ctrl+D, and the process-level exit and stream repairs, which
only ``main()`` uses.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, NoReturn, TextIO

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup, TyperOption

from ..protocol import for_terminal
from ..ui import ttyline
from ..ui.frontends import EXIT_FAILURE, EXIT_OK
from ..ui.render import ERROR_STYLE


@dataclass(frozen=True)
class Environment:
    """The standard streams (None when the process was started with one closed), the variables
    and the prompt that reads a password without echo."""

    stdin: TextIO | None
    stdout: TextIO | None
    stderr: TextIO | None
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    getpass: Callable[[str], str] = ttyline.ask_password

    @classmethod
    def of_process(cls) -> Environment:
        """The process's own streams as they are now (a prompt_toolkit patch included)."""
        return cls(sys.stdin, sys.stdout, sys.stderr, os.environ, ttyline.ask_password)

    def isatty(self, stream: TextIO | None) -> bool:
        """Whether ``stream`` (one of ours) is open and a terminal."""
        return stream is not None and stream.isatty()


def environment(ctx: typer.Context) -> Environment:
    """The Environment given to ``program()``, or the process's own."""
    given = ctx.find_object(Environment)
    return given if given is not None else Environment.of_process()


class EnvironmentOption(TyperOption):
    """An option whose variable (``envvar``) is read from the Environment given to ``program()``;
    without one, from ``os.environ`` as Typer does."""

    def resolve_envvar_value(self, ctx: Any) -> str | None:
        given = ctx.find_object(Environment)
        if given is None:
            return super().resolve_envvar_value(ctx)
        names = [self.envvar] if isinstance(self.envvar, str) else list(self.envvar or ())
        for name in names:
            value = given.environ.get(name)
            if value:  # as Click: a variable set but empty counts as not set
                return value
        return None


class EnvironmentGroup(TyperGroup):
    """The command group whose commands' options read their variables through
    ``EnvironmentOption``.  Typer builds every option as a TyperOption and offers no way to
    choose the class, so the options are given this subclass (which adds no state) once the
    group is built, for its subgroups too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        read_variables_from_environment(self)


def read_variables_from_environment(command: Any) -> None:
    for param in command.params:
        if type(param) is TyperOption:
            param.__class__ = EnvironmentOption
    for sub in getattr(command, "commands", {}).values():
        read_variables_from_environment(sub)


def fail(message: str, code: int = EXIT_FAILURE) -> typer.Exit:
    """Print one ``error:`` line on stderr and return the Exit to raise."""
    line = Text(f"error: {for_terminal(message)}", style="bold red")  # may quote what a server said
    Console(stderr=True, highlight=False, soft_wrap=True).print(line)
    return typer.Exit(code)


def at_prompt(env: Environment, ask: Callable[[], str]) -> str:
    """Run a prompt; Ctrl+C or Ctrl+D there stops the command the same way everywhere: the line
    is ended, nothing else is printed, and the status is 0 (the user chose to stop)."""
    try:
        return ask()
    except (KeyboardInterrupt, EOFError):
        if env.stderr is not None:
            env.stderr.write("\n")
            env.stderr.flush()
        raise typer.Exit(EXIT_OK) from None


def ask_password(env: Environment, prompt: str, again: bool = True) -> str:
    """A password typed without echo; an empty one is never sent or stored (it could only fail,
    and each failed login counts towards the lock-out), so it is asked for again."""
    while True:
        password = at_prompt(env, partial(env.getpass, prompt))
        if password or not again:
            return password
        Console(file=env.stderr, highlight=False).print(
            Text("error: the password is empty; type it, or press Ctrl+C to stop", style=ERROR_STYLE)
        )


def ask_username(env: Environment, err: Console) -> str:
    while True:
        name = at_prompt(env, partial(_read_username, env, err)).strip()
        if name:
            return name


def _read_username(env: Environment, err: Console) -> str:
    prompt = "Enter your username: "
    if env.stdin is not None and ttyline.can_read_line(env.stdin):
        return ttyline.read_line(env.stdin.fileno(), prompt, err.file)
    return err.input(prompt)


_threads_left = threading.Event()


def leave_threads_behind() -> None:
    """Said by a command that may leave threads running that hold a standard stream's lock (the
    feeder blocked reading stdin, the link printing): the process must then end with
    ``exit_now``.  In-process (``program()``) it changes nothing."""
    _threads_left.set()


def end_process(status: int) -> NoReturn:
    """How ``main()`` ends the process: at once after a command that left threads behind, else
    by a normal interpreter exit."""
    if _threads_left.is_set():
        exit_now(status)
    sys.exit(status)


def exit_now(status: int) -> NoReturn:
    """Exit without waiting for the feeder thread, which may be blocked reading stdin (a normal
    interpreter exit could then deadlock on stdin's lock)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(
            OSError, ValueError, AttributeError
        ):  # AttributeError: None (>&-)  # closed by the reader (``| head``)
            stream.flush()
    os._exit(status)


def guard_standard_streams() -> None:
    """Started with stdin, stdout or stderr closed (``<&-``), Python sets that ``sys`` stream to
    None, and the next file or socket opened would take its descriptor: a socket on fd 1 would
    receive whatever is printed.  Each closed descriptor is filled with /dev/null first.  A closed
    stdin or stdout stays None, for the commands to tell; stderr becomes /dev/null (nothing could
    be shown there anyway), so every error path still runs."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process

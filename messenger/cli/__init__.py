"""The ``messenger`` command line: the Typer app assembled from one module per command group
(``serve``, ``connect``, ``send``, ``users``), and ``main()``, the console script.

Every failure ends as one ``error:`` line on stderr (``env.fail``) and an exit status: 0 success
or the user chose to stop, 1 runtime failure, 2 usage error (Typer's, and ``typer.BadParameter``
raised by the option checks).  Data goes to stdout, messages about the program to stderr.
Nothing in the package imports this module's siblings the other way round, and nothing outside
the package imports the package (``__main__`` excepted).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import typer

from .._version import __version__
from .connect import connect
from .env import Environment, EnvironmentGroup, end_process, guard_standard_streams
from .options import HelpOption
from .send import send
from .serve import serve
from .users import users_app

__all__ = ["Environment", "app", "main", "program"]

app = typer.Typer(
    name="messenger",
    cls=EnvironmentGroup,
    help="A terminal chat server and client. Start a server with 'messenger serve', "
    "then join it with 'messenger connect --user NAME' (or 'nc 127.0.0.1 5555').",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Typer 0.2x prints an argument's Python type (``<str>``, ``<list[str]>``) beside its name in the
# help; the name and its help say more to a person.  Options get metavars instead (options.py).
_argument_class = getattr(getattr(typer, "core", None), "TyperArgument", None)
if _argument_class is not None and hasattr(_argument_class, "display_type_rich"):
    _argument_class.display_type_rich = lambda self, ctx: None


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"messenger {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", metavar="", callback=version_callback, is_eager=True, help="Show the version."
        ),
    ] = False,
    _help: HelpOption = False,
) -> None:
    """A terminal chat server and client."""


# In this order in the help.
app.command()(serve)
app.add_typer(users_app, name="users")
app.command()(connect)
app.command()(send)


def program(args: Sequence[str] | None = None, env: Environment | None = None) -> int:
    """Run the command line with ``args`` (default: ``sys.argv``) and return its exit status;
    the commands read the streams, variables and password prompt of ``env`` (default: the
    process's own).  It never ends the process: a test can run every command in-process."""
    try:
        app(args=list(args) if args is not None else None, obj=env)
    except SystemExit as exc:  # how Click reports the status, also 0
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        raise
    return 0


def main() -> None:
    """Entry point of the ``messenger`` command: the one place that ends the process."""
    guard_standard_streams()
    end_process(program())

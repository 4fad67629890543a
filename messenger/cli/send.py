"""``messenger send``: log in, send a message (or every line of stdin) as it is, wait until the
server has echoed it, and exit 0 only if everything was delivered."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Annotated

import typer

from ..client import MessengerError
from ..client.session import ChatLink, LinkOptions
from ..client.submit import submit_line
from ..protocol import DEFAULT_HOST, DEFAULT_MAX_LINE, DEFAULT_PORT
from ..ui.frontends import EXIT_FAILURE, read_lines, run_lines
from ..ui.render import ConsoleView, make_console
from .env import environment, fail, leave_threads_behind
from .login import log_in, read_password_option, tls_for
from .options import (
    CafileOption,
    ColorOption,
    ConnectHostOption,
    HelpOption,
    InsecureOption,
    MaxLineOption,
    PasswordFileOption,
    PortOption,
    TimeoutOption,
    TlsOption,
)

MessageArgument = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="MESSAGE", help="The message; without it, every line of stdin is sent as a message."
    ),
]
UserOption = Annotated[
    str | None, typer.Option(metavar="NAME", envvar="MESSENGER_USER", help="The username to send as.")
]
ToOption = Annotated[str | None, typer.Option(metavar="NAME", help="Send privately to this user.")]


def send(
    ctx: typer.Context,
    message: MessageArgument = None,
    user: UserOption = None,
    to: ToOption = None,
    host: ConnectHostOption = DEFAULT_HOST,
    port: PortOption = DEFAULT_PORT,
    color: ColorOption = "auto",
    tls: TlsOption = False,
    cafile: CafileOption = None,
    insecure: InsecureOption = False,
    password_file: PasswordFileOption = None,
    timeout: TimeoutOption = 10.0,
    max_line: MaxLineOption = "16K",  # type: ignore[assignment]  # parsed by the callback,
    _help: HelpOption = False,
) -> None:
    """Send a message (or every line of stdin), wait until the server has echoed it, and exit.

    Text is sent as it is: a line starting with '/' is a message, not a command.  Exit 0 when
    everything was delivered, 1 otherwise."""
    env = environment(ctx)
    if user is None:
        raise fail("no username: pass --user NAME or set MESSENGER_USER")
    if message:
        lines: Iterable[str | None] = [" ".join(message)]
    elif env.stdin is None or env.stdin.isatty():
        raise fail("nothing to send: give the message as an argument, or pipe it in")
    else:
        lines = read_lines(env.stdin, DEFAULT_MAX_LINE)
    err = make_console(env.stderr, color)
    link_options = LinkOptions(
        host,
        port,
        timeout,
        max_line,
        history=0,
        tls=tls_for(tls, cafile, insecure, err),
        password=read_password_option(env, password_file),
    )
    try:
        client, welcome, _ = log_in(env, link_options, user, False, err)
        view = ConsoleView(err)  # errors only
        link = ChatLink(link_options, view)
        link.start(client, welcome)
        counted = CountedLines(lines)
        literally = partial(submit_line, link, literal=True, to=to)
        status = run_lines(link, view, iter(counted), submit=literally)
        if not counted.sent:
            raise fail("nothing to send: the message is empty")
    except KeyboardInterrupt:
        status = EXIT_FAILURE
    except MessengerError as exc:
        status = fail(str(exc)).exit_code
    leave_threads_behind()
    raise typer.Exit(status)


@dataclass
class CountedLines:
    """Lines passed through, counting the ones that are not blank."""

    lines: Iterable[str | None]
    sent: int = 0

    def __iter__(self) -> Iterator[str | None]:
        for line in self.lines:
            if line is None or line.strip():
                self.sent += 1
            yield line

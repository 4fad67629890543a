"""``messenger connect``: log in, then chat through the line editor (a person at a full
terminal), the piped lines (a script) or the listener (``--listen``)."""

from __future__ import annotations

import contextlib
import io
import queue
import sys
from dataclasses import dataclass, replace
from typing import Annotated

import typer
from prompt_toolkit.formatted_text import ANSI
from prompt_toolkit.patch_stdout import patch_stdout
from prompt_toolkit.utils import is_dumb_terminal
from rich.console import Console

from ..client import Client, Incoming, MessengerError
from ..client.session import ChatLink, LinkOptions
from ..protocol import DEFAULT_HOST, DEFAULT_MAX_LINE, DEFAULT_PORT, Welcome
from ..server import HISTORY_MAX
from ..ui.frontends import EXIT_OK, read_lines, run_editor, run_lines, run_listen
from ..ui.render import ChatView, ConsoleView, JsonView, Renderer, make_console, render_prompt
from ..ui.terminal import LineEditor
from .env import Environment, environment, fail, leave_threads_behind
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
    choice,
    int_option,
)

UserOption = Annotated[
    str | None,
    typer.Option(
        metavar="NAME",
        envvar="MESSENGER_USER",
        help="Your username (asked for on a terminal if missing).",
    ),
]
TimestampsOption = Annotated[
    bool | None,
    typer.Option(
        "--timestamps/--no-timestamps",
        metavar="",
        help="Show HH:MM before each line (default: on a terminal only).",
    ),
]
BellOption = Annotated[
    str,
    typer.Option(
        metavar="WHEN",
        callback=choice("off", "mention", "all"),
        help="Bell: off, mention (your name or a private message) or all.",
    ),
]
JsonOption = Annotated[
    bool,
    typer.Option("--json", metavar="", help="Print every frame from the server as one JSON object per line."),
]
ListenOption = Annotated[
    bool, typer.Option("--listen", metavar="", help="Read-only: print what arrives, never read stdin.")
]
ReconnectOption = Annotated[
    bool,
    typer.Option(
        "--reconnect/--no-reconnect",
        metavar="",
        help="On a terminal, reconnect after the connection drops or the server restarts.",
    ),
]
HistoryOption = Annotated[
    int | None,
    int_option(
        0,
        HISTORY_MAX,
        help="Past messages to replay on login (default: the server's choice, but 0 with stdin piped).",
        show_default=False,
    ),
]
NoHistoryOption = Annotated[
    bool, typer.Option("--no-history", metavar="", help="Replay no past messages (same as --history 0).")
]


@dataclass(frozen=True)
class ConnectOptions:
    """What ``connect`` was asked to do."""

    link: LinkOptions
    user: str | None
    color: str
    timestamps: bool | None
    bell: str
    json: bool
    listen: bool


def connect(
    ctx: typer.Context,
    host: ConnectHostOption = DEFAULT_HOST,
    port: PortOption = DEFAULT_PORT,
    user: UserOption = None,
    color: ColorOption = "auto",
    timestamps: TimestampsOption = None,
    bell: BellOption = "mention",
    json_output: JsonOption = False,
    listen: ListenOption = False,
    reconnect: ReconnectOption = True,
    history: HistoryOption = None,
    no_history: NoHistoryOption = False,
    tls: TlsOption = False,
    cafile: CafileOption = None,
    insecure: InsecureOption = False,
    password_file: PasswordFileOption = None,
    timeout: TimeoutOption = 10.0,
    max_line: MaxLineOption = "16K",  # type: ignore[assignment]  # parsed by the callback,
    _help: HelpOption = False,
) -> None:
    """Join a chat server.  On a terminal, type to chat; with stdin piped, every line is sent
    (commands too) and the command exits once the server has echoed them all."""
    env = environment(ctx)
    if env.stdin is None and not listen:
        raise fail("stdin is closed: there is nothing to send; use --listen to only print what arrives")
    if env.stdout is None:
        raise fail(
            "stdout is closed: nothing that arrives could be shown; to only send, use 'messenger send'"
        )
    interactive = env.isatty(env.stdin) and not listen
    if user is None and not interactive:
        raise fail("no username: pass --user NAME or set MESSENGER_USER")
    # A dumb terminal (TERM=dumb, an Emacs shell) cannot redraw an input line: plain lines there.
    editor = interactive and env.stdout.isatty() and not json_output and not is_dumb_terminal()
    if no_history:
        history = 0
    elif history is None and not interactive and not listen:
        history = 0  # a script sending lines wants its own echoes, not the past
    link = LinkOptions(
        host,
        port,
        timeout,
        max_line,
        reconnect=interactive and reconnect,
        history=history,
        tls=tls_for(tls, cafile, insecure, make_console(env.stderr, color)),
        password=read_password_option(env, password_file),
    )
    options = ConnectOptions(link, user, color, timestamps, bell, json_output, listen)
    try:
        status = run_connect(env, options, interactive, editor)
    except KeyboardInterrupt:
        status = EXIT_OK
    except MessengerError as exc:
        status = fail(str(exc)).exit_code
    leave_threads_behind()
    raise typer.Exit(status)


def run_connect(env: Environment, options: ConnectOptions, interactive: bool, editor: bool) -> int:
    """Log in, then chat through the editor, the piped lines or the listener."""
    err = make_console(env.stderr, options.color)
    client, welcome, link_options = log_in(env, options.link, options.user, interactive, err)
    options = replace(options, link=link_options)
    try:
        err.print("Connected to the server!")
        if editor:
            return run_in_editor(options, client, welcome)
        view = make_view(options, make_console(env.stdout, options.color), err)
        link = ChatLink(options.link, view)
        follow_room(view, link)
        view.show(Incoming(client.welcome_line, welcome))
        link.start(client, welcome)
        if options.listen:
            return run_listen(link)
        return run_lines(link, view, read_lines(env.stdin, DEFAULT_MAX_LINE), interactive=interactive)
    except KeyboardInterrupt:
        # Ctrl+C at any point after the login: still say goodbye.
        if interactive:
            err.print()  # end the line the terminal's ^C was echoed on
        with contextlib.suppress(MessengerError):
            client.bye()
        return EXIT_OK


def run_in_editor(options: ConnectOptions, client: Client, welcome: Welcome) -> int:
    """The session of a person at a full terminal: output above an input line.  Its consoles
    write to ``sys.stdout`` and ``sys.stderr`` as patch_stdout replaced them, not to the
    Environment's streams."""
    with patch_stdout(raw=True):
        out = make_console(sys.stdout, options.color, wrap=True)
        err = make_console(sys.stderr, options.color, wrap=True)
        view = make_view(options, out, err)
        link = ChatLink(options.link, view)
        follow_room(view, link)
        prompt_console = Console(
            file=io.StringIO(), force_terminal=True, color_system=out.color_system, no_color=out.no_color
        )

        def prompt() -> ANSI:
            with prompt_console.capture() as capture:
                prompt_console.print(render_prompt(link.name, link.online, link.current_room), end="")
            return ANSI(capture.get())

        entered: queue.Queue[list[str]] = queue.Queue()
        line_editor = LineEditor(
            names=link.users, prompt=prompt, on_lines=entered.put, rooms=link.known_rooms
        )
        view.on_status = line_editor.refresh
        view.show(Incoming(client.welcome_line, welcome))
        link.start(client, welcome)
        return run_editor(link, view, line_editor, entered)


def follow_room(view: ConsoleView, link: ChatLink) -> None:
    """Messages from a room other than the current one are shown with the room's name."""
    if isinstance(view, ChatView):
        view.renderer.room = lambda: link.current_room


def make_view(options: ConnectOptions, out: Console, err: Console) -> ConsoleView:
    if options.json:
        return JsonView(out.file, err)
    stamps = out.is_terminal if options.timestamps is None else options.timestamps
    return ChatView(out, err, Renderer(timestamps=stamps), bell=options.bell)

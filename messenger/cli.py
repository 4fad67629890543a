"""The ``messenger`` command line: ``serve``, ``connect`` and ``send``.

Parses options, builds the server or the client, and maps every failure to one ``error:`` line
on stderr and an exit status (0 success or the user chose to stop, 1 runtime failure, 2 usage
error).  Data goes to stdout, messages about the program to stderr.  Nothing imports this.
"""

from __future__ import annotations

import contextlib
import errno
import getpass
import io
import logging
import os
import queue
import re
import signal
import sqlite3
import ssl
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from functools import partial
from typing import Annotated

import typer
from prompt_toolkit.formatted_text import ANSI
from prompt_toolkit.patch_stdout import patch_stdout
from prompt_toolkit.utils import is_dumb_terminal
from rich.console import Console
from rich.text import Text

from . import __version__
from .accounts import AccountError, Accounts, check_password_text
from .client import Client, Incoming, LoginError, MessengerError, NameTaken
from .frontends import EXIT_FAILURE, EXIT_OK, read_lines, run_editor, run_lines, run_listen
from .protocol import (
    DEFAULT_HOST,
    DEFAULT_MAX_LINE,
    DEFAULT_PORT,
    SERVER_LINE_FACTOR,
    Welcome,
    for_terminal,
)
from .render import ERROR_STYLE, ChatView, ConsoleView, JsonView, Renderer, make_console, render_prompt
from .server import DEFAULT_HISTORY, HISTORY_MAX, ChatServer, ServerConfig
from .session import ChatLink, LinkOptions, submit_line
from .store import Retention, SQLiteStore, StoreError, default_db_path
from .terminal import LineEditor
from .tls import TLSError, client_context, server_context

app = typer.Typer(
    name="messenger",
    help="A terminal chat server and client. Start a server with 'messenger serve', "
    "then join it with 'messenger connect --user NAME' (or 'nc 127.0.0.1 5555').",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


log = logging.getLogger("messenger")


def fail(message: str, code: int = EXIT_FAILURE) -> typer.Exit:
    """Print one ``error:`` line on stderr and return the Exit to raise."""
    line = Text(f"error: {for_terminal(message)}", style="bold red")  # may quote what a server said
    Console(stderr=True, highlight=False, soft_wrap=True).print(line)
    return typer.Exit(code)


_SIZE = re.compile(r"^\s*(\d+)\s*([kKmM]?)(i?[bB])?\s*$")


def parse_size(value: str) -> int:
    """``16384``, ``16K``, ``16KiB``, ``1M``, ``1MiB`` → bytes (K and M are powers of 1024)."""
    match = _SIZE.match(value)
    if not match:
        raise typer.BadParameter(f"{value!r} is not a size; use bytes, or a number with K or M (16K, 1M)")
    number, unit = int(match.group(1)), match.group(2).upper()
    return number * {"": 1, "K": 1024, "M": 1024 * 1024}[unit]


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"messenger {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """A terminal chat server and client."""


# ------------------------------------------------------------------------------------------------
# serve
# ------------------------------------------------------------------------------------------------

HostOption = Annotated[str, typer.Option(envvar="MESSENGER_HOST", help="Address to listen on or connect to.")]
PortOption = Annotated[int, typer.Option(envvar="MESSENGER_PORT", min=0, max=65535, help="TCP port.")]


@app.command()
def serve(
    host: HostOption = DEFAULT_HOST,
    port: Annotated[
        int, typer.Option(envvar="MESSENGER_PORT", min=0, max=65535, help="TCP port; 0 picks a free one.")
    ] = DEFAULT_PORT,
    max_rate: Annotated[
        float,
        typer.Option(envvar="MESSENGER_MAX_RATE", min=0, help="Lines per second per client (0 = unlimited)."),
    ] = ServerConfig.max_rate,
    burst: Annotated[
        int,
        typer.Option(
            envvar="MESSENGER_BURST", min=1, help="Lines a client may send at once before --max-rate applies."
        ),
    ] = ServerConfig.burst,
    max_line: Annotated[
        str,
        typer.Option(
            envvar="MESSENGER_MAX_LINE", help="Longest line accepted, with its line end (e.g. 16K)."
        ),
    ] = "16K",
    sendq: Annotated[
        str,
        typer.Option(
            envvar="MESSENGER_SENDQ",
            help="Unsent output a client may have queued before it is cut off as too slow.",
        ),
    ] = "1M",
    max_clients: Annotated[
        int, typer.Option(envvar="MESSENGER_MAX_CLIENTS", min=1, help="Most users logged in at once.")
    ] = ServerConfig.max_clients,
    max_per_ip: Annotated[
        int,
        typer.Option(
            envvar="MESSENGER_MAX_PER_IP",
            min=0,
            help="Most connections open at once from one address (0 = no limit).",
        ),
    ] = ServerConfig.max_per_ip,
    max_conn_rate: Annotated[
        float,
        typer.Option(
            envvar="MESSENGER_MAX_CONN_RATE",
            min=0,
            help="New connections a second from one address, after a burst of --max-per-ip (0 = no limit).",
        ),
    ] = ServerConfig.conn_rate,
    log_level: Annotated[
        str, typer.Option(envvar="MESSENGER_LOG_LEVEL", help="debug, info, warning or error.")
    ] = "info",
    db: Annotated[
        str | None,
        typer.Option(
            envvar="MESSENGER_DB",
            help="The history database (SQLite). ':memory:' keeps history for this run only. "
            "Default: ~/.local/share/messenger/history.db (under $XDG_DATA_HOME if that is set).",
            show_default=False,
        ),
    ] = None,
    history: Annotated[
        int,
        typer.Option(
            envvar="MESSENGER_HISTORY",
            min=0,
            max=HISTORY_MAX,
            help="Past messages replayed on login (0 = none).",
        ),
    ] = DEFAULT_HISTORY,
    retain_days: Annotated[
        float | None,
        typer.Option(envvar="MESSENGER_RETAIN_DAYS", min=0, help="Delete history older than this many days."),
    ] = None,
    retain_messages: Annotated[
        int | None,
        typer.Option(envvar="MESSENGER_RETAIN_MESSAGES", min=0, help="Keep only the newest N messages."),
    ] = None,
    auth: Annotated[
        str,
        typer.Option(
            envvar="MESSENGER_AUTH",
            help="open: anyone may log in, registered names need their password; required: accounts only.",
        ),
    ] = "open",
    password: Annotated[
        str | None,
        typer.Option(
            envvar="MESSENGER_PASSWORD",
            help="A password every login must give (registered users give their own instead).",
            show_default=False,
        ),
    ] = None,
    tls_cert: Annotated[
        str | None,
        typer.Option(
            envvar="MESSENGER_TLS_CERT", help="Serve TLS with this certificate (PEM; with --tls-key)."
        ),
    ] = None,
    tls_key: Annotated[
        str | None,
        typer.Option(envvar="MESSENGER_TLS_KEY", help="The private key of --tls-cert (PEM)."),
    ] = None,
) -> None:
    """Run a chat server until Ctrl+C or SIGTERM."""
    level = logging.getLevelName(log_level.upper())
    if not isinstance(level, int):
        raise typer.BadParameter(f"unknown level {log_level!r}", param_hint="--log-level")
    max_line_bytes = parse_size(max_line)
    if max_line_bytes < 64:
        raise typer.BadParameter("must be at least 64 bytes", param_hint="--max-line")
    sendq_bytes = parse_size(sendq)
    if sendq_bytes < SERVER_LINE_FACTOR * max_line_bytes:
        # One frame can be that long; a smaller queue would cut off everyone who receives it.
        raise typer.BadParameter("must be at least 4 times --max-line", param_hint="--sendq")
    config = ServerConfig(
        max_line=max_line_bytes,
        sendq=sendq_bytes,
        max_rate=max_rate,
        burst=burst,
        max_clients=max_clients,
        history=history,
        max_per_ip=max_per_ip,
        conn_rate=max_conn_rate,
        auth=auth,
        password=password or None,
    )
    setup_logging(level)
    if auth not in ("open", "required"):
        raise typer.BadParameter("use open or required", param_hint="--auth")
    if (tls_cert is None) != (tls_key is None):
        raise typer.BadParameter("give both --tls-cert and --tls-key, or neither", param_hint="--tls-cert")
    tls = None
    if tls_cert is not None and tls_key is not None:
        try:
            tls = server_context(tls_cert, tls_key)
        except TLSError as exc:
            raise fail(str(exc)) from None
    db_path = db if db is not None else str(default_db_path())
    try:
        store = SQLiteStore(db_path, Retention(days=retain_days, messages=retain_messages))
    except StoreError as exc:
        raise fail(str(exc)) from None
    try:
        accounts = Accounts(db_path)
    except sqlite3.Error as exc:
        store.close()
        raise fail(f"cannot read the accounts in {db_path}: {exc}") from None
    try:
        server = ChatServer((host, port), config, store=store, tls=tls, accounts=accounts)
    except OSError as exc:
        store.close()
        if exc.errno == errno.EADDRINUSE:
            raise fail(
                f"cannot listen on {host}:{port}: the port is in use (is another server running? "
                "choose another with --port)"
            ) from None
        raise fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    print(f"Server is running on {server.host}:{server.port}", flush=True)
    print("Waiting for connections...", flush=True)
    log.info("history: %s (next message id %d)", db_path, store.last_id() + 1)
    if tls_cert is not None:
        log.info("TLS 1.2+ with the certificate %s; plaintext clients are turned away", tls_cert)
    log.info(
        "logins: %s%s (%d registered names)",
        "accounts only" if auth == "required" else "open, registered names need their password",
        ", server password set" if password else "",
        len(accounts.all()),
    )
    try:
        run_until_signalled(server)
    finally:
        store.close()


def setup_logging(level: int) -> None:
    """Rich's handler on a terminal, plain timestamped lines otherwise; always on stderr."""
    if sys.stderr.isatty():
        from rich.logging import RichHandler

        handler: logging.Handler = RichHandler(console=Console(stderr=True), show_path=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root_logger = logging.getLogger("messenger")
    root_logger.handlers[:] = [handler]
    root_logger.setLevel(level)
    root_logger.propagate = False


def run_until_signalled(server: ChatServer) -> None:
    """Serve in a thread; on SIGINT or SIGTERM send everyone the shutdown frame and return."""
    stop = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="accept")
    thread.daemon = True
    thread.start()
    while not stop.wait(0.5):
        pass
    log.info("stopping: telling %d connection(s)", len(server.connections()))
    server.stop()


# ------------------------------------------------------------------------------------------------
# users
# ------------------------------------------------------------------------------------------------

users_app = typer.Typer(
    help="Manage registered names (accounts) in a server's database. Changes apply to the next "
    "login, also while the server runs.",
    no_args_is_help=True,
)
app.add_typer(users_app, name="users")

DbOption = Annotated[
    str | None,
    typer.Option(
        envvar="MESSENGER_DB",
        help="The server's database. Default: ~/.local/share/messenger/history.db "
        "(under $XDG_DATA_HOME if set).",
        show_default=False,
    ),
]


def open_accounts(db: str | None) -> Accounts:
    path = db if db is not None else str(default_db_path())
    if path == ":memory:":
        raise fail("accounts in ':memory:' would be gone at once; give the server's --db file")
    try:
        return Accounts(path)
    except (sqlite3.Error, OSError) as exc:
        raise fail(f"cannot open the accounts in {path}: {exc}") from None


def read_new_password(name: str) -> str:
    """A new password: typed twice without echo on a terminal, or one line of stdin."""
    if sys.stdin.isatty():
        first = getpass.getpass(f"New password for {name}: ")
        if getpass.getpass("Again: ") != first:
            raise fail("the two passwords differ; nothing was changed")
        password = first
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        check_password_text(password)
    except AccountError as exc:
        raise fail(f"{exc}; nothing was changed") from None
    return password


@users_app.command("add")
def users_add(name: str, db: DbOption = None) -> None:
    """Register NAME; the password is read without echo (or as one line of stdin)."""
    accounts = open_accounts(db)
    try:
        account = accounts.add(name, read_new_password(name))
    except AccountError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"registered {account.name}")


@users_app.command("passwd")
def users_passwd(name: str, db: DbOption = None) -> None:
    """Change the password of NAME."""
    accounts = open_accounts(db)
    if accounts.lookup(name) is None:
        raise fail(f"{name} is not registered")
    try:
        accounts.set_password(name, read_new_password(name))
    except AccountError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"password of {name} changed")


@users_app.command("remove")
def users_remove(name: str, db: DbOption = None) -> None:
    """Delete the account NAME (the name is free for anyone afterwards)."""
    try:
        open_accounts(db).remove(name)
    except AccountError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"removed {name}")


@users_app.command("list")
def users_list(db: DbOption = None) -> None:
    """List registered names, with when each was registered."""
    for account in open_accounts(db).all():
        typer.echo(f"{account.name}\t{account.created}")


# ------------------------------------------------------------------------------------------------
# connect and send
# ------------------------------------------------------------------------------------------------

ColorOption = Annotated[
    str, typer.Option(help="Colours: auto (on a terminal, unless NO_COLOR is set), always or never.")
]
TimeoutOption = Annotated[
    float, typer.Option(min=0.1, help="Seconds to wait for the connection and the login answer.")
]
MaxLineOption = Annotated[
    str,
    typer.Option(
        envvar="MESSENGER_MAX_LINE",
        help="The server's --max-line; lines from the server up to 4 times this are accepted.",
    ),
]
TlsOption = Annotated[
    bool,
    typer.Option(
        "--tls", envvar="MESSENGER_TLS", help="Connect with TLS, checking the server's certificate."
    ),
]
CafileOption = Annotated[
    str | None,
    typer.Option(
        envvar="MESSENGER_CAFILE",
        help="Trust the certificates in this PEM file (a private CA, a self-signed server); implies --tls.",
    ),
]
PasswordFileOption = Annotated[
    str | None,
    typer.Option(help="Read the password from the first line of this file (or set MESSENGER_PASSWORD)."),
]
InsecureOption = Annotated[
    bool,
    typer.Option(
        "--insecure",
        help="TLS without checking the certificate: anyone in between can listen. Implies --tls.",
    ),
]


def read_password_option(password_file: str | None) -> str | None:
    """The password from --password-file (its first line) or MESSENGER_PASSWORD, if any."""
    if password_file is not None:
        try:
            with open(password_file, encoding="utf-8") as file:
                return file.readline().rstrip("\r\n")
        except OSError as exc:
            raise fail(f"cannot read the password file {password_file}: {exc.strerror or exc}") from None
    return os.environ.get("MESSENGER_PASSWORD") or None


def tls_for(tls: bool, cafile: str | None, insecure: bool, err: Console) -> ssl.SSLContext | None:
    """The client's TLS context, if any; ``--insecure`` says loudly what it gives up."""
    if not (tls or cafile or insecure):
        return None
    if insecure:
        err.print(
            Text(
                "warning: --insecure: the server's certificate is not checked, so anyone on the "
                "network path can pretend to be the server and read or change this chat",
                style="bold yellow",
            )
        )
    try:
        return client_context(cafile, insecure)
    except TLSError as exc:
        raise fail(str(exc)) from None


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


@app.command()
def connect(
    host: HostOption = DEFAULT_HOST,
    port: PortOption = DEFAULT_PORT,
    user: Annotated[
        str | None,
        typer.Option(envvar="MESSENGER_USER", help="Your username (asked for on a terminal if missing)."),
    ] = None,
    color: ColorOption = "auto",
    timestamps: Annotated[
        bool | None,
        typer.Option(
            "--timestamps/--no-timestamps", help="Show HH:MM before each line (default: on a terminal only)."
        ),
    ] = None,
    bell: Annotated[
        str,
        typer.Option(help="Bell: off, mention (your name or a private message) or all."),
    ] = "mention",
    json_output: Annotated[
        bool,
        typer.Option("--json", help="Print every frame from the server as one JSON object per line."),
    ] = False,
    listen: Annotated[
        bool, typer.Option("--listen", help="Read-only: print what arrives, never read stdin.")
    ] = False,
    reconnect: Annotated[
        bool,
        typer.Option(
            "--reconnect/--no-reconnect",
            help="On a terminal, reconnect after the connection drops or the server restarts.",
        ),
    ] = True,
    history: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Past messages to replay on login (default: the server's choice, but 0 with stdin piped).",
            show_default=False,
        ),
    ] = None,
    no_history: Annotated[
        bool, typer.Option("--no-history", help="Replay no past messages (same as --history 0).")
    ] = False,
    tls: TlsOption = False,
    cafile: CafileOption = None,
    insecure: InsecureOption = False,
    password_file: PasswordFileOption = None,
    timeout: TimeoutOption = 10.0,
    max_line: MaxLineOption = "16K",
) -> None:
    """Join a chat server.  On a terminal, type to chat; with stdin piped, every line is sent
    (commands too) and the command exits once the server has echoed them all."""
    if color not in ("auto", "always", "never"):
        raise typer.BadParameter("use auto, always or never", param_hint="--color")
    if bell not in ("off", "mention", "all"):
        raise typer.BadParameter("use off, mention or all", param_hint="--bell")
    interactive = sys.stdin.isatty() and not listen
    if user is None and not interactive:
        raise fail("no username: pass --user NAME or set MESSENGER_USER")
    # A dumb terminal (TERM=dumb, an Emacs shell) cannot redraw an input line: plain lines there.
    editor = interactive and sys.stdout.isatty() and not json_output and not is_dumb_terminal()
    if no_history:
        history = 0
    elif history is None and not interactive and not listen:
        history = 0  # a script sending lines wants its own echoes, not the past
    options = ConnectOptions(
        link=LinkOptions(
            host,
            port,
            timeout,
            parse_size(max_line),
            reconnect=interactive and reconnect,
            history=history,
            tls=tls_for(tls, cafile, insecure, make_console(sys.stderr, color)),
            password=read_password_option(password_file),
        ),
        user=user,
        color=color,
        timestamps=timestamps,
        bell=bell,
        json=json_output,
        listen=listen,
    )
    try:
        status = run_connect(options, interactive, editor)
    except KeyboardInterrupt:
        status = EXIT_OK
    except MessengerError as exc:
        _exit_now(fail(str(exc)).exit_code)
    _exit_now(status)


def run_connect(options: ConnectOptions, interactive: bool, editor: bool) -> int:
    """Log in, then chat through the editor, the piped lines or the listener."""
    err = make_console(sys.stderr, options.color)
    client, welcome, link_options = log_in(options.link, options.user, interactive, err)
    options = replace(options, link=link_options)
    try:
        err.print("Connected to the server!")
        if editor:
            return run_in_editor(options, client, welcome)
        view = make_view(options, make_console(sys.stdout, options.color), err)
        link = ChatLink(options.link, view)
        follow_room(view, link)
        view.show(Incoming(client.welcome_line, welcome))
        link.start(client, welcome)
        if options.listen:
            return run_listen(link)
        return run_lines(link, view, read_lines(sys.stdin, DEFAULT_MAX_LINE), interactive=interactive)
    except KeyboardInterrupt:
        # Ctrl+C at any point after the login: still say goodbye.
        if interactive:
            err.print()  # end the line the terminal's ^C was echoed on
        with contextlib.suppress(MessengerError):
            client.bye()
        return EXIT_OK


def run_in_editor(options: ConnectOptions, client: Client, welcome: Welcome) -> int:
    """The session of a person at a full terminal: output above an input line."""
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


def log_in(
    options: LinkOptions, user: str | None, interactive: bool, err: Console
) -> tuple[Client, Welcome, LinkOptions]:
    """Connect and log in; a person at a terminal is asked for a password the server wants (without
    echo), and, without --user, for another name after a refused one.  Returns the options with
    the password that worked, for logging in again after a reconnect."""
    name = user if user is not None else ask_username(err)
    password = options.password
    client = Client.connect(
        options.host, options.port, timeout=options.timeout, max_line=options.max_line, tls=options.tls
    )
    while True:
        try:
            welcome = client.login(name, history=options.history, password=password, timeout=options.timeout)
            return client, welcome, replace(options, password=password)
        except LoginError as exc:
            wants_password = exc.code in ("password_required", "bad_password")
            if wants_password and interactive and sys.stdin.isatty():
                if exc.code == "bad_password":
                    err.print(Text(f"error: {for_terminal(str(exc))}", style=ERROR_STYLE))
                password = getpass.getpass(f"Password for {name}: ")
                continue
            if user is not None or not interactive:
                client.close()
                raise LoginError(exc.code, _login_failure(exc, name)) from None
            err.print(Text(f"error: {for_terminal(str(exc))}", style=ERROR_STYLE))
            name = ask_username(err)
        except KeyboardInterrupt:
            with contextlib.suppress(MessengerError):
                client.bye()  # the login may have gone through: leave cleanly
            client.close()
            raise
        except BaseException:
            client.close()
            raise


def ask_username(err: Console) -> str:
    while True:
        name = err.input("Enter your username: ").strip()
        if name:
            return name


def _login_failure(exc: LoginError, name: str) -> str:
    if isinstance(exc, NameTaken):
        return f"the name {name!r} is taken; choose another with --user"
    if exc.code == "password_required":
        return f"{exc}; give it with --password-file FILE or MESSENGER_PASSWORD"
    return f"login refused: {exc}"


@app.command()
def send(
    message: Annotated[
        list[str] | None,
        typer.Argument(help="The message; without it, every line of stdin is sent as a message."),
    ] = None,
    user: Annotated[
        str | None, typer.Option(envvar="MESSENGER_USER", help="The username to send as.")
    ] = None,
    to: Annotated[str | None, typer.Option(help="Send privately to this user.")] = None,
    host: HostOption = DEFAULT_HOST,
    port: PortOption = DEFAULT_PORT,
    color: ColorOption = "auto",
    tls: TlsOption = False,
    cafile: CafileOption = None,
    insecure: InsecureOption = False,
    password_file: PasswordFileOption = None,
    timeout: TimeoutOption = 10.0,
    max_line: MaxLineOption = "16K",
) -> None:
    """Send a message (or every line of stdin), wait until the server has echoed it, and exit.

    Text is sent as it is: a line starting with '/' is a message, not a command.  Exit 0 when
    everything was delivered, 1 otherwise."""
    if user is None:
        raise fail("no username: pass --user NAME or set MESSENGER_USER")
    if message:
        lines: Iterable[str | None] = [" ".join(message)]
    elif sys.stdin.isatty():
        raise fail("nothing to send: give the message as an argument, or pipe it in")
    else:
        lines = read_lines(sys.stdin, DEFAULT_MAX_LINE)
    err = make_console(sys.stderr, color)
    link_options = LinkOptions(
        host,
        port,
        timeout,
        parse_size(max_line),
        history=0,
        tls=tls_for(tls, cafile, insecure, err),
        password=read_password_option(password_file),
    )
    try:
        client, welcome, _ = log_in(link_options, user, False, err)
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
        _exit_now(fail(str(exc)).exit_code)
    _exit_now(status)


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


def _exit_now(status: int) -> None:
    """Exit without waiting for the feeder thread, which may be blocked reading stdin (a normal
    interpreter exit could then deadlock on stdin's lock)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # closed by the reader (``| head``)
            stream.flush()
    os._exit(status)


def main() -> None:
    """Entry point of the ``messenger`` command."""
    app()

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
import signal
import socket
import sqlite3
import ssl
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from functools import partial
from typing import Annotated, Any

import typer
from prompt_toolkit.formatted_text import ANSI
from prompt_toolkit.patch_stdout import patch_stdout
from prompt_toolkit.utils import is_dumb_terminal
from rich.console import Console
from rich.text import Text

from .. import __version__
from ..accounts import AccountError, Accounts, check_password_text
from ..client import Client, Incoming, LoginError, MessengerError, NameTaken
from ..frontends import EXIT_FAILURE, EXIT_OK, read_lines, run_editor, run_lines, run_listen
from ..protocol import (
    DEFAULT_HOST,
    DEFAULT_MAX_LINE,
    DEFAULT_PORT,
    SERVER_LINE_FACTOR,
    Welcome,
    for_terminal,
)
from ..render import ERROR_STYLE, ChatView, ConsoleView, JsonView, Renderer, make_console, render_prompt
from ..server import DEFAULT_HISTORY, HISTORY_MAX, ChatServer, ServerConfig
from ..session import ChatLink, LinkOptions, submit_line
from ..store import Retention, SQLiteStore, StoreError, default_db_path
from ..terminal import LineEditor
from ..tls import TLSError, client_context, server_context
from .options import choice, keep, not_empty, number, size, unreadable

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

# Typer 0.2x prints an argument's Python type (``<str>``, ``<list[str]>``) beside its name in the
# help; the name and its help say more to a person.  Options get metavars instead (below).
_argument_class = getattr(getattr(typer, "core", None), "TyperArgument", None)
if _argument_class is not None and hasattr(_argument_class, "display_type_rich"):
    _argument_class.display_type_rich = lambda self, ctx: None


def fail(message: str, code: int = EXIT_FAILURE) -> typer.Exit:
    """Print one ``error:`` line on stderr and return the Exit to raise."""
    line = Text(f"error: {for_terminal(message)}", style="bold red")  # may quote what a server said
    Console(stderr=True, highlight=False, soft_wrap=True).print(line)
    return typer.Exit(code)


def show_help(ctx: typer.Context, param: typer.CallbackParam, value: bool) -> None:
    """Our own --help/-h: Typer's shows the type ``<bool>`` next to it."""
    if value and not ctx.resilient_parsing:
        typer.echo(ctx.get_help(), color=ctx.color)
        raise typer.Exit()


HelpOption = Annotated[
    bool,
    typer.Option(
        "--help",
        "-h",
        metavar="",
        is_eager=True,
        expose_value=False,
        callback=show_help,
        help="Show this message and exit.",
    ),
]


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


# ------------------------------------------------------------------------------------------------
# serve
# ------------------------------------------------------------------------------------------------


def _int(low: int, high: int, metavar: str = "N", **kw: Any) -> Any:
    """A whole-number option checked by options.number (errors name --OPTION or its variable)."""
    return typer.Option(metavar=metavar, parser=keep, callback=number(int, low, high), **kw)


def _float(low: float, high: float, metavar: str, **kw: Any) -> Any:
    return typer.Option(metavar=metavar, parser=keep, callback=number(float, low, high), **kw)


def _size(low: int, high: int, **kw: Any) -> Any:
    return typer.Option(metavar="SIZE", parser=keep, callback=size(low, high), **kw)


# Sizes: a line shorter than 64 bytes cannot hold a login; lines and queues are held in memory.
MAX_LINE_MAX = 16 * 1024 * 1024
SENDQ_MAX = 1024**3
RATE_MAX = 1e6
DAYS_MAX = 100_000.0  # older than that reaches before year 1, which datetime cannot count back to
TIMEOUT_MAX = 3600.0
COUNT_MAX = 10**9

PortOption = Annotated[int, _int(1, 65535, "PORT", envvar="MESSENGER_PORT", help="The server's TCP port.")]
ConnectHostOption = Annotated[
    str, typer.Option(metavar="HOST", envvar="MESSENGER_HOST", help="The server to connect to.")
]


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(metavar="HOST", envvar="MESSENGER_HOST", help="The address to listen on.")
    ] = DEFAULT_HOST,
    port: Annotated[
        int, _int(0, 65535, "PORT", envvar="MESSENGER_PORT", help="TCP port; 0 picks a free one.")
    ] = DEFAULT_PORT,
    max_rate: Annotated[
        float,
        _float(
            0,
            RATE_MAX,
            "RATE",
            envvar="MESSENGER_MAX_RATE",
            help="Lines per second per client (0 = unlimited).",
        ),
    ] = ServerConfig.max_rate,
    burst: Annotated[
        int,
        _int(
            1,
            COUNT_MAX,
            envvar="MESSENGER_BURST",
            help="Lines a client may send at once before --max-rate applies.",
        ),
    ] = ServerConfig.burst,
    max_line: Annotated[
        int,
        _size(
            64,
            MAX_LINE_MAX,
            envvar="MESSENGER_MAX_LINE",
            help="Longest line accepted, with its line end (e.g. 16K).",
        ),
    ] = "16K",  # type: ignore[assignment]  # parsed by the callback
    sendq: Annotated[
        int,
        _size(
            256,
            SENDQ_MAX,
            envvar="MESSENGER_SENDQ",
            help="Unsent output a client may have queued before it is cut off as too slow.",
        ),
    ] = "1M",  # type: ignore[assignment]
    max_clients: Annotated[
        int, _int(1, COUNT_MAX, envvar="MESSENGER_MAX_CLIENTS", help="Most users logged in at once.")
    ] = ServerConfig.max_clients,
    max_per_ip: Annotated[
        int,
        _int(
            0,
            COUNT_MAX,
            envvar="MESSENGER_MAX_PER_IP",
            help="Most connections open at once from one address (0 = no limit).",
        ),
    ] = ServerConfig.max_per_ip,
    max_conn_rate: Annotated[
        float,
        _float(
            0,
            RATE_MAX,
            "RATE",
            envvar="MESSENGER_MAX_CONN_RATE",
            help="New connections a second from one address, after a burst of --max-per-ip (0 = no limit).",
        ),
    ] = ServerConfig.conn_rate,
    log_level: Annotated[
        str,
        typer.Option(
            metavar="LEVEL",
            envvar="MESSENGER_LOG_LEVEL",
            callback=choice("debug", "info", "warning", "error"),
            help="debug, info, warning or error.",
        ),
    ] = "info",
    db: Annotated[
        str | None,
        typer.Option(
            metavar="FILE",
            envvar="MESSENGER_DB",
            help="The history database (SQLite). ':memory:' keeps history for this run only. "
            "Default: ~/.local/share/messenger/history.db (under $XDG_DATA_HOME if that is set).",
            show_default=False,
        ),
    ] = None,
    history: Annotated[
        int,
        _int(0, HISTORY_MAX, envvar="MESSENGER_HISTORY", help="Past messages replayed on login (0 = none)."),
    ] = DEFAULT_HISTORY,
    retain_days: Annotated[
        float | None,
        _float(
            0,
            DAYS_MAX,
            "DAYS",
            envvar="MESSENGER_RETAIN_DAYS",
            help="Delete history older than this many days.",
        ),
    ] = None,
    retain_messages: Annotated[
        int | None,
        _int(0, COUNT_MAX, envvar="MESSENGER_RETAIN_MESSAGES", help="Keep only the newest N messages."),
    ] = None,
    auth: Annotated[
        str,
        typer.Option(
            metavar="MODE",
            envvar="MESSENGER_AUTH",
            callback=choice("open", "required"),
            help="open: anyone may log in, registered names need their password; required: accounts only.",
        ),
    ] = "open",
    password: Annotated[
        str | None,
        typer.Option(
            metavar="PASSWORD",
            envvar="MESSENGER_PASSWORD",
            callback=not_empty,
            help="A password every login must give (registered users give their own instead).",
            show_default=False,
        ),
    ] = None,
    tls_cert: Annotated[
        str | None,
        typer.Option(
            metavar="FILE",
            envvar="MESSENGER_TLS_CERT",
            help="Serve TLS with this certificate (PEM; with --tls-key).",
        ),
    ] = None,
    tls_key: Annotated[
        str | None,
        typer.Option(metavar="FILE", envvar="MESSENGER_TLS_KEY", help="The private key of --tls-cert (PEM)."),
    ] = None,
    _help: HelpOption = False,
) -> None:
    """Run a chat server until Ctrl+C or SIGTERM."""
    if sendq < SERVER_LINE_FACTOR * max_line:
        # One frame can be that long; a smaller queue would cut off everyone who receives it.
        raise typer.BadParameter("must be at least 4 times --max-line", param_hint="--sendq")
    if (tls_cert is None) != (tls_key is None):
        raise typer.BadParameter("give both --tls-cert and --tls-key, or neither", param_hint="--tls-cert")
    tls = server_tls(tls_cert, tls_key)
    config = ServerConfig(
        max_line=max_line,
        sendq=sendq,
        max_rate=max_rate,
        burst=burst,
        max_clients=max_clients,
        history=history,
        max_per_ip=max_per_ip,
        conn_rate=max_conn_rate,
        auth=auth,
        password=password,
    )
    setup_logging(logging.getLevelName(log_level.upper()))
    db_path = db if db is not None else str(default_db_path())
    with reserve_port(host, port):  # a busy port is the first thing to say, before the database
        store, accounts = open_database(db_path, Retention(days=retain_days, messages=retain_messages))
    try:
        server = ChatServer((host, port), config, store=store, tls=tls, accounts=accounts)
    except OSError as exc:
        store.close()
        raise listen_failure(host, port, exc) from None
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


def server_tls(cert: str | None, key: str | None) -> ssl.SSLContext | None:
    """The server's TLS context, if asked for; a file that cannot be read is named."""
    if cert is None or key is None:
        return None
    for path, what in ((cert, "the certificate"), (key, "the key")):
        reason = unreadable(path)
        if reason is not None:
            raise fail(f"cannot read {what} {path}: {reason}")
    try:
        return server_context(cert, key)
    except TLSError as exc:
        raise fail(str(exc)) from None


def listen_failure(host: str, port: int, exc: OSError) -> typer.Exit:
    if exc.errno == errno.EADDRINUSE:
        return fail(
            f"cannot listen on {host}:{port}: the port is in use (is another server running? "
            "choose another with --port)"
        )
    reason = str(exc.strerror or exc).split(" (while attempting")[0]  # create_server's addition
    return fail(f"cannot listen on {host}:{port}: {reason}")


@contextlib.contextmanager
def reserve_port(host: str, port: int) -> Iterator[None]:
    """Hold ``host:port`` while the body runs (the server binds it again right after), so that a
    second server on a busy port is told about the port, not about the database the first holds.
    The port is bound, never listened on: a client connecting meanwhile is refused (and tries
    again), not accepted into a backlog and then reset."""
    if port == 0:
        yield  # any free port: nothing can be busy
        return
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        probe = socket.socket(family, socket.SOCK_STREAM)
    except OSError as exc:
        raise listen_failure(host, port, exc) from None
    try:
        # As the server does: SO_REUSEADDR binds past connections in TIME_WAIT, never past a
        # socket that listens.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
    except OSError as exc:
        probe.close()
        raise listen_failure(host, port, exc) from None
    try:
        yield
    finally:
        probe.close()


def open_database(path: str, retention: Retention) -> tuple[SQLiteStore, Accounts]:
    try:
        store = SQLiteStore(path, retention)
    except StoreError as exc:
        raise fail(str(exc)) from None
    try:
        return store, Accounts(path)
    except sqlite3.Error as exc:
        store.close()
        raise fail(f"cannot read the accounts in {path}: {exc}") from None


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


@users_app.callback()
def users_root(_help: HelpOption = False) -> None:
    """Manage registered names (accounts) in a server's database."""


DbOption = Annotated[
    str | None,
    typer.Option(
        metavar="FILE",
        envvar="MESSENGER_DB",
        help="The server's database. Default: ~/.local/share/messenger/history.db "
        "(under $XDG_DATA_HOME if set).",
        show_default=False,
    ),
]


def open_accounts(db: str | None, create: bool = False) -> Accounts:
    """The accounts of the server's database; only ``users add`` may create the file."""
    path = db if db is not None else str(default_db_path())
    if path == ":memory:":
        raise fail("accounts in ':memory:' would be gone at once; give the server's --db file")
    if not create and not os.path.exists(path):
        raise fail(f"cannot open the accounts in {path}: no such file (is --db the server's database?)")
    try:
        return Accounts(path)
    except (sqlite3.Error, OSError) as exc:
        raise fail(f"cannot open the accounts in {path}: {exc}") from None


@contextlib.contextmanager
def changing(accounts: Accounts) -> Iterator[None]:
    """A refused change (AccountError) or a database that cannot be written: one error line."""
    try:
        yield
    except AccountError as exc:
        raise fail(str(exc)) from None
    except sqlite3.Error as exc:
        raise fail(f"cannot change the accounts in {accounts.path}: {exc}") from None


def read_new_password(name: str) -> str:
    """A new password: typed twice without echo on a terminal (an empty one is asked again), or
    one line of stdin."""
    if sys.stdin is not None and sys.stdin.isatty():
        first = ask_password(f"New password for {name}: ")
        if ask_password("Again: ", again=False) != first:
            raise fail("the two passwords differ; nothing was changed")
        password = first
    else:
        password = sys.stdin.readline().rstrip("\r\n") if sys.stdin is not None else ""
    try:
        check_password_text(password)
    except AccountError as exc:
        raise fail(f"{exc}; nothing was changed") from None
    return password


def at_prompt(ask: Callable[[], str]) -> str:
    """Run a prompt; Ctrl+C or Ctrl+D there stops the command the same way everywhere: the line
    is ended, nothing else is printed, and the status is 0 (the user chose to stop)."""
    try:
        return ask()
    except (KeyboardInterrupt, EOFError):
        if sys.stderr is not None:
            sys.stderr.write("\n")
            sys.stderr.flush()
        raise typer.Exit(EXIT_OK) from None


def ask_password(prompt: str, again: bool = True) -> str:
    """A password typed without echo; an empty one is never sent or stored (it could only fail,
    and each failed login counts towards the lock-out), so it is asked for again."""
    while True:
        password = at_prompt(partial(getpass.getpass, prompt))
        if password or not again:
            return password
        Console(stderr=True, highlight=False).print(
            Text("error: the password is empty; type it, or press Ctrl+C to stop", style=ERROR_STYLE)
        )


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="The registered name.")],
    db: DbOption = None,
    _help: HelpOption = False,
) -> None:
    """Register NAME; the password is read without echo (or as one line of stdin)."""
    accounts = open_accounts(db, create=True)
    with changing(accounts):
        account = accounts.add(name, read_new_password(name))
    typer.echo(f"registered {account.name}")


@users_app.command("passwd")
def users_passwd(
    name: Annotated[str, typer.Argument(help="The registered name.")],
    db: DbOption = None,
    _help: HelpOption = False,
) -> None:
    """Change the password of NAME."""
    accounts = open_accounts(db)
    if accounts.lookup(name) is None:
        raise fail(f"{name} is not registered")
    with changing(accounts):
        accounts.set_password(name, read_new_password(name))
    typer.echo(f"password of {name} changed")


@users_app.command("remove")
def users_remove(
    name: Annotated[str, typer.Argument(help="The registered name.")],
    db: DbOption = None,
    _help: HelpOption = False,
) -> None:
    """Delete the account NAME (the name is free for anyone afterwards)."""
    accounts = open_accounts(db)
    with changing(accounts):
        accounts.remove(name)
    typer.echo(f"removed {name}")


@users_app.command("list")
def users_list(
    db: DbOption = None,
    _help: HelpOption = False,
) -> None:
    """List registered names, with when each was registered."""
    for account in open_accounts(db).all():
        typer.echo(f"{account.name}\t{account.created}")


# ------------------------------------------------------------------------------------------------
# connect and send
# ------------------------------------------------------------------------------------------------

ColorOption = Annotated[
    str,
    typer.Option(
        metavar="WHEN",
        callback=choice("auto", "always", "never"),
        help="Colours: auto (on a terminal, unless NO_COLOR is set), always or never.",
    ),
]
TimeoutOption = Annotated[
    float,
    _float(0.1, TIMEOUT_MAX, "SECONDS", help="Seconds to wait for the connection and the login answer."),
]
MaxLineOption = Annotated[
    int,
    _size(
        64,
        MAX_LINE_MAX,
        envvar="MESSENGER_MAX_LINE",
        help="The server's --max-line; lines from the server up to 4 times this are accepted.",
    ),
]
TlsOption = Annotated[
    bool,
    typer.Option(
        "--tls",
        metavar="",
        envvar="MESSENGER_TLS",
        help="Connect with TLS, checking the server's certificate.",
    ),
]
CafileOption = Annotated[
    str | None,
    typer.Option(
        metavar="FILE",
        envvar="MESSENGER_CAFILE",
        help="Trust the certificates in this PEM file (a private CA, a self-signed server); implies --tls.",
    ),
]
PasswordFileOption = Annotated[
    str | None,
    typer.Option(
        metavar="FILE",
        help="Read the password from the first line of this file (or set MESSENGER_PASSWORD).",
    ),
]
InsecureOption = Annotated[
    bool,
    typer.Option(
        "--insecure",
        metavar="",
        help="TLS without checking the certificate: anyone in between can listen. Implies --tls.",
    ),
]


def read_password_option(password_file: str | None) -> str | None:
    """The password from --password-file (its first line) or MESSENGER_PASSWORD, if any; an
    empty one is refused here, before it could be sent and counted as a failed login."""
    if password_file is not None:
        try:
            with open(password_file, encoding="utf-8") as file:
                password = file.readline().rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            reason = unreadable(password_file) or getattr(exc, "strerror", None) or str(exc)
            raise fail(f"cannot read the password file {password_file}: {reason}") from None
        if not password:
            raise fail(f"the password file {password_file} is empty (its first line is the password)")
        return password
    password = os.environ.get("MESSENGER_PASSWORD")
    if password == "":
        raise fail("MESSENGER_PASSWORD is set but empty; set it to the password, or unset it")
    return password


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
    reason = unreadable(cafile) if cafile is not None else None
    if reason is not None:
        raise fail(f"cannot read the CA file {cafile}: {reason}")
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
    host: ConnectHostOption = DEFAULT_HOST,
    port: PortOption = DEFAULT_PORT,
    user: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            envvar="MESSENGER_USER",
            help="Your username (asked for on a terminal if missing).",
        ),
    ] = None,
    color: ColorOption = "auto",
    timestamps: Annotated[
        bool | None,
        typer.Option(
            "--timestamps/--no-timestamps",
            metavar="",
            help="Show HH:MM before each line (default: on a terminal only).",
        ),
    ] = None,
    bell: Annotated[
        str,
        typer.Option(
            metavar="WHEN",
            callback=choice("off", "mention", "all"),
            help="Bell: off, mention (your name or a private message) or all.",
        ),
    ] = "mention",
    json_output: Annotated[
        bool,
        typer.Option(
            "--json", metavar="", help="Print every frame from the server as one JSON object per line."
        ),
    ] = False,
    listen: Annotated[
        bool, typer.Option("--listen", metavar="", help="Read-only: print what arrives, never read stdin.")
    ] = False,
    reconnect: Annotated[
        bool,
        typer.Option(
            "--reconnect/--no-reconnect",
            metavar="",
            help="On a terminal, reconnect after the connection drops or the server restarts.",
        ),
    ] = True,
    history: Annotated[
        int | None,
        _int(
            0,
            HISTORY_MAX,
            help="Past messages to replay on login (default: the server's choice, but 0 with stdin piped).",
            show_default=False,
        ),
    ] = None,
    no_history: Annotated[
        bool, typer.Option("--no-history", metavar="", help="Replay no past messages (same as --history 0).")
    ] = False,
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
    if sys.stdin is None and not listen:
        raise fail("stdin is closed: there is nothing to send; use --listen to only print what arrives")
    if sys.stdout is None:
        raise fail(
            "stdout is closed: nothing that arrives could be shown; to only send, use 'messenger send'"
        )
    interactive = sys.stdin is not None and sys.stdin.isatty() and not listen
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
            max_line,
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
            if wants_password and interactive:
                if exc.code == "bad_password":
                    err.print(Text(f"error: {for_terminal(str(exc))}", style=ERROR_STYLE))
                password = ask_password(f"Password for {name}: ")
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
        name = at_prompt(partial(err.input, "Enter your username: ")).strip()
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
        typer.Argument(
            metavar="MESSAGE", help="The message; without it, every line of stdin is sent as a message."
        ),
    ] = None,
    user: Annotated[
        str | None, typer.Option(metavar="NAME", envvar="MESSENGER_USER", help="The username to send as.")
    ] = None,
    to: Annotated[str | None, typer.Option(metavar="NAME", help="Send privately to this user.")] = None,
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
    if user is None:
        raise fail("no username: pass --user NAME or set MESSENGER_USER")
    if message:
        lines: Iterable[str | None] = [" ".join(message)]
    elif sys.stdin is None or sys.stdin.isatty():
        raise fail("nothing to send: give the message as an argument, or pipe it in")
    else:
        lines = read_lines(sys.stdin, DEFAULT_MAX_LINE)
    err = make_console(sys.stderr, color)
    link_options = LinkOptions(
        host,
        port,
        timeout,
        max_line,
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


def main() -> None:
    """Entry point of the ``messenger`` command."""
    guard_standard_streams()
    app()

"""The ``messenger`` command line: ``serve`` and ``connect``.

Parses options, builds the server or the client, and maps every failure to one ``error:`` line
on stderr and an exit status (0 success or the user chose to stop, 1 runtime failure, 2 usage
error).  Data goes to stdout, messages about the program to stderr.  Nothing imports this.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated, TextIO

import typer
from rich.console import Console
from rich.text import Text

from . import __version__
from .client import Client, ConnectionClosed, LoginError, MessengerError, NameTaken
from .protocol import (
    DEFAULT_HOST,
    DEFAULT_MAX_LINE,
    DEFAULT_PORT,
    SERVER_LINE_FACTOR,
    TEXT_HELP,
    Bye,
    Error,
    FrameError,
    Pong,
    Shutdown,
    parse_text_command,
)
from .render import make_console, render_frame
from .server import ChatServer, ServerConfig

app = typer.Typer(
    name="messenger",
    help="A terminal chat server and client. Start a server with 'messenger serve', "
    "then join it with 'messenger connect --user NAME' (or 'nc 127.0.0.1 5555').",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

EXIT_OK = 0
EXIT_FAILURE = 1

log = logging.getLogger("messenger")


def fail(message: str, code: int = EXIT_FAILURE) -> typer.Exit:
    """Print one ``error:`` line on stderr and return the Exit to raise."""
    Console(stderr=True, highlight=False, soft_wrap=True).print(Text(f"error: {message}", style="bold red"))
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
    log_level: Annotated[
        str, typer.Option(envvar="MESSENGER_LOG_LEVEL", help="debug, info, warning or error.")
    ] = "info",
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
    )
    setup_logging(level)
    try:
        server = ChatServer((host, port), config)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise fail(
                f"cannot listen on {host}:{port}: the port is in use (is another server running? "
                "choose another with --port)"
            ) from None
        raise fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    print(f"Server is running on {server.host}:{server.port}", flush=True)
    print("Waiting for connections...", flush=True)
    run_until_signalled(server)


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
# connect
# ------------------------------------------------------------------------------------------------

CLIENT_HELP = (
    "Type a message and press Enter to send it to everyone.",
    *TEXT_HELP,
)


def read_lines(stream: TextIO, limit: int) -> Iterator[str | None]:
    """Lines of ``stream`` without their ends; None stands for a line longer than ``limit``
    characters, which is skipped without being held in memory whole."""
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith("\n"):
            while line and not line.endswith("\n"):
                line = stream.readline(limit)
            yield None
            continue
        yield line.rstrip("\r\n")


@dataclass
class ChatSession:
    """A logged-in client wired to a terminal or a pipe.

    Three threads: the reader prints every incoming frame; the feeder reads stdin and sends
    each line; the main thread waits for either to finish (staying responsive to Ctrl+C) and
    decides how to end.  When stdin ends, a ping is sent and the session waits for its pong:
    the server answers in order, so by then it has echoed every line sent before.
    """

    client: Client
    out: Console
    err: Console
    interactive: bool = False
    errors: int = 0
    shutdown: Shutdown | None = None
    lost: str | None = None
    quit: bool = False
    wake: threading.Event = field(default_factory=threading.Event)
    connection_ended: threading.Event = field(default_factory=threading.Event)
    input_ended: threading.Event = field(default_factory=threading.Event)
    _awaited: str | None = None
    _answered: threading.Event = field(default_factory=threading.Event)

    def read_frames(self) -> None:
        """Reader thread: print frames until the connection ends."""
        try:
            while True:
                frame = self.client.receive()
                if isinstance(frame, Pong) and self._awaited is not None and frame.token == self._awaited:
                    self._answered.set()  # our own flush marker: nothing to show
                    continue
                self.show(frame)
                if isinstance(frame, Shutdown):
                    self.shutdown = frame
                    return
        except MessengerError as exc:
            self.lost = str(exc)
        finally:
            self.connection_ended.set()
            self._answered.set()
            self.wake.set()

    def show(self, frame: object) -> None:
        text = render_frame(frame, me=self.client.user)  # type: ignore[arg-type]
        if text is None:
            return
        if isinstance(frame, Error):
            self.errors += 1
            self.err.print(text)
        else:
            self.out.print(text)

    def feed(self, stdin: TextIO) -> None:
        """Feeder thread: send each line of stdin (commands too) until EOF or /quit."""
        try:
            for line in read_lines(stdin, DEFAULT_MAX_LINE):
                if line is None:
                    self.errors += 1
                    self.err.print(
                        Text(
                            f"error: line longer than {DEFAULT_MAX_LINE} characters; not sent",
                            style="bold red",
                        )
                    )
                elif not self.send_line(line):
                    break
        except (MessengerError, OSError, ValueError):
            pass  # the reader reports what happened to the connection
        finally:
            self.input_ended.set()
            self.wake.set()

    def send_line(self, line: str) -> bool:
        """Send one typed or piped line; False after /quit."""
        if not line.strip():
            return True
        try:
            command = parse_text_command(line)
        except FrameError as exc:
            self.errors += 1
            self.err.print(Text(f"error: {exc.message}", style="bold red"))
            return True
        if command.help:
            for help_line in CLIENT_HELP:
                self.err.print(Text(help_line, style="dim"))
        elif isinstance(command.frame, Bye):
            self.quit = True
            return False
        elif command.frame is not None:
            self.client.send(command.frame)
        return True

    def wait_for_echoes(self) -> None:
        """Block until the server has answered everything sent so far (or the link ended)."""
        self._awaited = "flush"
        self._answered.clear()
        try:
            self.client.ping(self._awaited)
        except ConnectionClosed:
            return
        while not self._answered.wait(0.5):
            pass

    def run(self, stdin: TextIO) -> int:
        """Chat until stdin ends, /quit, Ctrl+C, or the connection ends; return the exit status."""
        try:
            threading.Thread(target=self.read_frames, name="reader", daemon=True).start()
            threading.Thread(target=self.feed, args=(stdin,), name="feeder", daemon=True).start()
            while not self.wake.wait(0.5):
                pass
            if not self.connection_ended.is_set():
                self.wait_for_echoes()
        except KeyboardInterrupt:
            if self.interactive:
                self.err.print()  # end the line the terminal's ^C was echoed on
        if self.shutdown is not None:
            return EXIT_OK
        if self.connection_ended.is_set() and self.lost is not None:
            raise ConnectionClosed(f"the connection to the server was lost ({self.lost})")
        with contextlib.suppress(ConnectionClosed):
            self.client.bye()
        # A script learns that the server refused some of its lines; a person who leaves
        # has simply chosen to stop.
        return EXIT_FAILURE if self.errors and not self.interactive else EXIT_OK


@app.command()
def connect(
    host: HostOption = DEFAULT_HOST,
    port: PortOption = DEFAULT_PORT,
    user: Annotated[
        str | None,
        typer.Option(envvar="MESSENGER_USER", help="Your username (asked for on a terminal if missing)."),
    ] = None,
    color: Annotated[
        str, typer.Option(help="Colours: auto (on a terminal, unless NO_COLOR is set), always or never.")
    ] = "auto",
    timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds to wait for the connection and the login answer.")
    ] = 10.0,
    max_line: Annotated[
        str,
        typer.Option(
            envvar="MESSENGER_MAX_LINE",
            help="The server's --max-line; lines from the server up to 4 times this are accepted.",
        ),
    ] = "16K",
) -> None:
    """Join a chat server.  On a terminal, type to chat; with stdin piped, every line is sent as a
    message and the command exits once the server has echoed them all."""
    if color not in ("auto", "always", "never"):
        raise typer.BadParameter("use auto, always or never", param_hint="--color")
    interactive = sys.stdin.isatty()
    out = make_console(sys.stdout, color)
    err = make_console(sys.stderr, color)
    if user is None and not interactive:
        raise fail("no username: pass --user NAME or set MESSENGER_USER")
    try:
        target = ConnectOptions(host, port, user, timeout, parse_size(max_line), interactive)
        status = run_client(target, out, err)
    except KeyboardInterrupt:
        status = EXIT_OK
    except MessengerError as exc:
        _exit_now(fail(str(exc)).exit_code)
    _exit_now(status)


def _exit_now(status: int) -> None:
    """Exit without waiting for the feeder thread, which may be blocked reading stdin (a normal
    interpreter exit could then deadlock on stdin's lock)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def ask_username(err: Console) -> str:
    while True:
        name = err.input("Enter your username: ").strip()
        if name:
            return name


@dataclass(frozen=True)
class ConnectOptions:
    """What ``connect`` was asked to do."""

    host: str
    port: int
    user: str | None
    timeout: float
    max_line: int
    interactive: bool


def run_client(options: ConnectOptions, out: Console, err: Console) -> int:
    """Connect, log in, chat; return the exit status.  Raises MessengerError on failure."""
    user, interactive = options.user, options.interactive
    name = user if user is not None else ask_username(err)
    client = Client.connect(options.host, options.port, timeout=options.timeout, max_line=options.max_line)
    with client:
        while True:
            try:
                welcome = client.login(name, timeout=options.timeout)
                break
            except LoginError as exc:
                if user is not None or not interactive:
                    raise LoginError(exc.code, _login_failure(exc, name)) from None
                err.print(Text(f"error: {exc}", style="bold red"))
                name = ask_username(err)
        try:
            err.print("Connected to the server!")
            session = ChatSession(client=client, out=out, err=err, interactive=interactive)
            session.show(welcome)
            return session.run(sys.stdin)
        except KeyboardInterrupt:
            # Ctrl+C before the session's own handler was in place: still leave cleanly.
            with contextlib.suppress(MessengerError):
                client.bye()
            return EXIT_OK


def _login_failure(exc: LoginError, name: str) -> str:
    if isinstance(exc, NameTaken):
        return f"the name {name!r} is taken; choose another with --user"
    return f"login refused: {exc}"


def main() -> None:
    """Entry point of the ``messenger`` command."""
    app()

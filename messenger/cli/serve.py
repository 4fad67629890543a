"""``messenger serve``: its options, and the steps from them to a running server — the
configuration, the port reserved before the database is opened, the database, TLS, logging —
and the wait for SIGINT or SIGTERM that ends it."""

from __future__ import annotations

import gc
import logging
import signal
import ssl
import sys
import threading
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from ..core.accounts import Accounts
from ..core.store import Retention, SQLiteStore, default_db_path
from ..protocol import DEFAULT_HOST, DEFAULT_PORT, SERVER_LINE_FACTOR
from ..server import DEFAULT_HISTORY, HISTORY_MAX, ChatServer, ServerConfig
from ..tls import TLSError, server_context
from .env import fail
from .options import (
    COUNT_MAX,
    DAYS_MAX,
    GATHER_MAX_MS,
    MAX_LINE_MAX,
    RATE_MAX,
    SENDQ_MAX,
    HelpOption,
    choice,
    float_option,
    int_option,
    not_empty,
    size_option,
    unreadable,
)
from .serve_cluster import NodeOption, RedisOption, join_cluster, leave_cluster
from .serve_files import read_motd
from .serve_irc import IrcHostOption, IrcPortOption, IrcTlsPortOption, check_irc, open_irc_ports
from .serve_limits import check_open_files, raise_open_files
from .serve_ports import open_chat_server, open_web
from .serve_web import (
    DEFAULT_WEB_PORT,
    NoMetricsOption,
    NoWebOption,
    WebHostOption,
    WebOriginOption,
    WebPortOption,
)

if TYPE_CHECKING:
    from ..cluster.node import ClusterNode

log = logging.getLogger("messenger")

HostOption = Annotated[
    str, typer.Option(metavar="HOST", envvar="MESSENGER_HOST", help="The address to listen on.")
]
PortOption = Annotated[
    int, int_option(0, 65535, "PORT", envvar="MESSENGER_PORT", help="TCP port; 0 picks a free one.")
]
MaxRateOption = Annotated[
    float,
    float_option(
        0, RATE_MAX, "RATE", envvar="MESSENGER_MAX_RATE", help="Lines per second per client (0 = unlimited)."
    ),
]
BurstOption = Annotated[
    int,
    int_option(
        1,
        COUNT_MAX,
        envvar="MESSENGER_BURST",
        help="Lines a client may send at once before --max-rate applies.",
    ),
]
MaxLineOption = Annotated[
    int,
    size_option(
        64,
        MAX_LINE_MAX,
        envvar="MESSENGER_MAX_LINE",
        help="Longest line accepted, with its line end (e.g. 16K).",
    ),
]
SendqOption = Annotated[
    int,
    size_option(
        256,
        SENDQ_MAX,
        envvar="MESSENGER_SENDQ",
        help="Unsent output a client may have queued before it is cut off as too slow.",
    ),
]
GatherOption = Annotated[
    float,
    float_option(
        0,
        GATHER_MAX_MS,
        "MS",
        envvar="MESSENGER_GATHER",
        help="Under load, messages to everyone wait up to this many ms to go out together (0: never).",
    ),
]
MaxClientsOption = Annotated[
    int, int_option(1, COUNT_MAX, envvar="MESSENGER_MAX_CLIENTS", help="Most users logged in at once.")
]
CrowdOption = Annotated[
    int,
    int_option(
        1,
        COUNT_MAX,
        envvar="MESSENGER_CROWD",
        help="Rooms of more members get their joins and leaves in one summary a second.",
    ),
]
MaxPerIpOption = Annotated[
    int,
    int_option(
        0,
        COUNT_MAX,
        envvar="MESSENGER_MAX_PER_IP",
        help="Most connections open at once from one address (0 = no limit).",
    ),
]
MaxConnRateOption = Annotated[
    float,
    float_option(
        0,
        RATE_MAX,
        "RATE",
        envvar="MESSENGER_MAX_CONN_RATE",
        help="New connections a second from one address, after a burst of --max-per-ip (0 = no limit).",
    ),
]
LogLevelOption = Annotated[
    str,
    typer.Option(
        metavar="LEVEL",
        envvar="MESSENGER_LOG_LEVEL",
        callback=choice("debug", "info", "warning", "error"),
        help="debug, info, warning or error.",
    ),
]
DbOption = Annotated[
    str | None,
    typer.Option(
        metavar="FILE",
        envvar="MESSENGER_DB",
        help="The history database (SQLite). ':memory:' keeps history for this run only. "
        "Default: ~/.local/share/messenger/history.db (under $XDG_DATA_HOME if that is set).",
        show_default=False,
    ),
]
HistoryOption = Annotated[
    int,
    int_option(
        0, HISTORY_MAX, envvar="MESSENGER_HISTORY", help="Past messages replayed on login (0 = none)."
    ),
]
RetainDaysOption = Annotated[
    float | None,
    float_option(
        0, DAYS_MAX, "DAYS", envvar="MESSENGER_RETAIN_DAYS", help="Delete history older than this many days."
    ),
]
RetainMessagesOption = Annotated[
    int | None,
    int_option(0, COUNT_MAX, envvar="MESSENGER_RETAIN_MESSAGES", help="Keep only the newest N messages."),
]
AuthOption = Annotated[
    str,
    typer.Option(
        metavar="MODE",
        envvar="MESSENGER_AUTH",
        callback=choice("open", "required"),
        help="open: anyone may log in, registered names need their password; required: accounts only.",
    ),
]
ServerPasswordOption = Annotated[
    str | None,
    typer.Option(
        metavar="PASSWORD",
        envvar="MESSENGER_PASSWORD",
        callback=not_empty,
        help="A password every login must give (registered users give their own instead).",
        show_default=False,
    ),
]
TlsCertOption = Annotated[
    str | None,
    typer.Option(
        metavar="FILE",
        envvar="MESSENGER_TLS_CERT",
        help="Serve TLS with this certificate (PEM; with --tls-key).",
    ),
]
TlsKeyOption = Annotated[
    str | None,
    typer.Option(metavar="FILE", envvar="MESSENGER_TLS_KEY", help="The private key of --tls-cert (PEM)."),
]


MotdOption = Annotated[
    str | None,
    typer.Option(
        metavar="FILE",
        envvar="MESSENGER_MOTD",
        help="A message of the day, sent to everyone after the welcome (UTF-8 text, at most 4 KiB).",
    ),
]


def serve(
    host: HostOption = DEFAULT_HOST,
    port: PortOption = DEFAULT_PORT,
    max_rate: MaxRateOption = ServerConfig.max_rate,
    burst: BurstOption = ServerConfig.burst,
    max_line: MaxLineOption = "16K",  # type: ignore[assignment]  # parsed by the callback
    sendq: SendqOption = "1M",  # type: ignore[assignment]
    max_clients: MaxClientsOption = ServerConfig.max_clients,
    crowd: CrowdOption = ServerConfig.crowd,
    gather: GatherOption = ServerConfig.gather * 1000,
    max_per_ip: MaxPerIpOption = ServerConfig.max_per_ip,
    max_conn_rate: MaxConnRateOption = ServerConfig.conn_rate,
    log_level: LogLevelOption = "info",
    db: DbOption = None,
    history: HistoryOption = DEFAULT_HISTORY,
    retain_days: RetainDaysOption = None,
    retain_messages: RetainMessagesOption = None,
    auth: AuthOption = "open",
    password: ServerPasswordOption = None,
    tls_cert: TlsCertOption = None,
    tls_key: TlsKeyOption = None,
    motd: MotdOption = None,
    web_host: WebHostOption = None,
    web_port: WebPortOption = DEFAULT_WEB_PORT,
    no_web: NoWebOption = False,
    web_origin: WebOriginOption = None,
    no_metrics: NoMetricsOption = False,
    redis: RedisOption = None,
    node: NodeOption = None,
    irc_port: IrcPortOption = None,
    irc_tls_port: IrcTlsPortOption = None,
    irc_host: IrcHostOption = None,
    _help: HelpOption = False,
) -> None:
    """Run a chat server until Ctrl+C or SIGTERM."""
    tls, motd_text = checked_inputs(max_line, sendq, tls_cert, tls_key, irc_tls_port, motd)
    config = ServerConfig(
        max_line=max_line,
        sendq=sendq,
        max_rate=max_rate,
        burst=burst,
        max_clients=max_clients,
        crowd=crowd,
        gather=gather / 1000,
        history=history,
        max_per_ip=max_per_ip,
        conn_rate=max_conn_rate,
        auth=auth,
        password=password,
    )
    setup_logging(logging.getLevelName(log_level.upper()))
    db_path = db if db is not None else str(default_db_path())
    retention = Retention(days=retain_days, messages=retain_messages)
    server, store, accounts = open_chat_server(host, port, config, tls, db_path, retention)
    server.registry.motd = motd_text
    cluster = join_cluster(server, store, redis, node)
    url = None if no_web else open_web(server, store, web_host or host, web_port, web_origin, not no_metrics)
    irc = open_irc_ports(server, store, irc_host or host, irc_port, irc_tls_port)
    announce(server, config, store, accounts, db_path, tls_cert, url, irc)
    serve_until_signalled(server, store, cluster)


def checked_inputs(
    max_line: int, sendq: int, cert: str | None, key: str | None, irc_tls: int | None, motd: str | None
) -> tuple[ssl.SSLContext | None, str | None]:
    """Check the options before anything opens; return the TLS context and the motd's text."""
    check_pairs(max_line, sendq, cert, key, irc_tls)
    tls = server_tls(cert, key)
    return tls, None if motd is None else read_motd(motd)


def serve_until_signalled(server: ChatServer, store: SQLiteStore, cluster: ClusterNode | None) -> None:
    """Serve until SIGINT or SIGTERM, then leave the cluster (if any) and close the store."""
    try:
        run_until_signalled(server)
    finally:
        leave_cluster(cluster)
        store.close()


def check_pairs(
    max_line: int, sendq: int, tls_cert: str | None, tls_key: str | None, irc_tls_port: int | None = None
) -> None:
    """The checks that involve two options (usage errors, exit status 2)."""
    check_irc(irc_tls_port, tls_cert)
    if sendq < SERVER_LINE_FACTOR * max_line:
        # One frame can be that long; a smaller queue would cut off everyone who receives it.
        raise typer.BadParameter("must be at least 4 times --max-line", param_hint="--sendq")
    if (tls_cert is None) != (tls_key is None):
        raise typer.BadParameter("give both --tls-cert and --tls-key, or neither", param_hint="--tls-cert")


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


def announce(
    server: ChatServer,
    config: ServerConfig,
    store: SQLiteStore,
    accounts: Accounts,
    db_path: str,
    tls_cert: str | None,
    url: str | None,
    irc: list[str] | None = None,
) -> None:
    """The banner on stdout (scripts wait for it), then what the server runs with, in the log."""
    print(f"Server is running on {server.host}:{server.port}", flush=True)
    if url is not None:
        print(f"Web page: {url}", flush=True)
    for line in irc or ():
        print(line, flush=True)
    print("Waiting for connections...", flush=True)
    # Before the first accept (serve_forever), so thousands of clients find descriptors free.
    check_open_files(raise_open_files(), config.max_clients, web=url is not None)
    log.info("history: %s (next message id %d)", db_path, store.last_id() + 1)
    if tls_cert is not None:
        log.info("TLS 1.2+ with the certificate %s; plaintext clients are turned away", tls_cert)
    log.info(
        "logins: %s%s (%d registered names)",
        "accounts only" if config.auth == "required" else "open, registered names need their password",
        ", server password set" if config.password else "",
        len(accounts.all()),
    )


def run_until_signalled(server: ChatServer) -> None:
    """Serve in a thread; on SIGINT or SIGTERM send everyone the shutdown frame and return."""
    stop = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    # What was made to start the server lives as long as it: leave it out of the cyclic
    # collector's full passes, which otherwise walk those ~50,000 objects every few thousand
    # messages (docs/performance.md).  Only this process's own server does it, not the library.
    gc.collect()
    gc.freeze()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="accept")
    thread.daemon = True
    thread.start()
    while not stop.wait(0.5):
        pass
    log.info("stopping: telling %d connection(s)", len(server.connections()))
    server.stop()

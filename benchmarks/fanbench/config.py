"""Constants, configuration and the plan of which client plays which role."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

# -- constants ------------------------------------------------------------------------------------

HOST = "127.0.0.1"  # the generator never connects anywhere else
SERVERS = ("messenger", "naive", "ngircd")  # ngircd: the C IRC server (``make bench-deps``)
TRANSPORTS = ("tcp", "web")  # web: WebSocket on messenger's web port (benchmarks/wsclients.py)
NAIVE_SERVER = Path(__file__).resolve().parent.parent / "baselines" / "naive_server.py"
BANNER_PREFIX = "Server is running on "
WEB_BANNER_PREFIX = "Web page: "
IRC_BANNER_PREFIX = "IRC: "  # messenger's IRC port (``--transport irc``)

# Every message line a sender writes is "m <send_ns> <sender> <seq> <padding>\n"; the server
# relays it as "c<sender>: m ...", so this marker occurs exactly once per delivered message.
MARKER = b": m "
MARKER_CARRY = len(MARKER) - 1  # bytes kept between recv chunks so a split marker still counts
PADDING_BYTE = "x"

RECV_SIZE = 256 * 1024
SEND_BATCH = 64 * 1024  # a flat-out sender builds at most this much before handing it to send()
STALLED_RCVBUF = 4096  # receive buffer of a stalled reader: small, so the server's side fills up
LOGIN_BUFFER_LIMIT = 4 * 1024 * 1024  # bytes a client may receive before its own join line

# ngircd listens with a small backlog: a thousand simultaneous connects overflow it and wait out
# TCP's SYN retries (1, 3, 7, 15 s...), so each worker keeps at most this many IRC connects
# unanswered at a time (connected clients may wait for their JOIN meanwhile: ngircd holds each
# new client's commands for about a second).
IRC_CONNECTING = 4
SELECT_INTERVAL = 0.01  # longest a worker sleeps in select(), seconds
CONTROL_INTERVAL = 0.05  # how often workers publish counters and look at the control events
PROGRESS_INTERVAL = 0.1  # how often the main process refreshes the progress bar
BANNER_TIMEOUT = 20.0  # for the server to print its port
STOP_TIMEOUT = 10.0  # for the server to exit after SIGTERM before it is killed
WORKER_SLACK = 10.0  # extra time a worker allows itself past the phase deadline
DRAIN_TIMEOUT = 2.0  # reading a stalled reader's backlog to see whether the server cut it off
SERVER_LOG_KEEP = 10  # server stderr lines kept in the report
REPORT_WIDTH = 110  # columns of the report when it does not go to a terminal

NS = 1_000_000_000
MIB = 1024 * 1024

# Slots of the shared counter array, one group per worker.
# SETTLED counts clients that have everything they are owed or were disconnected.
LOGGED_IN, FAILED, DELIVERED, ECHOES, DISCONNECTED, SETTLED = range(6)
COUNTER_SLOTS = 6

RECEIVER, PROBE, SENDER = "receiver", "probe", "sender"


# -- configuration --------------------------------------------------------------------------------


class Setup(NamedTuple):
    """One kind of run: the server, how clients connect, how many cluster nodes (None: not a
    cluster setup; 0: one server without Redis), each sender's rate (0: flat out)."""

    kind: str
    transport: str
    nodes: int | None = None
    rate: float = 0.0


@dataclass(frozen=True)
class Config:
    """Everything one benchmark invocation was asked to do."""

    servers: tuple[str, ...]
    clients: int
    senders: int
    messages: int
    size: int
    rate: float
    stalled: int
    workers: int
    probes: int
    timeout: float
    repeat: int
    idle: bool
    sendq: str | None
    db: str = "file"
    pin: bool = False  # server on CPU 0, generator on CPU 1 (``--pin``)
    bans: int = 0  # bans in the database before messenger starts (``--bans``)
    ignores: int = 0  # receivers that ignore someone (``--ignores``)
    transports: tuple[str, ...] = ("tcp",)  # ``--transport``: how the clients connect
    # ``--nodes``: messenger as K nodes joined through a redis-server (0: one server, no Redis);
    # empty: messenger as one server only.
    nodes: tuple[int, ...] = ()
    # ``--rate`` with several values: each setup runs at each of them (``rate`` is the run's own).
    rates: tuple[float, ...] = ()

    @property
    def setups(self) -> list[Setup]:
        """Every run of one repetition: servers × transports × nodes × rates.  Only messenger has
        a web port and nodes, and ngircd's clients speak IRC (transport "irc") where the others'
        use text mode."""
        setups = []
        for kind in self.servers:
            for transport in self.transports:
                if kind == "messenger" or transport == "tcp" or (kind, transport) == ("ngircd", "irc"):
                    for nodes in self.nodes if kind == "messenger" and self.nodes else (None,):
                        for rate in self.rates or (self.rate,):
                            setups.append(Setup(kind, "irc" if kind == "ngircd" else transport, nodes, rate))
        return setups

    def label(self, setup: Setup) -> str:
        """The name of a setup in the report: the server's (plus " web" or " irc"), "K nodes"
        for a cluster, and its rate when the invocation has several."""
        kind, transport, nodes, rate = setup
        name = f"{kind} {transport}" if kind == "messenger" and transport in ("web", "irc") else kind
        if nodes is not None:
            base = "1 server" if nodes == 0 else f"{nodes} node{'s' if nodes > 1 else ''}"
            name = name.replace("messenger", base)
        if len(self.rates) > 1:
            name += f" {rate:g}/s" if rate else " flat out"
        return name

    @property
    def expected_deliveries(self) -> int:
        """Each message reaches every connected reader except its sender (stalled ones excluded)."""
        return self.senders * self.messages * (self.clients - 1)

    @property
    def expected_echoes(self) -> int:
        return self.senders * self.messages


@dataclass(frozen=True)
class ClientSpec:
    """One generator client: its index (name ``c<index>``), its role, and for a sender its rank
    among the senders (which staggers the rate-limited schedules)."""

    index: int
    role: str
    rank: int = 0
    ignores: bool = False  # logs in with an ignore in place (``--ignores``)

    @property
    def name(self) -> bytes:
        return f"c{self.index}".encode()


def plan_clients(config: Config) -> list[list[ClientSpec]]:
    """Assign roles and workers.  Worker w gets a contiguous block of indices; senders and probes
    are spaced evenly over all indices, so they land on every worker and at every position in
    the server's join order."""
    n = config.clients
    senders = [i * n // config.senders for i in range(config.senders)]
    others = sorted(set(range(n)) - set(senders))
    probe_count = 0 if config.idle else min(config.probes, len(others))
    probes = {others[(2 * j + 1) * len(others) // (2 * probe_count)] for j in range(probe_count)}
    rank = {index: r for r, index in enumerate(senders)}
    plan: list[list[ClientSpec]] = [[] for _ in range(config.workers)]
    for index in range(n):
        if index in rank:
            spec = ClientSpec(index, SENDER, rank[index])
        else:
            spec = ClientSpec(index, PROBE if index in probes else RECEIVER)
        if index < config.ignores and index not in rank:
            spec = dataclasses.replace(spec, ignores=True)
        plan[index * config.workers // n].append(spec)
    return plan

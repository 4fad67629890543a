"""Fan-out benchmark: N text-mode clients in one chat, S of them send M messages each.

    python benchmarks/fanout.py --clients 500 --senders 10 --messages 200 --size 64 --server both

The generator starts the server under test as a subprocess (``messenger serve`` or the naive
baseline in ``benchmarks/baselines/``), spreads the clients over worker processes that drive
non-blocking sockets with ``selectors``, logs every client in, releases all senders at once and
counts every message line that arrives.  A "delivery" is one message arriving at one client other
than its sender.  See benchmarks/README.md for what each reported figure means.

Run phases, per server and per repetition:

1. start the server, read its port from the banner;
2. login: every worker connects its clients and waits for each one's own join line;
3. stalled readers (``--stalled``) log in from the main process and never read again;
4. messages: senders send, everybody counts, until every expected delivery arrived or the
   time-out passed (``--idle`` stops after login instead);
5. collect the workers' reports, read the server's CPU and memory, stop the server.

The generator connects only to 127.0.0.1, and every loop in it has a deadline.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import errno
import json
import math
import multiprocessing as mp
import os
import queue
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from wsclients import WEB_MARKER, FrameReader, LoginRefused, WebLogin, json_frame

# -- constants ------------------------------------------------------------------------------------

HOST = "127.0.0.1"  # the generator never connects anywhere else
SERVERS = ("messenger", "naive")
TRANSPORTS = ("tcp", "web")  # web: WebSocket on messenger's web port (benchmarks/wsclients.py)
NAIVE_SERVER = Path(__file__).resolve().parent / "baselines" / "naive_server.py"
BANNER_PREFIX = "Server is running on "
WEB_BANNER_PREFIX = "Web page: "

# Every message line a sender writes is "m <send_ns> <sender> <seq> <padding>\n"; the server
# relays it as "c<sender>: m ...", so this marker occurs exactly once per delivered message.
MARKER = b": m "
MARKER_CARRY = len(MARKER) - 1  # bytes kept between recv chunks so a split marker still counts
PADDING_BYTE = "x"

RECV_SIZE = 256 * 1024
SEND_BATCH = 64 * 1024  # a flat-out sender builds at most this much before handing it to send()
STALLED_RCVBUF = 4096  # receive buffer of a stalled reader: small, so the server's side fills up
LOGIN_BUFFER_LIMIT = 4 * 1024 * 1024  # bytes a client may receive before its own join line

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

    @property
    def setups(self) -> list[tuple[str, str]]:
        """(server, transport) of every run of one repetition; only messenger has a web port."""
        return [(k, t) for k in self.servers for t in self.transports if k == "messenger" or t == "tcp"]

    @property
    def expected_deliveries(self) -> int:
        """Each message reaches every connected reader except its sender (stalled ones excluded)."""
        return 0 if self.idle else self.senders * self.messages * (self.clients - 1)

    @property
    def expected_echoes(self) -> int:
        return 0 if self.idle else self.senders * self.messages


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
    senders = [] if config.idle else [i * n // config.senders for i in range(config.senders)]
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


# -- the generator's clients (run inside worker processes) ----------------------------------------


class LoginFailed(Exception):
    """A client could not log in (refused, closed, or the server sent an error)."""


class Client:
    """One non-blocking connection: connects, logs in, then counts message lines.

    This base class only counts occurrences of MARKER in the byte stream (cheap, so the generator
    is not the bottleneck); Parser subclasses look at every line.
    """

    marker = MARKER

    def __init__(self, spec: ClientSpec, port: int, owed: int) -> None:
        self.spec = spec
        self.port = port
        self.owed = owed  # deliveries this client should receive
        self.sock: socket.socket | None = None
        self.logged_in = False
        self.delivered = 0
        self._tail = b""
        self._login_buffer = bytearray()
        self._join_line = b"\n" + spec.name + b" has joined the chat!\n"

    # login

    def start_connect(self) -> socket.socket:
        """Begin a non-blocking connect to the server; the socket becomes writable when done."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        err = sock.connect_ex((HOST, self.port))
        if err not in (0, errno.EINPROGRESS):
            raise LoginFailed(f"connect: {os.strerror(err)}")
        return sock

    def finish_connect(self) -> None:
        """The connect completed: check it worked and send the name line."""
        assert self.sock is not None
        err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            raise LoginFailed(f"connect: {os.strerror(err)}")
        # A few bytes into an empty send buffer.  An ignore names someone never online: the
        # cost measured is that of ignores being in place, on every message's path.
        ignore = b"/ignore ghost" + self.spec.name + b"\n" if self.spec.ignores else b""
        self.sock.sendall(self.spec.name + b"\n" + ignore)

    def read_login(self) -> bool:
        """Read while waiting for our own join line; True once it has arrived."""
        assert self.sock is not None
        data = self.sock.recv(RECV_SIZE)
        if not data:
            raise LoginFailed("closed by the server before the join line")
        start = max(0, len(self._login_buffer) - len(self._join_line))
        self._login_buffer += data
        found = (b"\n" + self._login_buffer).find(self._join_line, start)
        if found < 0:
            if b"\nerror:" in b"\n" + self._login_buffer:
                line = bytes(self._login_buffer).split(b"error:", 1)[1].split(b"\n", 1)[0]
                raise LoginFailed("server said: error:" + line.decode("utf-8", "replace"))
            if len(self._login_buffer) > LOGIN_BUFFER_LIMIT:
                raise LoginFailed("no join line")
            return False
        rest = bytes(self._login_buffer[found + len(self._join_line) - 1 :])
        self._login_buffer = bytearray()
        self.logged_in = True
        self.feed(rest, time.monotonic_ns())
        return True

    # messages

    def receive(self) -> int:
        """Read what is available; return how many deliveries it contained."""
        assert self.sock is not None
        data = self.sock.recv(RECV_SIZE)
        if not data:
            raise ConnectionResetError("closed by the server")
        return self.feed(data, 0)

    def feed(self, data: bytes, now_ns: int) -> int:
        """Count the markers in ``data``, including one split across the previous chunk."""
        marker, carry = self.marker, len(self.marker) - 1
        found = data.count(marker) + (self._tail + data[:carry]).count(marker)
        self._tail = data[-carry:] if len(data) >= carry else (self._tail + data)[-carry:]
        self.delivered += found
        return found

    @property
    def complete(self) -> bool:
        """Whether everything owed to this client has arrived."""
        return self.delivered >= self.owed

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()


class Parser(Client):
    """A client that parses every message line: for senders (to tell their own echoes apart) and
    probes (to record latency).  Both check that each sender's messages arrive in order."""

    def __init__(self, spec: ClientSpec, port: int, owed: int) -> None:
        super().__init__(spec, port, owed)
        self.record_latency = spec.role == PROBE
        self.latencies: list[int] = []
        self.echoes = 0
        self.order_errors = 0
        self._last_seq: dict[int, int] = {}
        self._partial = b""

    def receive(self) -> int:
        assert self.sock is not None
        data = self.sock.recv(RECV_SIZE)
        if not data:
            raise ConnectionResetError("closed by the server")
        return self.feed(data, time.monotonic_ns())

    def records(self, data: bytes) -> list[bytes]:
        """The complete lines in ``data``; the unfinished one is kept for the next chunk."""
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        return lines

    def feed(self, data: bytes, now_ns: int) -> int:
        """Parse the complete records (lines, or frames) in ``data``."""
        delivered = 0
        marker = self.marker
        for line in self.records(data):
            at = line.find(marker)
            if at < 0:
                continue
            send_ns, sender, seq = (int(part) for part in line[at + len(marker) :].split(b" ", 3)[:3])
            if self._last_seq.get(sender, -1) + 1 != seq:
                self.order_errors += 1
            self._last_seq[sender] = seq
            if sender == self.spec.index:
                self.echoes += 1
                continue
            delivered += 1
            if self.record_latency:
                self.latencies.append(now_ns - send_ns)
        self.delivered += delivered
        return delivered


class Sender(Parser):
    """A parser that also sends ``messages`` lines: flat out, or ``rate`` a second on a fixed
    schedule; the senders' schedules are staggered evenly over one interval."""

    def __init__(self, spec: ClientSpec, port: int, config: Config) -> None:
        super().__init__(spec, port, (config.senders - 1) * config.messages)
        self.total = config.messages
        self.size = config.size
        self.interval_ns = int(NS / config.rate) if config.rate > 0 else 0
        self.offset_ns = self.interval_ns * spec.rank // config.senders
        self.sent = 0
        self.first_send_ns = 0
        self.next_due_ns = 0
        self.watched = selectors.EVENT_READ  # the events the selector currently watches
        self._out = bytearray()

    @property
    def complete(self) -> bool:
        return self.delivered >= self.owed and self.echoes >= self.total

    @property
    def wanted(self) -> int:
        """The events to watch: writability only while there is something to write."""
        writing = bool(self._out) or (self.interval_ns == 0 and self.sent < self.total)
        return selectors.EVENT_READ | (selectors.EVENT_WRITE if writing else 0)

    def start(self, now_ns: int) -> None:
        self.next_due_ns = now_ns + self.offset_ns

    def next_wakeup_ns(self) -> int | None:
        """When this sender next has a message due (rate mode only)."""
        if self.interval_ns == 0 or self.sent >= self.total:
            return None
        return self.next_due_ns

    def message(self, now_ns: int) -> bytes:
        head = f"m {now_ns} {self.spec.index} {self.sent} "
        return (head + PADDING_BYTE * max(0, self.size - len(head) - 1) + "\n").encode()

    def produce(self, now_ns: int) -> None:
        """Queue the messages that are due: at a fixed rate, or (flat out) a batch whenever the
        previous one has been handed to the kernel."""
        if self.interval_ns:
            while self.sent < self.total and self.next_due_ns <= now_ns:
                self._queue(now_ns)
                self.next_due_ns += self.interval_ns
        elif not self._out:
            while self.sent < self.total and len(self._out) < SEND_BATCH:
                self._queue(now_ns)

    def _queue(self, now_ns: int) -> None:
        self._out += self.message(now_ns)
        self.sent += 1
        if not self.first_send_ns:
            self.first_send_ns = now_ns

    def flush(self) -> None:
        """Hand as much queued output to the kernel as it takes."""
        assert self.sock is not None
        if self._out:
            with contextlib.suppress(BlockingIOError):
                del self._out[: self.sock.send(self._out)]


class WebTransport(Client):
    """A client on the web port: the WebSocket upgrade and a hello frame to log in
    (wsclients.WebLogin), the web marker to count, frames instead of lines to parse."""

    marker = WEB_MARKER
    _login: WebLogin
    _frames: FrameReader | None = None

    def finish_connect(self) -> None:
        assert self.sock is not None
        err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            raise LoginFailed(f"connect: {os.strerror(err)}")
        then = (json_frame({"type": "command", "text": f"/ignore ghostc{self.spec.index}"}),)
        self._login = WebLogin(HOST, self.port, self.spec.name, then if self.spec.ignores else ())
        self.sock.sendall(self._login.request)

    def read_login(self) -> bool:
        assert self.sock is not None
        data = self.sock.recv(RECV_SIZE)
        if not data:
            raise LoginFailed("closed by the server before the joined frame")
        try:
            to_send, rest = self._login.feed(data)
        except LoginRefused as exc:
            raise LoginFailed(str(exc)) from exc
        if to_send:
            self.sock.sendall(to_send)  # the hello: a few bytes into an empty send buffer
        if rest is None:
            return False
        self.logged_in = True
        self.feed(rest, time.monotonic_ns())
        return True

    def records(self, data: bytes) -> list[bytes]:
        """The payloads of the frames completed by ``data`` (for the parsers)."""
        if self._frames is None:
            self._frames = FrameReader()
        try:
            return self._frames.feed(data)
        except LoginRefused as exc:
            raise ConnectionResetError(str(exc)) from exc


class WebClient(WebTransport, Client):
    """A counting receiver on the web port."""


class WebParser(WebTransport, Parser):
    """A probe on the web port."""


class WebSender(WebTransport, Sender):
    """A sender on the web port: each message line, without its newline, as a ``say`` frame."""

    def message(self, now_ns: int) -> bytes:
        line = super().message(now_ns)
        return json_frame({"type": "say", "text": line[:-1].decode()})


def make_client(spec: ClientSpec, port: int, config: Config, transport: str = "tcp") -> Client:
    """The right Client class for the spec's role and the transport."""
    web = transport == "web"
    if spec.role == SENDER:
        return (WebSender if web else Sender)(spec, port, config)
    owed = config.expected_echoes  # every other client receives all S × M messages
    if spec.role == PROBE:
        return (WebParser if web else Parser)(spec, port, owed)
    return (WebClient if web else Client)(spec, port, owed)


# -- worker process -------------------------------------------------------------------------------


@dataclass
class Controls:
    """The multiprocessing events the main process uses to move the workers through the phases:
    start logging in, start sending, stop counting, close everything."""

    login: Any
    send: Any
    stop: Any
    exit: Any


@dataclass
class LoginReport:
    """What a worker tells the main process after the login phase."""

    worker: int
    logged_in: int
    failed: int
    done_ns: int
    errors: list[str]


@dataclass
class MessageReport:
    """What a worker tells the main process after the message phase (times in monotonic ns)."""

    worker: int
    delivered: int
    echoes: int
    complete: int
    disconnected: int
    order_errors: int
    first_send_ns: int
    last_delivery_ns: int
    latencies: list[int]
    latency_missing: int
    cpu_s: float
    elapsed_s: float
    errors: list[str]


class Worker:
    """Drives a block of clients in one thread with a selector (epoll on Linux)."""

    def __init__(
        self,
        worker_id: int,
        specs: Sequence[ClientSpec],
        port: int,
        config: Config,
        counters: Any,
        transport: str = "tcp",
    ) -> None:
        self.id = worker_id
        self.config = config
        self.counters = counters
        self.clients = [make_client(spec, port, config, transport) for spec in specs]
        self.senders = [c for c in self.clients if isinstance(c, Sender)]
        self.selector = selectors.DefaultSelector()
        self.active: set[Client] = set()
        self.errors: list[str] = []
        self.delivered = 0
        self.disconnected = 0
        self.last_delivery_ns = 0
        self.sending = False

    def publish(self, slot: int, value: int) -> None:
        self.counters[self.id * COUNTER_SLOTS + slot] = value

    def drop(self, client: Client, reason: str) -> None:
        """Forget a client whose connection failed or ended."""
        if client in self.active:
            self.active.discard(client)
            self.selector.unregister(client.sock)
        client.close()
        if len(self.errors) < SERVER_LOG_KEEP:
            self.errors.append(f"{client.spec.name.decode()}: {reason}")

    # phase 2: login

    def log_in(self, deadline: float) -> LoginReport:
        """Connect every client at once and wait for each one's own join line."""
        failed = 0
        for client in self.clients:
            try:
                self.selector.register(client.start_connect(), selectors.EVENT_WRITE, client)
                self.active.add(client)
            except (LoginFailed, OSError) as exc:
                failed += 1
                self.drop(client, str(exc))
        logged_in, done_ns = 0, 0
        next_publish = 0.0
        while logged_in + failed < len(self.clients) and time.monotonic() < deadline:
            for key, mask in self.selector.select(SELECT_INTERVAL):
                client = key.data
                try:
                    if mask & selectors.EVENT_WRITE:
                        client.finish_connect()
                        self.selector.modify(key.fileobj, selectors.EVENT_READ, client)
                    elif not client.logged_in:
                        if client.read_login():
                            logged_in += 1
                            done_ns = time.monotonic_ns()
                    else:
                        client.receive()
                except (LoginFailed, OSError) as exc:
                    if client.logged_in:
                        logged_in -= 1  # lost again before everyone was in: it counts as failed
                    failed += 1
                    self.drop(client, f"login: {exc}")
            if time.monotonic() >= next_publish:
                self.publish(LOGGED_IN, logged_in)
                self.publish(FAILED, failed)
                next_publish = time.monotonic() + CONTROL_INTERVAL
        failed = len(self.clients) - logged_in  # those still waiting at the deadline failed too
        self.publish(LOGGED_IN, logged_in)
        self.publish(FAILED, failed)
        return LoginReport(self.id, logged_in, failed, done_ns, self.errors[:])

    # between phases, and phase 4: messages

    def serve(self, until: Sequence[Any], deadline: float) -> None:
        """Keep reading (and, once started, sending) until one of the events ``until`` is set."""
        next_control = 0.0
        while True:
            now = time.monotonic()
            if now >= next_control:
                self.publish(DELIVERED, self.delivered)
                self.publish(ECHOES, sum(s.echoes for s in self.senders))
                self.publish(DISCONNECTED, self.disconnected)
                self.publish(SETTLED, self.settled())
                if now >= deadline or any(event.is_set() for event in until):
                    return
                next_control = now + CONTROL_INTERVAL
            self.poll(self.select_timeout())

    def settled(self) -> int:
        """Clients that received everything they are owed, or that were disconnected."""
        return sum(1 for c in self.clients if c not in self.active or c.complete)

    def select_timeout(self) -> float:
        """Sleep no longer than the next due message of a rate-limited sender."""
        wakeups = [w for s in self.senders if s in self.active and (w := s.next_wakeup_ns()) is not None]
        if not self.sending or not wakeups:
            return SELECT_INTERVAL
        return min(SELECT_INTERVAL, max(0.0, (min(wakeups) - time.monotonic_ns()) / NS))

    def poll(self, timeout: float) -> None:
        """One round: read what arrived, write what is due."""
        for key, mask in self.selector.select(timeout):
            client = key.data
            try:
                if mask & selectors.EVENT_READ:
                    found = client.receive()
                    if found:
                        self.delivered += found
                        self.last_delivery_ns = time.monotonic_ns()
                if mask & selectors.EVENT_WRITE:
                    client.flush()
            except OSError as exc:
                self.disconnected += 1
                self.drop(client, f"disconnected: {exc}")
        if self.sending:
            self.pump_senders()

    def pump_senders(self) -> None:
        """Queue what each sender has due, write it, and watch for writability only if needed."""
        now_ns = time.monotonic_ns()
        for sender in self.senders:
            if sender not in self.active:
                continue
            try:
                sender.produce(now_ns)
                sender.flush()
            except OSError as exc:
                self.disconnected += 1
                self.drop(sender, f"disconnected: {exc}")
                continue
            if sender.wanted != sender.watched:
                sender.watched = sender.wanted
                self.selector.modify(sender.sock, sender.watched, sender)

    def send_messages(self, stop: Any, deadline: float) -> MessageReport:
        """Release the senders and count deliveries until told to stop."""
        cpu_start = time.process_time()
        now_ns = time.monotonic_ns()
        for sender in self.senders:
            sender.start(now_ns)
        self.sending = True
        self.serve([stop], deadline)
        self.sending = False
        cpu_s = time.process_time() - cpu_start
        elapsed_s = (time.monotonic_ns() - now_ns) / NS
        parsers = [c for c in self.clients if isinstance(c, Parser)]
        return MessageReport(
            worker=self.id,
            delivered=self.delivered,
            echoes=sum(s.echoes for s in self.senders),
            complete=sum(1 for c in self.clients if c.complete),
            disconnected=self.disconnected,
            order_errors=sum(p.order_errors for p in parsers),
            first_send_ns=min((s.first_send_ns for s in self.senders if s.first_send_ns), default=0),
            last_delivery_ns=self.last_delivery_ns,
            latencies=[lat for p in parsers for lat in p.latencies],
            latency_missing=sum(max(0, p.owed - p.delivered) for p in parsers if p.record_latency),
            cpu_s=cpu_s,
            elapsed_s=elapsed_s,
            errors=self.errors[:],
        )

    def close(self) -> None:
        for client in self.clients:
            client.close()
        self.selector.close()


def worker_main(
    worker_id: int,
    specs: list[ClientSpec],
    port: int,
    config: Config,
    counters: Any,
    controls: Controls,
    reports: Any,
    deadline: float,
    transport: str = "tcp",
) -> None:
    """Entry point of a worker process: login, wait, messages, wait, close; each step reported
    on ``reports`` and each wait bounded by ``deadline``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process handles Ctrl+C
    worker = Worker(worker_id, specs, port, config, counters, transport)
    try:
        reports.put(("started", worker_id))  # login time must not include process start-up
        controls.login.wait(max(0.0, deadline - time.monotonic()))
        # The login phase ends when the main process stops waiting for it (Runner._drive), so
        # clients that never log in are reported as such rather than as a silent worker.
        reports.put(("login", worker.log_in(deadline - config.timeout - WORKER_SLACK)))
        worker.serve([controls.send, controls.exit], deadline)
        if controls.send.is_set() and not config.idle:
            reports.put(("messages", worker.send_messages(controls.stop, deadline)))
        worker.serve([controls.exit], deadline)  # keep reading so the server is never blocked by us
    finally:
        worker.close()


# -- the server under test ------------------------------------------------------------------------


@dataclass
class ProcStats:
    """What /proc says about a process."""

    cpu_s: float = 0.0
    rss_bytes: int = 0
    peak_rss_bytes: int = 0
    threads: int = 0


def read_proc(pid: int) -> ProcStats:
    """CPU seconds (user + system) from /proc/PID/stat, memory and threads from /proc/PID/status;
    zeros once the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return ProcStats()
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
    values = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)

    def kib(key: str) -> int:
        return int(values.get(key, "0 kB").split()[0]) * 1024

    return ProcStats(
        cpu_s=ticks / os.sysconf("SC_CLK_TCK"),
        rss_bytes=kib("VmRSS"),
        peak_rss_bytes=kib("VmHWM"),
        threads=int(values.get("Threads", "0")),
    )


# With --pin the server runs on one core and the generator on the other, so neither steals the
# other's CPU time and the server's CPU seconds measure the server alone.
SERVER_CPU = 0
GENERATOR_CPU = 1


def pin_to(cpu: int) -> Callable[[], None]:
    """A preexec_fn (or a call) that binds the calling process to ``cpu``."""
    return lambda: os.sched_setaffinity(0, {cpu})


class ServerProcess:
    """The server under test, run as a subprocess with its output going to files.

    It runs in ``workdir``: ``python -m`` puts the current directory first on ``sys.path``, so
    running it from a checkout would import that checkout's ``messenger`` whatever PYTHONPATH
    says.  ``source`` names the code that was actually run.
    """

    def __init__(self, kind: str, config: Config, workdir: Path, transport: str = "tcp") -> None:
        self.kind = kind
        self.label = label(kind, transport)
        self.wants_web = transport == "web"
        self.web_port = 0  # messenger's web port, when it has one (``Web page:`` in the banner)
        self.stdout_path = workdir / f"{kind}.out"
        self.stderr_path = workdir / f"{kind}.err"
        self.source = server_source(kind, workdir)
        if kind == "messenger" and config.bans:
            seed_bans(workdir / "history.db", config.bans)
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                server_command(kind, config, transport),
                cwd=workdir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                preexec_fn=pin_to(SERVER_CPU) if config.pin else None,
            )
        self.port = self._wait_for_banner()

    def _wait_for_banner(self) -> int:
        """Poll the server's stdout for the banner and return the port in it (and note the web
        port, printed on the line after it when the web is on)."""
        deadline = time.monotonic() + BANNER_TIMEOUT
        while time.monotonic() < deadline:
            port = 0
            for line in self.stdout_path.read_text(errors="replace").split("\n")[:-1]:  # whole lines
                if line.startswith(BANNER_PREFIX) and ":" in line:
                    port = int(line.rsplit(":", 1)[1])
                elif line.startswith(WEB_BANNER_PREFIX):  # Web page: http://127.0.0.1:PORT/
                    self.web_port = int(line.rstrip("/").rsplit(":", 1)[1])
            if port and (self.web_port or not self.wants_web):
                return port
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"{self.kind} server did not start: {self.log_lines()[-3:]}")

    def stats(self) -> ProcStats:
        return read_proc(self.process.pid)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> int:
        """SIGTERM, then SIGKILL if it is still running after STOP_TIMEOUT; return its exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT)
        return self.process.returncode

    def log_lines(self) -> list[str]:
        """What the server wrote to stderr (warnings, errors, tracebacks)."""
        return self.stderr_path.read_text(errors="replace").splitlines()


def server_source(kind: str, workdir: Path) -> str:
    """Where the server's code comes from: the naive script, or the directory of the ``messenger``
    package that ``python -m messenger`` imports when run in ``workdir``."""
    if kind == "naive":
        return str(NAIVE_SERVER)
    probe = "import os, messenger; print(os.path.dirname(messenger.__file__), messenger.__version__)"
    found = subprocess.run(
        [sys.executable, "-c", probe], cwd=workdir, capture_output=True, text=True, timeout=BANNER_TIMEOUT
    )
    return found.stdout.strip() or f"unknown ({found.stderr.strip()[-200:]})"


def seed_bans(path: Path, count: int) -> None:
    """``count`` bans in messenger's database at ``path``, half names and half addresses (none
    of them a client of the run), written by a subprocess of the messenger under test."""
    script = (
        "import sys; from messenger.core.moderation import Moderation; "
        "from messenger.core.bans import parse_target; m = Moderation(sys.argv[1])\n"
        "for i in range(int(sys.argv[2])):\n"
        "    address = f'10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}'\n"
        "    m.bans.ban(parse_target(f'banned{i}' if i % 2 else address), 'bench')\n"
        "m.close()"
    )
    subprocess.run(
        [sys.executable, "-c", script, str(path), str(count)], check=True, cwd=path.parent, timeout=120
    )


def label(kind: str, transport: str) -> str:
    """The name of a (server, transport) setup in the report: the server's, plus " web"."""
    return kind if transport == "tcp" else f"{kind} web"


def server_command(kind: str, config: Config, transport: str = "tcp") -> list[str]:
    """The command line that starts a server of ``kind`` (with its web port, on any free port,
    only when the clients use it)."""
    if kind == "naive":
        return [sys.executable, str(NAIVE_SERVER), "--port", "0"]
    command = [sys.executable, "-m", "messenger", "serve", "--port", "0", "--max-rate", "0"]
    command += ["--max-clients", str(config.clients + config.stalled + 10), "--log-level", "warning"]
    command += ["--max-per-ip", "0", "--max-conn-rate", "0"]  # every client comes from 127.0.0.1
    command += ["--web-port", "0"] if transport == "web" else ["--no-web"]
    if config.sendq:
        command += ["--sendq", config.sendq]
    # "file": a new history database in the run's temporary directory (the cwd), never the
    # user's own; ":memory:" measures the server without disk writes.
    command += ["--db", "history.db" if config.db == "file" else config.db]
    return command


# -- one run --------------------------------------------------------------------------------------


@dataclass
class RunResult:
    """The figures of one run against one server (see benchmarks/README.md)."""

    server: str
    transport: str
    clients: int
    senders: int
    messages: int
    size: int
    rate: float
    stalled: int
    idle: bool
    error: str | None = None
    server_source: str = ""
    login_s: float = 0.0
    login_failed: int = 0
    expected: int = 0
    deliveries: int = 0
    lost: int = 0
    expected_echoes: int = 0
    echoes: int = 0
    complete_clients: int = 0
    disconnected: int = 0
    order_errors: int = 0
    window_s: float = 0.0
    deliveries_per_s: float = 0.0
    # None: that percentile falls among the probes' messages that never arrived.
    latency_p50_ms: float | None = 0.0
    latency_p99_ms: float | None = 0.0
    latency_max_ms: float | None = 0.0
    latency_samples: int = 0
    latency_missing: int = 0
    stalled_cut_off: int = 0
    server_cpu_login_s: float = 0.0
    server_cpu_s: float = 0.0
    server_cpu_per_million_s: float = 0.0  # server CPU seconds per million deliveries
    server_rss_start_mb: float = 0.0
    server_rss_idle_mb: float = 0.0
    server_rss_per_conn_kb: float = 0.0
    server_rss_end_mb: float = 0.0
    server_rss_peak_mb: float = 0.0
    server_threads: int = 0
    generator_cpu_s: float = 0.0
    generator_busy_pct: float = 0.0
    server_exit: int | None = None
    server_log_lines: int = 0
    server_log: list[str] = field(default_factory=list)
    client_errors: list[str] = field(default_factory=list)


class WorkerPool:
    """The worker processes of one run and the shared state used to steer and watch them."""

    def __init__(self, config: Config, port: int, deadline: float, transport: str = "tcp") -> None:
        context = mp.get_context("spawn")
        self.config = config
        self.counters: Any = context.Array("q", config.workers * COUNTER_SLOTS, lock=False)
        self.controls = Controls(*(context.Event() for _ in range(4)))
        self.reports: Any = context.Queue()
        shared = (self.counters, self.controls, self.reports, deadline, transport)
        self.processes = [
            context.Process(
                target=worker_main,
                args=(w, specs, port, config, *shared),
                name=f"fanout-worker-{w}",
                daemon=True,
            )
            for w, specs in enumerate(plan_clients(config))
        ]
        for process in self.processes:
            process.start()

    def total(self, slot: int) -> int:
        return sum(self.counters[w * COUNTER_SLOTS + slot] for w in range(self.config.workers))

    def collect(self, kind: str, deadline: float, tick: Callable[[], None]) -> list[Any]:
        """One report of ``kind`` from every worker; calls ``tick`` while waiting."""
        found: list[Any] = []
        while len(found) < len(self.processes):
            if time.monotonic() >= deadline:
                raise TimeoutError(f"workers sent {len(found)} of {len(self.processes)} {kind} reports")
            tick()
            try:
                report_kind, report = self.reports.get(timeout=PROGRESS_INTERVAL)
            except queue.Empty:
                if not all(p.is_alive() for p in self.processes):
                    raise RuntimeError("a worker process died") from None
                continue
            if report_kind == kind:
                found.append(report)
        return found

    def close(self) -> None:
        """Let the workers close their sockets and exit; terminate any that do not."""
        self.controls.exit.set()
        for process in self.processes:
            process.join(STOP_TIMEOUT)
            if process.is_alive():
                process.terminate()
                process.join(STOP_TIMEOUT)


def connect_stalled(port: int, count: int, deadline: float) -> list[socket.socket]:
    """Log in ``count`` clients with a small receive buffer that read up to their own join line
    and never again."""
    stalled = []
    for k in range(count):
        name = f"s{k}".encode()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, STALLED_RCVBUF)
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        sock.connect((HOST, port))
        sock.sendall(name + b"\n")
        received = b"\n"
        join_line = b"\n" + name + b" has joined the chat!\n"
        while join_line not in received:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"stalled reader {name.decode()} did not log in")
            chunk = sock.recv(RECV_SIZE)
            if not chunk:
                raise ConnectionError(f"stalled reader {name.decode()} was refused")
            received += chunk
        stalled.append(sock)
    return stalled


def drain_stalled(stalled: Sequence[socket.socket]) -> int:
    """Read what the stalled readers have pending; return how many the server has closed."""
    closed = 0
    deadline = time.monotonic() + DRAIN_TIMEOUT
    for sock in stalled:
        try:
            while (left := deadline - time.monotonic()) > 0:
                sock.settimeout(left)
                if not sock.recv(RECV_SIZE):
                    closed += 1
                    break
        except TimeoutError:
            pass
        except OSError:
            closed += 1
        sock.close()
    return closed


def percentile_ms(sorted_ns: Sequence[int], fraction: float, missing: int = 0) -> float | None:
    """Nearest-rank percentile in milliseconds of an ascending list of nanoseconds, with
    ``missing`` more values that never came (infinitely late): None when the percentile is one
    of those, 0 when there is nothing at all."""
    count = len(sorted_ns) + missing
    if not count:
        return 0.0
    rank = max(1, math.ceil(fraction * count))
    return sorted_ns[rank - 1] / 1e6 if rank <= len(sorted_ns) else None


class Runner:
    """Runs the benchmark against one server once, with a progress display."""

    def __init__(self, config: Config, progress: Progress) -> None:
        self.config = config
        self.progress = progress

    def run(self, kind: str, transport: str = "tcp") -> RunResult:
        config = self.config
        result = RunResult(
            server=kind,
            transport=transport,
            clients=config.clients,
            senders=0 if config.idle else config.senders,
            messages=0 if config.idle else config.messages,
            size=config.size,
            rate=config.rate,
            stalled=config.stalled,
            idle=config.idle,
        )
        with tempfile.TemporaryDirectory(prefix="fanout-") as workdir:
            try:
                server = ServerProcess(kind, config, Path(workdir), transport)
            except (RuntimeError, OSError) as exc:
                result.error = f"{type(exc).__name__}: {exc}"
                return result
            result.server_source = server.source
            try:
                self._drive(server, result)
            except (TimeoutError, RuntimeError, OSError) as exc:
                result.error = f"{type(exc).__name__}: {exc}"
            finally:
                result.server_exit = server.stop()
                log = server.log_lines()
                result.server_log_lines = len(log)
                result.server_log = log[:SERVER_LOG_KEEP]
        return result

    def _drive(self, server: ServerProcess, result: RunResult) -> None:
        config = self.config
        start = server.stats()
        result.server_rss_start_mb = start.rss_bytes / MIB
        login_deadline = time.monotonic() + config.timeout
        hard_deadline = login_deadline + config.timeout + WORKER_SLACK
        web = server.wants_web
        pool = WorkerPool(config, server.web_port if web else server.port, hard_deadline, result.transport)
        stalled: list[socket.socket] = []
        try:
            self._login(server, pool, result, login_deadline)
            stalled = connect_stalled(server.port, config.stalled, login_deadline)
            idle = server.stats()
            result.server_rss_idle_mb = idle.rss_bytes / MIB
            result.server_rss_per_conn_kb = (
                (idle.rss_bytes - start.rss_bytes) / 1024 / (config.clients + config.stalled)
            )
            result.server_threads = idle.threads
            if not config.idle and not result.error:
                self._messages(server, pool, result, idle)
            end = server.stats()
            result.server_rss_end_mb = end.rss_bytes / MIB
            result.server_rss_peak_mb = end.peak_rss_bytes / MIB
            result.server_threads = max(result.server_threads, end.threads)
            result.stalled_cut_off = drain_stalled(stalled)
        finally:
            for sock in stalled:
                sock.close()
            pool.close()

    def _login(self, server: ServerProcess, pool: WorkerPool, result: RunResult, deadline: float) -> None:
        """Phase 2: all workers connect and log in their clients at once."""
        pool.collect("started", deadline, lambda: None)
        task = self.progress.add_task(f"{server.label}: logging in", total=self.config.clients)
        cpu_before = server.stats().cpu_s
        started_ns = time.monotonic_ns()
        pool.controls.login.set()

        def tick() -> None:
            self.progress.update(task, completed=pool.total(LOGGED_IN))

        reports: list[LoginReport] = pool.collect("login", deadline + WORKER_SLACK, tick)
        tick()
        self.progress.remove_task(task)
        result.server_cpu_login_s = server.stats().cpu_s - cpu_before
        result.login_s = max(0, max(r.done_ns for r in reports) - started_ns) / NS
        result.login_failed = sum(r.failed for r in reports)
        result.client_errors += [e for r in reports for e in r.errors][:SERVER_LOG_KEEP]
        if result.login_failed:
            result.error = f"{result.login_failed} of {self.config.clients} clients did not log in"

    def _messages(
        self, server: ServerProcess, pool: WorkerPool, result: RunResult, before: ProcStats
    ) -> None:
        """Phase 4: release the senders, wait for every delivery or the time-out, then stop."""
        config = self.config
        result.expected = config.expected_deliveries
        result.expected_echoes = config.expected_echoes
        task = self.progress.add_task(f"{server.label}: deliveries", total=result.expected)
        deadline = time.monotonic() + config.timeout
        pool.controls.send.set()
        while time.monotonic() < deadline and server.alive:
            self.progress.update(task, completed=pool.total(DELIVERED))
            if pool.total(SETTLED) >= config.clients:
                break  # everyone has everything, or was cut off and will get nothing more
            time.sleep(PROGRESS_INTERVAL)
        after = server.stats()
        pool.controls.stop.set()
        reports: list[MessageReport] = pool.collect("messages", deadline + WORKER_SLACK, lambda: None)
        self.progress.remove_task(task)
        if not server.alive:
            result.error = f"the server exited with status {server.process.returncode}"
        self._summarise(result, reports, after.cpu_s - before.cpu_s)

    def _summarise(self, result: RunResult, reports: Sequence[MessageReport], server_cpu_s: float) -> None:
        """Fold the workers' message reports into the result."""
        result.deliveries = sum(r.delivered for r in reports)
        result.lost = result.expected - result.deliveries
        result.echoes = sum(r.echoes for r in reports)
        result.complete_clients = sum(r.complete for r in reports)
        result.disconnected = sum(r.disconnected for r in reports)
        result.order_errors = sum(r.order_errors for r in reports)
        result.client_errors += [e for r in reports for e in r.errors][:SERVER_LOG_KEEP]
        first = min((r.first_send_ns for r in reports if r.first_send_ns), default=0)
        last = max(r.last_delivery_ns for r in reports)
        result.window_s = max(0.0, (last - first) / NS) if first and last else 0.0
        if result.window_s:
            result.deliveries_per_s = result.deliveries / result.window_s
        latencies = sorted(lat for r in reports for lat in r.latencies)
        missing = sum(r.latency_missing for r in reports)
        result.latency_samples = len(latencies)
        result.latency_missing = missing
        result.latency_p50_ms = percentile_ms(latencies, 0.50, missing)
        result.latency_p99_ms = percentile_ms(latencies, 0.99, missing)
        result.latency_max_ms = percentile_ms(latencies, 1.0, missing)
        result.server_cpu_s = server_cpu_s
        if result.deliveries:
            result.server_cpu_per_million_s = server_cpu_s / result.deliveries * 1e6
        result.generator_cpu_s = sum(r.cpu_s for r in reports)
        elapsed_s = sum(r.elapsed_s for r in reports)  # the message phase, as each worker saw it
        if elapsed_s:
            result.generator_busy_pct = 100 * result.generator_cpu_s / elapsed_s


# -- report ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One line of the results table: a RunResult field, how to show it, how to combine runs."""

    label: str
    key: str
    fmt: str
    worst: bool = False  # combine repeats by the worst value instead of the median
    messages_only: bool = False


ROWS = (
    Row("deliveries/s", "deliveries_per_s", "{:,.0f}", messages_only=True),
    Row("latency p50 (ms)", "latency_p50_ms", "{:.1f}", messages_only=True),
    Row("latency p99 (ms)", "latency_p99_ms", "{:.1f}", messages_only=True),
    Row("latency max (ms)", "latency_max_ms", "{:.1f}", messages_only=True),
    Row("deliveries", "deliveries", "{:,.0f}", worst=True, messages_only=True),
    Row("expected", "expected", "{:,.0f}", messages_only=True),
    Row("lost", "lost", "{:,.0f}", worst=True, messages_only=True),
    Row("echoes / expected", "echoes", "{:,.0f}", worst=True, messages_only=True),
    Row("receivers complete", "complete_clients", "{:,.0f}", worst=True, messages_only=True),
    Row("receivers disconnected", "disconnected", "{:,.0f}", worst=True, messages_only=True),
    Row("order errors", "order_errors", "{:,.0f}", worst=True, messages_only=True),
    Row("stalled readers cut off", "stalled_cut_off", "{:,.0f}"),
    Row("window (s)", "window_s", "{:.2f}", messages_only=True),
    Row("connect+login (s)", "login_s", "{:.2f}"),
    Row("server CPU login (s)", "server_cpu_login_s", "{:.2f}"),
    Row("server CPU messages (s)", "server_cpu_s", "{:.2f}", messages_only=True),
    Row("server CPU per million deliveries (s)", "server_cpu_per_million_s", "{:.2f}", messages_only=True),
    Row("server RSS start (MiB)", "server_rss_start_mb", "{:.1f}"),
    Row("server RSS logged in (MiB)", "server_rss_idle_mb", "{:.1f}"),
    Row("server RSS per connection (KiB)", "server_rss_per_conn_kb", "{:.1f}"),
    Row("server RSS end / peak (MiB)", "server_rss_end_mb", "{:.1f}"),
    Row("server threads", "server_threads", "{:,.0f}"),
    Row("generator CPU (s)", "generator_cpu_s", "{:.2f}", messages_only=True),
    Row("generator busy (% of its cores)", "generator_busy_pct", "{:.0f}", messages_only=True),
    Row("server log lines", "server_log_lines", "{:,.0f}", worst=True),
)

# Smaller is worse for these; for every other "worst" row larger is worse.
LOWER_IS_WORSE = {"deliveries", "echoes", "complete_clients", "stalled_cut_off"}
RATIO_KEYS = ("deliveries_per_s", "latency_p50_ms", "latency_p99_ms", "login_s", "server_rss_idle_mb")
WEB_RATIO_KEYS = (
    *RATIO_KEYS,
    "server_cpu_login_s",
    "server_cpu_per_million_s",
    "server_rss_per_conn_kb",
    "generator_cpu_s",
)


def combine(row: Row, values: Sequence[float | None]) -> float | None:
    """The median of the runs, or the worst run for correctness figures.  None (a latency that
    never came) counts as infinitely large."""
    numbers = [math.inf if value is None else value for value in values]
    if row.worst:
        combined = min(numbers) if row.key in LOWER_IS_WORSE else max(numbers)
    else:
        combined = statistics.median(numbers)
    return None if math.isinf(combined) else combined


Summary = dict[str, dict[str, float | None]]


def summarise(config: Config, results: Sequence[RunResult]) -> Summary:
    """Per setup (server, and " web" for WebSocket clients): every table figure combined over
    the repeats."""
    summary: Summary = {}
    for kind, transport in config.setups:
        name = label(kind, transport)
        runs = [asdict(r) for r in results if label(r.server, r.transport) == name and not r.error]
        if runs:
            summary[name] = {row.key: combine(row, [run[row.key] for run in runs]) for row in ROWS}
            summary[name]["server_rss_peak_mb"] = statistics.median(run["server_rss_peak_mb"] for run in runs)
    return summary


def ratios(summary: Summary) -> dict[str, float]:
    """messenger / naive for the headline figures, when both ran."""
    return _ratios(summary, "messenger", "naive", RATIO_KEYS)


def web_ratios(summary: Summary) -> dict[str, float]:
    """messenger with web clients / messenger with TCP clients, when both ran."""
    return _ratios(summary, label("messenger", "web"), "messenger", WEB_RATIO_KEYS)


def _ratios(summary: Summary, top: str, bottom: str, keys: Sequence[str]) -> dict[str, float]:
    """``top`` / ``bottom`` for ``keys``.  No throughput ratio when either lost messages: a rate
    over what happened to arrive compares nothing."""
    if top not in summary or bottom not in summary:
        return {}
    mine, naive = summary[top], summary[bottom]
    lossy = bool(mine.get("lost") or naive.get("lost"))
    found = {}
    for key in keys:
        numerator, denominator = mine.get(key), naive.get(key)
        if numerator is not None and denominator and not (lossy and key == "deliveries_per_s"):
            found[key] = numerator / denominator
    return found


def render_table(config: Config, results: Sequence[RunResult], summary: Summary) -> Table:
    """The results as a Rich table: one column per setup, plus the ratios of those that ran."""
    how = f"median of {config.repeat} runs" if config.repeat > 1 else "one run"
    sources = sorted({f"{r.server}: {r.server_source}" for r in results if r.server_source})
    table = Table(
        title=f"{describe(config)} ({how}; correctness rows: worst run)", caption="; ".join(sources)
    )
    table.add_column("figure")
    for name in summary:
        table.add_column(name, justify="right")
    shown = [(title, found) for title, found in ratio_columns(summary) if found]
    for title, _ in shown:
        table.add_column(title, justify="right")
    for row in ROWS:
        if row.messages_only and config.idle:
            continue
        cells = [_cell(row, summary[name], config) for name in summary]
        for _, found in shown:
            ratio = found.get(row.key)
            cells.append("" if ratio is None else f"{ratio:.2f}×")
        table.add_row(row.label, *cells)
    if config.repeat > 1 and not config.idle:
        per_run = [
            ", ".join(
                f"{r.deliveries_per_s:,.0f}"
                for r in results
                if label(r.server, r.transport) == name and not r.error
            )
            for name in summary
        ]
        table.add_row("deliveries/s, each run", *per_run, *[""] * len(shown))
    return table


def ratio_columns(summary: Summary) -> list[tuple[str, dict[str, float]]]:
    return [("messenger/naive", ratios(summary)), ("web/tcp", web_ratios(summary))]


def _cell(row: Row, figures: dict[str, float | None], config: Config) -> str:
    value = figures[row.key]
    if value is None:
        return "never (lost)"
    text = row.fmt.format(value)
    if row.key == "echoes":
        text += f" / {config.expected_echoes:,}"
    if row.key == "complete_clients":
        text += f" / {config.clients:,}"
    if row.key == "stalled_cut_off":
        text += f" / {config.stalled}"
    if row.key == "server_rss_end_mb":
        text += f" / {figures['server_rss_peak_mb'] or 0:.1f}"
    return text


def describe(config: Config) -> str:
    if config.idle:
        return f"idle: {config.clients:,} clients"
    rate = f"{config.rate:g}/s each" if config.rate else "flat out"
    stalled = f", {config.stalled} stalled readers" if config.stalled else ""
    history = "history in a file" if config.db == "file" else "history in memory"
    return (
        f"fan-out: {config.clients:,} clients, {config.senders} senders × {config.messages} messages"
        f" × {config.size} B, {rate}{stalled}, {history}"
    )


def report_problems(console: Console, results: Sequence[RunResult]) -> None:
    """Print run errors, client errors and server log lines, which the table cannot show."""
    for number, result in enumerate(results, 1):
        notes = [f"error: {result.error}"] if result.error else []
        notes += [f"client: {line}" for line in result.client_errors]
        if result.server_log_lines:
            notes.append(f"server stderr ({result.server_log_lines} lines), first ones:")
            notes += [f"  {line}" for line in result.server_log]
        if notes:
            name = label(result.server, result.transport)
            console.print(f"[bold]run {number} ({name}):[/bold]", highlight=False)
            for note in notes:
                console.print(f"  {note}", markup=False, highlight=False, soft_wrap=True)


def write_json(target: str, config: Config, results: Sequence[RunResult], summary: dict[str, Any]) -> None:
    document = {
        "config": asdict(config),
        "expected_deliveries": config.expected_deliveries,
        "runs": [asdict(r) for r in results],
        "summary": summary,
        "ratio_messenger_over_naive": ratios(summary),
        "ratio_web_over_tcp": web_ratios(summary),
    }
    text = json.dumps(document, indent=2)
    if target == "-":
        sys.stdout.write(text + "\n")
    else:
        Path(target).write_text(text + "\n")


# -- command line ---------------------------------------------------------------------------------


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def parse_args(argv: Sequence[str] | None) -> tuple[Config, str | None]:
    parser = argparse.ArgumentParser(
        description="Fan-out benchmark for chat servers (see benchmarks/README.md).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--clients", type=positive, default=500, help="connected readers N")
    parser.add_argument("--senders", type=positive, default=10, help="how many of the N send")
    parser.add_argument("--messages", type=positive, default=200, help="messages per sender")
    parser.add_argument("--size", type=positive, default=64, help="bytes per message line sent")
    parser.add_argument("--rate", type=float, default=0.0, help="messages/s per sender; 0 = flat out")
    parser.add_argument("--stalled", type=int, default=0, help="extra clients that never read")
    parser.add_argument(
        "--server",
        choices=(*SERVERS, "both"),
        default="messenger",
        help="server under test; both = messenger and naive, alternating, in one invocation",
    )
    parser.add_argument(
        "--transport",
        choices=(*TRANSPORTS, "both"),
        default="tcp",
        help="how the clients connect: tcp (text mode), web (WebSocket, messenger only), or both,"
        " alternating, in one invocation",
    )
    parser.add_argument("--repeat", type=positive, default=1, help="runs per server; the median is shown")
    parser.add_argument("--workers", type=positive, default=2, help="generator processes")
    parser.add_argument("--probes", type=int, default=20, help="receivers that record latency")
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds allowed for login, and again for messages"
    )
    parser.add_argument("--sendq", help="messenger's --sendq (e.g. 1M)")
    parser.add_argument("--idle", type=positive, metavar="N", help="log in N clients, send nothing")
    parser.add_argument(
        "--db",
        default="file",
        help="messenger's history: 'file' (a new SQLite file per run) or ':memory:' (no disk writes)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON ('-' = stdout)")
    parser.add_argument(
        "--pin", action="store_true", help="run the server on CPU 0 and the generator on CPU 1 (Linux)"
    )
    parser.add_argument(
        "--bans", type=int, default=0, help="messenger: N bans in place (names and addresses)"
    )
    parser.add_argument("--ignores", type=int, default=0, help="messenger: N receivers each ignore someone")
    args = parser.parse_args(argv)
    clients = args.idle or args.clients
    if not args.idle and args.senders > clients:
        parser.error("--senders cannot exceed --clients")
    if args.rate < 0 or args.stalled < 0 or args.probes < 0 or args.timeout <= 0:
        parser.error("--rate, --stalled and --probes cannot be negative; --timeout must be positive")
    config = Config(
        servers=SERVERS if args.server == "both" else (args.server,),
        clients=clients,
        senders=args.senders,
        messages=args.messages,
        size=args.size,
        rate=args.rate,
        stalled=args.stalled,
        workers=min(args.workers, clients),
        probes=args.probes,
        timeout=args.timeout,
        repeat=args.repeat,
        idle=bool(args.idle),
        sendq=args.sendq,
        db=args.db,
        pin=args.pin,
        bans=args.bans,
        ignores=args.ignores,
        transports=TRANSPORTS if args.transport == "both" else (args.transport,),
    )
    if not config.setups:
        parser.error("the naive server has no web port: --transport web needs --server messenger")
    if args.stalled and "web" in config.transports:
        parser.error("--stalled readers are TCP clients: use --transport tcp")
    if args.db not in ("file", ":memory:"):
        parser.error("--db is 'file' or ':memory:'")
    if args.bans < 0 or args.ignores < 0 or (args.bans and args.db != "file"):
        parser.error("--bans and --ignores cannot be negative; --bans needs --db file")
    return config, args.json


def run_all(config: Config, console: Console) -> list[RunResult]:
    """Every repetition of every setup; servers and transports alternate so drift affects all
    alike."""
    results = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as progress:
        runner = Runner(config, progress)
        for _ in range(config.repeat):
            for kind, transport in config.setups:
                results.append(runner.run(kind, transport))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; exit status 1 if any run failed or lost messages."""
    config, json_target = parse_args(argv)
    if config.pin:
        pin_to(GENERATOR_CPU)()  # the worker processes inherit it
    console = Console(stderr=json_target == "-", highlight=False)
    if not console.is_terminal:
        console.width = REPORT_WIDTH  # a file or pipe would otherwise get 80 columns
    try:
        results = run_all(config, console)
    except KeyboardInterrupt:
        console.print("interrupted")
        return 130
    summary = summarise(config, results)
    if summary:
        console.print(render_table(config, results, summary))
    report_problems(console, results)
    if json_target:
        write_json(json_target, config, results, summary)
    failed = any(r.error or r.lost for r in results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

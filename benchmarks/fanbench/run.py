"""One run: a server, its workers, the stalled readers, the figures."""

from __future__ import annotations

import dataclasses
import math
import multiprocessing as mp
import queue
import socket
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.progress import Progress

from fanbench import metrics
from fanbench.cluster import ClusterProcess
from fanbench.config import (
    COUNTER_SLOTS,
    DELIVERED,
    DRAIN_TIMEOUT,
    HOST,
    LOGGED_IN,
    MIB,
    NS,
    PROGRESS_INTERVAL,
    RECV_SIZE,
    SERVER_LOG_KEEP,
    SETTLED,
    STALLED_RCVBUF,
    STOP_TIMEOUT,
    WORKER_SLACK,
    Config,
    Setup,
    plan_clients,
)
from fanbench.server import ProcStats, ServerProcess
from fanbench.worker import Controls, LoginReport, MessageReport, worker_main


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
    nodes: int | None = None  # a cluster setup's nodes (0: one server without Redis)
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
    redis_cpu_s: float = 0.0  # a cluster's redis-server (also in server_cpu_s)
    redis_cpu_per_million_s: float = 0.0
    server_rss_start_mb: float = 0.0
    server_rss_idle_mb: float = 0.0
    server_rss_per_conn_kb: float = 0.0
    server_rss_end_mb: float = 0.0
    server_rss_peak_mb: float = 0.0
    server_threads: int = 0
    # The server's own figures from its /metrics (messenger only; None for the others): the
    # message phase's counts, fan-out latency and delivery rounds, the whole run's cut-offs and
    # refused logins, and whether its counts are the generator's (None: not comparable).
    server_deliveries: float | None = None
    server_messages: float | None = None
    server_counts_match: bool | None = None
    server_fanout_p50_ms: float | None = None
    server_fanout_p99_ms: float | None = None
    server_rounds: float | None = None
    server_too_slow: float | None = None
    server_refused: float | None = None
    generator_cpu_s: float = 0.0
    generator_busy_pct: float = 0.0
    server_exit: int | None = None
    server_log_lines: int = 0
    server_log: list[str] = field(default_factory=list)
    client_errors: list[str] = field(default_factory=list)

    @property
    def setup(self) -> Setup:
        return Setup(self.server, self.transport, self.nodes, self.rate)


class WorkerPool:
    """The worker processes of one run and the shared state used to steer and watch them."""

    def __init__(self, config: Config, ports: list[int], deadline: float, transport: str = "tcp") -> None:
        context = mp.get_context("spawn")
        self.config = config
        self.counters: Any = context.Array("q", config.workers * COUNTER_SLOTS, lock=False)
        self.controls = Controls(*(context.Event() for _ in range(4)))
        self.reports: Any = context.Queue()
        shared = (self.counters, self.controls, self.reports, deadline, transport)
        self.processes = [
            context.Process(
                target=worker_main,
                args=(w, specs, ports, config, *shared),
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

    def run(self, setup: Setup) -> RunResult:
        kind, transport, nodes, rate = setup
        config = dataclasses.replace(self.config, rate=rate)  # what the workers' senders use
        result = RunResult(
            server=kind,
            transport=transport,
            nodes=nodes,
            clients=config.clients,
            senders=config.senders,
            messages=config.messages,
            size=config.size,
            rate=rate,
            stalled=config.stalled,
            idle=config.idle,
        )
        with tempfile.TemporaryDirectory(prefix="fanout-") as workdir:
            try:
                server: ServerProcess | ClusterProcess
                if nodes:
                    server = ClusterProcess(nodes, config, Path(workdir), transport)
                else:
                    server = ServerProcess(kind, config, Path(workdir), transport)
            except (RuntimeError, OSError) as exc:
                result.error = f"{type(exc).__name__}: {exc}"
                return result
            result.server_source = server.source
            try:
                self._drive(server, result, config)
            except (TimeoutError, RuntimeError, OSError) as exc:
                result.error = f"{type(exc).__name__}: {exc}"
            finally:
                result.server_exit = server.stop()
                log = server.log_lines()
                result.server_log_lines = len(log)
                result.server_log = log[:SERVER_LOG_KEEP]
        return result

    def _drive(self, server: Any, result: RunResult, config: Config) -> None:
        start = server.stats()
        result.server_rss_start_mb = start.rss_bytes / MIB
        first = metrics.take(server)
        login_deadline = time.monotonic() + config.timeout
        hard_deadline = login_deadline + config.timeout + WORKER_SLACK
        pool = WorkerPool(config, server.client_ports(), hard_deadline, result.transport)
        stalled: list[socket.socket] = []
        try:
            self._login(server, pool, result, login_deadline)
            stalled = connect_stalled(server.port, config.stalled, login_deadline)
            before = metrics.take(server)  # before the CPU reading: the scrape is not the phase's
            idle = server.stats()
            result.server_rss_idle_mb = idle.rss_bytes / MIB
            result.server_rss_per_conn_kb = (
                (idle.rss_bytes - start.rss_bytes) / 1024 / (config.clients + config.stalled)
            )
            result.server_threads = idle.threads
            if not result.error:  # idle runs send one message, from one client to all
                self._messages(server, pool, result, idle, config)
            if server.alive:  # also after a failed login: who the server cut or refused
                metrics.fold(result, first, before, metrics.take(server))
            end = server.stats()
            result.server_rss_end_mb = end.rss_bytes / MIB
            result.server_rss_peak_mb = end.peak_rss_bytes / MIB
            result.server_threads = max(result.server_threads, end.threads)
            result.stalled_cut_off = drain_stalled(stalled)
        finally:
            for sock in stalled:
                sock.close()
            pool.close()

    def _login(self, server: Any, pool: WorkerPool, result: RunResult, deadline: float) -> None:
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
        self, server: Any, pool: WorkerPool, result: RunResult, before: ProcStats, config: Config
    ) -> None:
        """Phase 4: release the senders, wait for every delivery or the time-out, then stop."""
        result.expected = config.expected_deliveries
        result.expected_echoes = 0 if result.transport == "irc" else config.expected_echoes
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
        result.redis_cpu_s = after.redis_cpu_s - before.redis_cpu_s
        if result.deliveries:
            result.redis_cpu_per_million_s = result.redis_cpu_s / result.deliveries * 1e6

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

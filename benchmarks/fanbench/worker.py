"""A worker process: drives its block of clients from one thread with selectors."""

from __future__ import annotations

import itertools
import selectors
import signal
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from fanbench.clients import Client, LoginFailed, Parser, Sender, make_client
from fanbench.config import (
    CONTROL_INTERVAL,
    COUNTER_SLOTS,
    DELIVERED,
    DISCONNECTED,
    ECHOES,
    FAILED,
    IRC_CONNECTING,
    LOGGED_IN,
    NS,
    SELECT_INTERVAL,
    SERVER_LOG_KEEP,
    SETTLED,
    WORKER_SLACK,
    ClientSpec,
    Config,
)


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
        ports: Sequence[int],
        config: Config,
        counters: Any,
        transport: str = "tcp",
    ) -> None:
        """``ports``: the server's (or its nodes'); client i connects to ports[i mod len]."""
        self.id = worker_id
        self.config = config
        self.counters = counters
        self.transport = transport
        self.clients = [make_client(s, ports[s.index % len(ports)], config, transport) for s in specs]
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

    def start(self, clients: Iterator[Client], count: int) -> int:
        """Begin connecting the next ``count`` clients; return how many failed at once."""
        failed = 0
        for client in itertools.islice(clients, count):
            try:
                self.selector.register(client.start_connect(), selectors.EVENT_WRITE, client)
                self.active.add(client)
            except (LoginFailed, OSError) as exc:
                failed += 1
                self.drop(client, str(exc))
        return failed

    def log_in(self, deadline: float) -> LoginReport:
        """Connect every client at once (with IRC, at most IRC_CONNECTING connects unanswered at
        a time) and wait for each one's own join line."""
        waiting = iter(self.clients)
        window = IRC_CONNECTING if self.transport == "irc" else len(self.clients)
        failed = self.start(waiting, window)
        logged_in, done_ns = 0, 0
        next_publish = 0.0
        while logged_in + failed < len(self.clients) and time.monotonic() < deadline:
            connecting = sum(
                1 for key in self.selector.get_map().values() if key.events == selectors.EVENT_WRITE
            )
            if connecting < window:
                failed += self.start(waiting, window - connecting)
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
    ports: list[int],
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
    worker = Worker(worker_id, specs, ports, config, counters, transport)
    try:
        reports.put(("started", worker_id))  # login time must not include process start-up
        controls.login.wait(max(0.0, deadline - time.monotonic()))
        # The login phase ends when the main process stops waiting for it (Runner._drive), so
        # clients that never log in are reported as such rather than as a silent worker.
        reports.put(("login", worker.log_in(deadline - config.timeout - WORKER_SLACK)))
        worker.serve([controls.send, controls.exit], deadline)
        if controls.send.is_set():
            reports.put(("messages", worker.send_messages(controls.stop, deadline)))
        worker.serve([controls.exit], deadline)  # keep reading so the server is never blocked by us
    finally:
        worker.close()

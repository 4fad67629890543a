"""The server's own fan-out latency and CPU, read from its ``/metrics``: N text-mode clients in
the lobby, S of them sending at a steady total rate for a while, one generator process.

    python benchmarks/internal_latency.py --clients 1000 --rate 500 --seconds 10 --pin

The figures are the differences of two scrapes taken around the sending window: the server's
p50/p99/p99.9 of ``messenger_fanout_latency_seconds`` (from reading a message to the end of the
delivery round that first sent it), its CPU seconds per million deliveries, deliveries per
round, cut-offs, and its resident memory.  End-to-end latency is not measured here (on one
machine it is bounded by the generator's own CPU); benchmarks/fanout.py does that.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import selectors
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from metrics_scrape import difference, quantile, scrape  # beside this file

LOGIN_TIMEOUT = 60.0
HISTOGRAM = "messenger_fanout_latency_seconds"


def start_server(clients: int, pin: bool) -> tuple[subprocess.Popen[str], int, int]:
    """``messenger serve`` on free ports (CPU 0 with ``pin``): the process, chat and web ports."""
    command = [sys.executable, "-m", "messenger", "serve", "--port", "0", "--web-port", "0"]
    command += ["--max-rate", "0", "--max-clients", str(clients + 10), "--db", ":memory:"]
    command += ["--max-per-ip", "0", "--max-conn-rate", "0"]
    if pin:
        command = ["taskset", "-c", "0", *command]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert server.stdout is not None
    chat = re.search(r":(\d+)$", server.stdout.readline().strip())
    web = re.search(r":(\d+)/$", server.stdout.readline().strip())
    if chat is None or web is None:
        server.kill()
        raise SystemExit("the server did not print its ports")
    return server, int(chat.group(1)), int(web.group(1))


class Readers:
    """Every client's socket, read and discarded (counting lines) without blocking."""

    def __init__(self, port: int, count: int) -> None:
        self.selector = selectors.DefaultSelector()
        self.sockets = []
        for index in range(count):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(f"c{index}\n".encode())  # text mode: the first line is the name
            sock.setblocking(False)
            self.selector.register(sock, selectors.EVENT_READ)
            self.sockets.append(sock)

    def drain(self, timeout: float) -> None:
        for key, _ in self.selector.select(timeout):
            try:
                while key.fileobj.recv(1 << 20):  # type: ignore[union-attr]
                    pass
            except BlockingIOError:
                pass

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


def settle(readers: Readers, web: int, timed: float) -> dict[str, float]:
    """A scrape once every message sent was timed (the server's histogram holds ``timed``
    observations), the clients reading meanwhile."""
    deadline = time.monotonic() + LOGIN_TIMEOUT
    while True:
        for _ in range(4):
            readers.drain(0.05)
        samples = scrape("127.0.0.1", web)
        if samples[f"{HISTOGRAM}_count"] >= timed:
            return samples
        if time.monotonic() > deadline:
            raise SystemExit("the server did not send every message in time")


def measure(args: argparse.Namespace) -> dict[str, float]:
    server, port, web = start_server(args.clients, args.pin)
    if args.pin:
        os.sched_setaffinity(0, {1})
    readers = Readers(port, args.clients)
    try:
        deadline = time.monotonic() + LOGIN_TIMEOUT
        while scrape("127.0.0.1", web)["messenger_members"] < args.clients:
            readers.drain(0.05)
            if time.monotonic() > deadline:
                raise SystemExit("the clients did not all log in")
        for _ in range(20):
            readers.drain(0.01)
        before = scrape("127.0.0.1", web)
        sent, interval, start = 0, 1.0 / args.rate, time.monotonic()
        due = start
        while time.monotonic() - start < args.seconds:
            while due <= time.monotonic():
                readers.sockets[sent % args.senders].sendall(b"m %d\n" % sent)
                sent, due = sent + 1, due + interval
            readers.drain(max(0.0, min(0.002, due - time.monotonic())))
        after = settle(readers, web, before[f"{HISTOGRAM}_count"] + sent)
    finally:
        readers.close()
        server.terminate()
        server.wait(10)
    return report(args, sent, difference(after, before), after)


def report(
    args: argparse.Namespace, sent: int, moved: dict[str, float], after: dict[str, float]
) -> dict[str, float]:
    deliveries = moved["messenger_deliveries_total"]
    return {
        "clients": args.clients,
        "rate": args.rate,
        "seconds": args.seconds,
        "sent": sent,
        "messages": moved["messenger_messages_received_total"],
        "deliveries": deliveries,
        "deliveries_per_round": deliveries / max(1.0, moved["messenger_flusher_rounds_total"]),
        "too_slow": moved["messenger_too_slow_total"],
        "server_cpu_s": moved["process_cpu_seconds_total"],
        "server_cpu_per_million_s": moved["process_cpu_seconds_total"] / max(1.0, deliveries) * 1e6,
        "p50_ms": quantile(moved, HISTOGRAM, 0.5) * 1e3,
        "p99_ms": quantile(moved, HISTOGRAM, 0.99) * 1e3,
        "p999_ms": quantile(moved, HISTOGRAM, 0.999) * 1e3,
        "server_rss_mb": after["process_resident_memory_bytes"] / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000, help="connected clients")
    parser.add_argument("--senders", type=int, default=10, help="how many of them send")
    parser.add_argument("--rate", type=float, default=500.0, help="messages a second, all senders together")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long they send")
    parser.add_argument("--pin", action="store_true", help="server on CPU 0, this generator on CPU 1")
    print(json.dumps(measure(parser.parse_args())))


if __name__ == "__main__":
    main()

"""Fan-out over several nodes: N JSON clients spread over K ``messenger serve --redis`` nodes (one
redis-server), S of them send M messages each; every client counts what arrives.

    python benchmarks/cluster_fanout.py --clients 300 --senders 6 --messages 100 --nodes 0,1,2,3

``--nodes 0`` is one server without Redis (the single-node figure the Redis hop is measured
against); K >= 1 is K nodes joined through a fresh redis-server.  Setups run interleaved, each
``--repeat`` times.  Reported per setup: deliveries/s (a delivery is one message arriving at one
client other than its sender), the p50 and p99 latency from send to arrival (every receiver),
and the CPU seconds the servers used (the nodes and redis-server, from /proc) per million
deliveries, which a busy machine disturbs less than the wall time.

The generator is one process driving non-blocking sockets with ``selectors``; every wait has a
deadline.  Linux only (/proc).
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

TICKS = os.sysconf("SC_CLK_TCK")
DEADLINE = 120.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Cluster:
    """A redis-server (unless K = 0) and K messenger nodes, as child processes."""

    nodes: int
    clients: int
    procs: list[subprocess.Popen] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)
    redis: subprocess.Popen | None = None
    workdir: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="cluster-bench-"))

    def start(self) -> None:
        extra: list[str] = []
        if self.nodes:
            port = free_port()
            self.redis = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(port),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    self.workdir,
                ],
                stdout=subprocess.DEVNULL,
            )
            wait_port(port)
            extra = ["--redis", f"redis://127.0.0.1:{port}/0"]
        for index in range(max(1, self.nodes)):
            node = ["--node", f"n{index}"] if self.nodes else []
            proc = subprocess.Popen(
                [sys.executable, "-m", "messenger", "serve", "--port", "0", "--no-web", "--db", ":memory:",
                 "--max-rate", "0", "--max-per-ip", "0", "--max-conn-rate", "0",
                 "--max-clients", str(self.clients + 10), "--log-level", "warning", *extra, *node],
                stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            assert proc.stdout is not None
            banner = proc.stdout.readline()
            self.ports.append(int(banner.rsplit(":", 1)[1]))
            self.procs.append(proc)

    def cpu(self) -> tuple[float, float]:
        """CPU seconds of the nodes, and of redis-server."""
        nodes = sum(cpu_seconds(proc.pid) for proc in self.procs)
        return nodes, cpu_seconds(self.redis.pid) if self.redis else 0.0

    def stop(self) -> None:
        for proc in [*self.procs, *([self.redis] if self.redis else [])]:
            proc.kill()
            proc.wait(timeout=10)
        shutil.rmtree(self.workdir, ignore_errors=True)


def wait_port(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


class Peer:
    """One JSON client: its socket, what it has not parsed yet, what it counted."""

    def __init__(self, name: str, port: int) -> None:
        self.name = name
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.sendall(json.dumps({"type": "hello", "user": name, "history": 0}).encode() + b"\n")
        self.buffer = b""
        self.received = 0
        self.latencies: list[int] = []

    def lines(self) -> list[bytes]:
        data = self.sock.recv(1 << 20)
        if not data:
            raise RuntimeError(f"{self.name}: closed")
        *lines, self.buffer = (self.buffer + data).split(b"\n")
        return lines

    def feed(self, now_ns: int) -> None:
        for line in self.lines():
            if b'"type":"message"' in line:
                frame = json.loads(line)
                if frame.get("from") != self.name:
                    self.received += 1
                    self.latencies.append(now_ns - int(frame["text"].split()[0]))


def run(nodes: int, args: argparse.Namespace) -> dict[str, float]:
    cluster = Cluster(nodes, args.clients)
    cluster.start()
    try:
        peers = [Peer(f"u{i}", cluster.ports[i % len(cluster.ports)]) for i in range(args.clients)]
        settle(peers)
        return measure(cluster, peers, args)
    finally:
        cluster.stop()


def settle(peers: list[Peer]) -> None:
    """Every client sees a message from the last one logged in: logins are over everywhere."""
    last = peers[-1]
    last.sock.sendall(b'{"type":"say","text":"0 ready"}\n')
    pending = set(peers[:-1])
    loop(pending, lambda peer: peer.received >= 1, time.monotonic() + DEADLINE)
    for peer in peers:
        peer.received, peer.latencies = 0, []


def loop(waiting: set[Peer], done: object, deadline: float) -> None:
    selector = selectors.DefaultSelector()
    for peer in waiting:
        peer.sock.setblocking(False)
        selector.register(peer.sock, selectors.EVENT_READ, peer)
    try:
        while waiting and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=1):
                peer: Peer = key.data
                peer.feed(time.monotonic_ns())
                if done(peer):  # type: ignore[operator]
                    waiting.discard(peer)
                    selector.unregister(peer.sock)
    finally:
        selector.close()


def measure(cluster: Cluster, peers: list[Peer], args: argparse.Namespace) -> dict[str, float]:
    senders = peers[: args.senders]
    expected = args.messages * args.senders - args.messages  # each reader: everyone's but its own
    pad = "x" * max(0, args.size - 40)
    before, started = cluster.cpu(), time.monotonic()
    for i in range(args.messages):
        for peer in senders:
            line = json.dumps({"type": "say", "text": f"{time.monotonic_ns()} {i} {pad}"}).encode() + b"\n"
            peer.sock.setblocking(True)
            peer.sock.sendall(line)
    for peer in peers:
        want = expected if peer in senders else expected + args.messages
        peer.want = want  # type: ignore[attr-defined]
    loop(set(peers), lambda peer: peer.received >= peer.want, time.monotonic() + DEADLINE)
    elapsed, after = time.monotonic() - started, cluster.cpu()
    deliveries = sum(peer.received for peer in peers)
    latencies = sorted(value for peer in peers for value in peer.latencies)
    node_cpu, redis_cpu = after[0] - before[0], after[1] - before[1]
    return {
        "deliveries": deliveries,
        "complete": deliveries == sum(peer.want for peer in peers),  # type: ignore[attr-defined]
        "per_s": deliveries / elapsed,
        "p50_ms": latencies[len(latencies) // 2] / 1e6 if latencies else 0.0,
        "p99_ms": latencies[int(len(latencies) * 0.99)] / 1e6 if latencies else 0.0,
        "cpu_per_million": (node_cpu + redis_cpu) / deliveries * 1e6 if deliveries else 0.0,
        "redis_share": redis_cpu / (node_cpu + redis_cpu) if node_cpu + redis_cpu else 0.0,
    }


def row(label: str, result: dict[str, float]) -> str:
    return (
        f"{label:10} {result['deliveries']:>10.0f}  {result['complete']!s:>8}  {result['per_s']:>12.0f}  "
        f"{result['p50_ms']:>6.1f}  {result['p99_ms']:>6.1f}  {result['cpu_per_million']:>14.1f}  "
        f"{result['redis_share']:>10.0%}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--senders", type=int, default=6)
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--nodes", default="0,1,2,3", help="K per setup; 0 = one server without Redis")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    setups = [int(k) for k in args.nodes.split(",")]
    print(f"load average before: {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs")
    print("setup      deliveries  complete  deliveries/s  p50 ms  p99 ms  server CPU s/M  redis share")
    for _ in range(args.repeat):
        for nodes in setups:
            result = run(nodes, args)
            label = "no redis" if nodes == 0 else f"{nodes} node(s)"
            print(row(label, result), flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

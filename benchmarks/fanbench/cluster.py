"""Several messenger nodes joined through one redis-server (``--nodes K``), measured as one server.

The redis-server is a fresh one per run, in the run's directory, without persistence (no disk
writes measured), on a free port.  The nodes are ``ServerProcess``es with ``--redis`` and
``--node nI``; the run's clients are spread over them (client i on node i mod K).  With ``--pin``
every node and the redis-server share the server's core, as one server has it alone: CPU per
delivery is then comparable, and the generator keeps its own core.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from fanbench.config import BANNER_TIMEOUT, HOST, STOP_TIMEOUT, Config
from fanbench.server import SERVER_CPU, ProcStats, ServerProcess, pin_to, read_proc

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_STARTS = 5  # attempts, each on another free port (one may be taken meanwhile)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def redis_answers(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisProcess:
    """A redis-server for one run: on a free port, in ``workdir``, nothing saved."""

    def __init__(self, workdir: Path, pin: bool) -> None:
        for _ in range(REDIS_STARTS):
            self.port = free_port()
            command = [REDIS_SERVER, "--port", str(self.port), "--bind", HOST, "--dir", str(workdir)]
            command += ["--save", "", "--appendonly", "no", "--logfile", "redis.log"]
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                preexec_fn=pin_to(SERVER_CPU) if pin else None,
            )
            deadline = time.monotonic() + BANNER_TIMEOUT
            while time.monotonic() < deadline and self.process.poll() is None:
                if redis_answers(self.port):
                    return
                time.sleep(0.02)  # polling a port being opened: nothing to wait on instead
            self.stop()
        raise RuntimeError(f"redis-server did not start; see {workdir}/redis.log")

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(STOP_TIMEOUT)


class ClusterProcess:
    """K nodes and their redis-server, with ServerProcess's interface (figures summed)."""

    kind = "messenger"
    has_metrics = True

    def __init__(self, nodes: int, config: Config, workdir: Path, transport: str = "tcp") -> None:
        self.label = f"{nodes} node{'s' if nodes > 1 else ''}"
        self.redis = RedisProcess(workdir, config.pin)
        self.nodes: list[ServerProcess] = []
        try:
            for index in range(nodes):
                extra = ["--redis", self.redis.url, "--node", f"n{index}"]
                self.nodes.append(ServerProcess("messenger", config, workdir, transport, extra))
        except (RuntimeError, OSError):
            self.stop()
            raise
        first = self.nodes[0]
        self.source, self.port, self.web_port = first.source, first.port, first.web_port

    @property
    def process(self) -> subprocess.Popen:
        """The first node that exited (for the report), or the first node."""
        return next((node.process for node in self.nodes if not node.alive), self.nodes[0].process)

    def client_ports(self) -> list[int]:
        return [port for node in self.nodes for port in node.client_ports()]

    @property
    def metrics_ports(self) -> list[int]:
        return [node.web_port for node in self.nodes]

    def stats(self) -> ProcStats:
        """The nodes' and redis-server's figures summed; ``redis_cpu_s`` on its own too."""
        parts = [node.stats() for node in self.nodes]
        redis = read_proc(self.redis.process.pid)
        return ProcStats(
            cpu_s=sum(p.cpu_s for p in parts) + redis.cpu_s,
            rss_bytes=sum(p.rss_bytes for p in parts) + redis.rss_bytes,
            peak_rss_bytes=sum(p.peak_rss_bytes for p in parts) + redis.peak_rss_bytes,
            threads=sum(p.threads for p in parts),
            redis_cpu_s=redis.cpu_s,
        )

    @property
    def alive(self) -> bool:
        return all(node.alive for node in self.nodes) and self.redis.process.poll() is None

    def stop(self) -> int:
        """Stop the nodes (each leaves the cluster), then redis-server; the first non-zero exit."""
        codes = [node.stop() for node in self.nodes]
        self.redis.stop()
        return next((code for code in codes if code), 0)

    def log_lines(self) -> list[str]:
        return [f"{node.stdout_path.stem}: {line}" for node in self.nodes for line in node.log_lines()]

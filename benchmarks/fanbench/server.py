"""The server under test: starting, pinning, measuring and stopping it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from fanbench.config import (
    BANNER_PREFIX,
    BANNER_TIMEOUT,
    IRC_BANNER_PREFIX,
    NAIVE_SERVER,
    STOP_TIMEOUT,
    WEB_BANNER_PREFIX,
    Config,
)
from fanbench.ngircd import listening_port, ngircd_command, ngircd_version


@dataclass
class ProcStats:
    """What /proc says about a process."""

    cpu_s: float = 0.0
    rss_bytes: int = 0
    peak_rss_bytes: int = 0
    threads: int = 0
    redis_cpu_s: float = 0.0  # a cluster's redis-server, also counted in cpu_s


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

    def __init__(
        self, kind: str, config: Config, workdir: Path, transport: str = "tcp", extra: Sequence[str] = ()
    ) -> None:
        """``extra``: more options for messenger (a cluster node's ``--redis`` and ``--node``)."""
        self.kind = kind
        self.label = label(kind, transport)
        self.transport = transport
        # messenger always opens its web port: the clients of a web run connect to it, and every
        # run reads the server's own figures from its /metrics
        self.wants_web = kind == "messenger"
        self.wants_irc = kind == "messenger" and transport == "irc"
        self.web_port = 0  # messenger's web port (``Web page:`` in the banner)
        self.irc_port = 0  # messenger's IRC port, with ``--transport irc`` (``IRC:``)
        stem = "-".join([kind, *extra[-1:]])  # a node's name, after --node
        self.stdout_path = workdir / f"{stem}.out"
        self.stderr_path = workdir / f"{stem}.err"
        # a cluster's nodes after the first run the same code: no second probe (a Python start)
        self.source = "" if "--node" in extra and extra[-1] != "n0" else server_source(kind, workdir)
        if kind == "messenger" and config.bans:
            seed_bans(workdir / "history.db", config.bans)
        if kind == "ngircd":
            command = ngircd_command(config, workdir)
        else:
            command = [*server_command(kind, config, transport), *extra]
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                command,
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
                if self.kind == "ngircd":
                    port = port or listening_port(line)
                elif line.startswith(BANNER_PREFIX) and ":" in line:
                    port = int(line.rsplit(":", 1)[1])
                elif line.startswith(WEB_BANNER_PREFIX):  # Web page: http://127.0.0.1:PORT/
                    self.web_port = int(line.rstrip("/").rsplit(":", 1)[1])
                elif line.startswith(IRC_BANNER_PREFIX):  # IRC: 127.0.0.1:PORT
                    self.irc_port = int(line.rsplit(":", 1)[1])
            if port and (self.web_port or not self.wants_web) and (self.irc_port or not self.wants_irc):
                return port
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"{self.kind} server did not start: {self.log_lines()[-3:]}")

    def client_ports(self) -> list[int]:
        """Where the run's clients connect (a cluster: one port per node, clients spread)."""
        return [self.web_port if self.transport == "web" else self.irc_port or self.port]

    @property
    def metrics_ports(self) -> list[int]:
        """The web ports whose ``GET /metrics`` the run sums (none without /metrics)."""
        return [self.web_port] if self.has_metrics else []

    @property
    def has_metrics(self) -> bool:
        """Whether the server serves ``GET /metrics`` (on ``web_port``): messenger only."""
        return self.kind == "messenger"

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
    if kind == "ngircd":
        return ngircd_version()
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
    return f"{kind} {transport}" if kind == "messenger" and transport in ("web", "irc") else kind


def server_command(kind: str, config: Config, transport: str = "tcp") -> list[str]:
    """The command line that starts a server of ``kind`` (messenger with its web port, and so its
    /metrics, on any free port)."""
    if kind == "naive":
        return [sys.executable, str(NAIVE_SERVER), "--port", "0"]
    command = [sys.executable, "-m", "messenger", "serve", "--port", "0", "--max-rate", "0"]
    command += ["--max-clients", str(config.clients + config.stalled + 10), "--log-level", "warning"]
    command += ["--max-per-ip", "0", "--max-conn-rate", "0"]  # every client comes from 127.0.0.1
    command += ["--web-port", "0"]  # the web clients' port, and /metrics for every run
    if transport == "irc":
        command += ["--irc-port", "0"]
    if config.sendq:
        command += ["--sendq", config.sendq]
    # "file": a new history database in the run's temporary directory (the cwd), never the
    # user's own; ":memory:" measures the server without disk writes.
    command += ["--db", "history.db" if config.db == "file" else config.db]
    return command

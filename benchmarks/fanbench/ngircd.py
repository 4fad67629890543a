"""ngircd as a server under test: its configuration, its command line, its banner.

ngircd (the C IRC server, installed by ``make bench-deps``) runs in the foreground (``-n``) with
a configuration written into the run's temporary directory: it listens on 127.0.0.1 only, on a
port chosen free just before it starts (ngircd cannot listen on port 0 and say which port it
got), accepts any number of connections from one address, never resolves names or asks ident
(either would delay every login), and has the operator account that the senders use to switch
its flood control off for themselves (see irc.py).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

from fanbench.config import BANNER_TIMEOUT, HOST, Config
from fanbench.irc import OPERATOR

LISTENING = "Now listening on ["  # ngircd's log line once a port is open: "... on [127.0.0.1]:PORT"
MISSING = "ngircd is not installed: run `make bench-deps` (benchmarks/README.md)"

CONFIG = """\
[Global]
	Name = bench.invalid
	Info = fan-out benchmark
	AdminInfo1 = fan-out benchmark
	AdminInfo2 = localhost
	AdminEMail = bench@bench.invalid
	Listen = {host}
	Ports = {port}
	MotdPhrase = bench
[Limits]
	MaxConnections = 0
	MaxConnectionsIP = 0
	MaxJoins = 0
	MaxListSize = {clients}
	PingTimeout = 3600
	PongTimeout = 3600
[Options]
	DNS = no
	Ident = no
	PAM = no
[Operator]
	Name = {operator}
	Password = {password}
"""


def free_port() -> int:
    """A port nothing listens on now (another program could take it before ngircd does; the run
    then fails to start and says so)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def ngircd_command(config: Config, workdir: Path) -> list[str]:
    """Write ngircd.conf into ``workdir`` and return the command that runs ngircd with it."""
    binary = shutil.which("ngircd") or next(
        (str(p) for p in (Path("/usr/sbin/ngircd"), Path("/usr/local/sbin/ngircd")) if p.exists()), None
    )
    if binary is None:
        raise RuntimeError(MISSING)
    path = workdir / "ngircd.conf"
    name, password = (part.decode() for part in OPERATOR)
    path.write_text(
        CONFIG.format(
            host=HOST,
            port=free_port(),
            clients=config.clients + 10,
            operator=name,
            password=password,
        )
    )
    path.chmod(0o644)  # ngircd reads it as root, then runs as "nobody"
    return [binary, "-n", "-f", str(path.resolve())]


def listening_port(line: str) -> int:
    """The port in ngircd's "Now listening on [127.0.0.1]:PORT (socket N)." line, or 0."""
    if LISTENING not in line or "]:" not in line:
        return 0
    return int(line.split("]:", 1)[1].split()[0].rstrip("."))


def ngircd_version() -> str:
    """What ``ngircd --version`` says first (the report's ``server_source``)."""
    binary = shutil.which("ngircd") or "/usr/sbin/ngircd"
    try:
        found = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=BANNER_TIMEOUT)
    except OSError:
        return MISSING
    return f"{binary}: {found.stdout.strip().splitlines()[0] if found.stdout.strip() else 'unknown'}"

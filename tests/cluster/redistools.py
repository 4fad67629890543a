"""A real ``redis-server`` for the cluster tests: on a free port, in a temporary directory of its
own, stopped at the end; ``restart()`` brings it back on the same port with the same data.

Redis cannot listen on port 0 and tell which port it got, so a port is picked by binding and
closing a socket, and a start that loses the port to someone else is retried on another.
Without redis-server the tests are skipped with a line saying how to get it, except under
CI=true, where that is a failure: a green CI must mean the cluster was tested.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from ..clitools import free_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
START_TIMEOUT = 5.0
HOW_TO_GET_IT = "redis-server is not installed: run `make system-packages` (Debian package redis-server)"


def redis_installed() -> bool:
    return os.access(REDIS_SERVER, os.X_OK)


def require_redis() -> None:
    """Skip the test without redis-server, or fail it under CI=true."""
    if redis_installed():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{HOW_TO_GET_IT} (CI=true: the cluster tests must run)", pytrace=False)
    pytest.skip(HOW_TO_GET_IT)


class RedisServer:
    """One redis-server child. ``appendonly``: every write is logged (fsync every second), so a
    restart keeps what was written, as the cluster's guarantees need (docs/operations.md)."""

    def __init__(self, appendonly: bool = True) -> None:
        self.dir = tempfile.mkdtemp(prefix="messenger-redis-")
        self.appendonly = appendonly
        self.proc: subprocess.Popen | None = None
        self.port = 0
        for _ in range(5):
            self.port = free_port()
            if self._start():
                return
        raise AssertionError(f"redis-server did not start; see {self.dir}/redis.log")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _start(self) -> bool:
        """Start on ``self.port``; False if it exited (the port was taken meanwhile)."""
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir]
        args += ["--save", "", "--logfile", "redis.log", "--daemonize", "no"]
        args += ["--appendonly", "yes" if self.appendonly else "no", "--appendfsync", "always"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        return True
            except OSError:
                time.sleep(0.02)  # polling a port being opened: nothing to wait on instead
        self.proc.kill()
        return False

    def stop(self) -> None:
        """Stop at once (SIGKILL: what was not yet in the append-only file is lost)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=START_TIMEOUT)

    def restart(self) -> None:
        """Stop and start again on the same port with the same data directory."""
        self.stop()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._start():
            assert time.monotonic() < deadline, "redis-server did not restart on its port"

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

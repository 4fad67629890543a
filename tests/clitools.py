"""Helpers for tests that run the ``messenger`` command as a child process: its environment,
a drained output stream to wait on, a ``messenger serve`` child, library clients."""

from __future__ import annotations

import atexit
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import IO

import pexpect

from messenger.client import Client
from messenger.protocol import Joined, Left, Message

MESSENGER = (sys.executable, "-m", "messenger")
RUN_TIMEOUT = 15.0  # a whole short CLI run, interpreter start-up included
WAIT = 5.0  # one expected event (a line, a frame)
ESCAPE = "\x1b["
BANNER = re.compile(r"^Server is running on 127\.0\.0\.1:(\d+)$")


# Variables that change how the CLI behaves; PYTHONUNBUFFERED would hide a missing flush.
ENV_NOISE = (
    "NO_COLOR",
    "FORCE_COLOR",
    "TTY_COMPATIBLE",
    "TTY_INTERACTIVE",
    "COLUMNS",
    "LINES",
    "PYTHONUNBUFFERED",
)


DATA_HOME = tempfile.mkdtemp(prefix="messenger-tests-")
atexit.register(shutil.rmtree, DATA_HOME, ignore_errors=True)


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of the tests, without anything that would change how the CLI behaves
    (MESSENGER_* defaults, forced colours) and with a wide terminal so help text never wraps
    an option name."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("MESSENGER_") and key not in ENV_NOISE
    }
    env["COLUMNS"] = "200"
    # A colour-capable terminal type: output must still be plain because stdout is a pipe.
    env["TERM"] = "xterm-256color"
    # Never the real ~/.local/share: a server started without --db keeps its history here.
    env["XDG_DATA_HOME"] = DATA_HOME
    # Servers in tests run side by side: the web page on any free port, never the default 8080.
    env["MESSENGER_WEB_PORT"] = "0"
    env.update(extra)
    return env


def run_cli(
    *args: str, input: str | None = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run ``messenger ARGS`` to completion with stdin piped from ``input``."""
    return subprocess.run(
        [*MESSENGER, *args],
        input=input,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env if env is not None else cli_env(),
        timeout=RUN_TIMEOUT,
    )


def start_cli(
    *args: str, stdin: int = subprocess.PIPE, env: dict[str, str] | None = None
) -> subprocess.Popen:
    """``messenger ARGS`` running in the background, its output piped as text (``env`` adds to
    the tests' environment)."""
    return subprocess.Popen(
        [*MESSENGER, *args],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env=cli_env(**(env or {})),
    )


def start_connect(port: int, user: str, *extra: str) -> subprocess.Popen:
    """``messenger connect`` with stdin a pipe that stays open until the test writes or closes it."""
    return start_cli("connect", "--port", str(port), "--user", user, *extra)


def finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    """Wait for ``proc`` to exit on its own (stdin still open), then collect its output."""
    try:
        status = proc.wait(timeout=WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()
        out, err = proc.communicate(timeout=WAIT)
    return status, out, err


def assert_one_error_line(stderr: str, *words: str) -> str:
    """stderr has no traceback and exactly one ``error:`` line, containing each of ``words``
    (other lines, such as "Connected to the server!", are progress notes and allowed)."""
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, f"expected one error line, got: {stderr!r}"
    [line] = errors
    for word in words:
        assert word.lower() in line.lower(), f"{word!r} not in {line!r}"
    return line


def free_port() -> int:
    """A port with nothing listening on it (bound once by the OS, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def messages_from(client: Client, sender: str, until: Callable[[Message], bool]) -> list[Message]:
    """Messages from ``sender`` that ``client`` receives, up to and including the first one
    matching ``until``; fails if the stream stalls for WAIT seconds."""
    seen: list[Message] = []
    while True:
        frame = client.receive(timeout=WAIT)
        if isinstance(frame, Message) and frame.sender == sender:
            seen.append(frame)
            if until(frame):
                return seen


def next_left(client: Client) -> Left:
    """The next ``left`` frame ``client`` receives."""
    while not isinstance(frame := client.receive(timeout=WAIT), Left):
        pass
    return frame


def wait_for_joined(client: Client, user: str) -> None:
    """Block until ``client`` sees ``user`` join."""
    while True:
        frame = client.receive(timeout=WAIT)
        if isinstance(frame, Joined) and frame.user == user:
            return


def login(port: int, user: str) -> Client:
    """A library client logged in as ``user``, its own join notice consumed."""
    client = Client.connect("127.0.0.1", port, timeout=WAIT)
    client.login(user)
    wait_for_joined(client, client.user or user)
    return client


# ------------------------------------------------------------------------------------------------
# Child processes
# ------------------------------------------------------------------------------------------------


class StreamLines:
    """Drains a child's text stream in a thread so the child never blocks on a full pipe, and
    lets a test wait for a given line."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._drain, args=(stream,), daemon=True)
        self._thread.start()

    def _drain(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def expect(self, predicate: Callable[[str], bool], timeout: float = WAIT) -> str:
        """The first new line matching ``predicate``; fails on EOF or after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = self._queue.get(timeout=max(0.0, remaining))
            except queue.Empty:
                raise AssertionError(f"no matching line in {timeout}s; got {self.lines[-5:]}") from None
            if line is None:
                raise AssertionError(f"stream ended without a matching line; got {self.lines[-5:]}")
            self.lines.append(line)
            if predicate(line):
                return line

    def rest(self, timeout: float = WAIT) -> str:
        """Everything up to EOF (call once the process has exited)."""
        self._thread.join(timeout)
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.lines.append(line)
        return "\n".join(self.lines)


class ServeProcess:
    """``messenger serve`` as a child process, with its banner read and its port parsed."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, memory_db: bool = True) -> None:
        if memory_db and not any(arg.startswith("--db") for arg in args):
            args = (*args, "--db", ":memory:")  # servers in tests share no history unless asked
        self.proc = start_cli("serve", *args, stdin=subprocess.DEVNULL, env=env)
        self.stdout = StreamLines(self.proc.stdout)  # type: ignore[arg-type]
        self.stderr = StreamLines(self.proc.stderr)  # type: ignore[arg-type]
        banner = self.stdout.expect(lambda line: True, timeout=RUN_TIMEOUT)
        match = BANNER.match(banner)
        assert match, f"first line is not the banner: {banner!r}"
        self.port = int(match.group(1))
        assert self.port != 0
        self.web_url: str | None = None  # "Web page: URL" comes next unless --no-web
        line = self.stdout.expect(lambda line: True)
        if line.startswith("Web page: "):
            self.web_url = line.removeprefix("Web page: ")
            line = self.stdout.expect(lambda line: True)
        self.irc: dict[str, int] = {}  # "IRC", "IRC over TLS": the port (--irc-port, --irc-tls-port)
        while line.startswith("IRC"):
            what, _, where = line.partition(": ")
            self.irc[what] = int(where.rsplit(":", 1)[1])
            line = self.stdout.expect(lambda line: True)
        assert line == "Waiting for connections..."

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=WAIT)


def spawn_in_terminal(*args: str) -> pexpect.spawn:
    """``messenger ARGS`` in a pseudo-terminal (a dumb one: plain lines, no colours)."""
    return pexpect.spawn(
        sys.executable,
        ["-m", "messenger", *args],
        env=cli_env(TERM="dumb", NO_COLOR="1"),
        encoding="utf-8",
        timeout=WAIT,
        dimensions=(24, 200),
    )

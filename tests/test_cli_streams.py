"""Every command with a standard stream closed, as a shell's `<&-`, `>&-`, `2>&-` close it: one
error line or a clean run, never a traceback.

Every wait is on an event (a line printed, a frame received, a process exiting) and has a
deadline; nothing sleeps.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from typing import Any

import pytest

from messenger.client import Client, ConnectError

from .clitools import (
    MESSENGER,
    RUN_TIMEOUT,
    WAIT,
    StreamLines,
    assert_one_error_line,
    cli_env,
    free_port,
    login,
    run_cli,
    wait_for_joined,
)

# ------------------------------------------------------------------------------------------------
# Closed standard streams: `<&-`, `>&-`, `2>&-` really close the descriptor (DEVNULL would not)
# ------------------------------------------------------------------------------------------------


def run_in_shell(script: str, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    """``bash -c SCRIPT`` where "$@" is ``python -m messenger ARGS``: the redirections in SCRIPT
    close descriptors as a shell user would."""
    return subprocess.run(
        ["bash", "-c", script, "bash", *MESSENGER, *args],
        input=input,
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=RUN_TIMEOUT,
    )


@pytest.mark.parametrize(
    ("script", "args", "status", "error"),
    [
        ('"$@" <&-', ("connect", "--user", "ann"), 1, "stdin is closed"),
        ('"$@" <&-', ("send", "--user", "ann"), 1, "nothing to send"),
        ('"$@" <&-', ("send", "--user", "ann", "hello"), 0, None),
        ('"$@" >&-', ("connect", "--user", "ann"), 1, "stdout is closed"),
        ('"$@" >&-', ("send", "--user", "ann", "hello"), 0, None),
        ('"$@" 2>&-', ("connect", "--user", "ann"), 0, None),
        ('"$@" 2>&-', ("send", "--user", "ann", "hello"), 0, None),
        ('"$@" <&-', ("users", "add", "ann", "--db", "DB"), 1, "password is empty"),
        ('"$@" >&-', ("users", "list", "--db", "DB"), 0, None),
        ('"$@" 2>&-', ("users", "list", "--db", "DB"), 0, None),
    ],
)
def test_closed_standard_streams_end_without_a_traceback(
    server: Any, tmp_path: Any, script: str, args: tuple[str, ...], status: int, error: str | None
) -> None:
    args = tuple(str(tmp_path / "h.db") if arg == "DB" else arg for arg in args)
    if args[:2] == ("users", "list"):
        assert run_cli("users", "add", "zed", "--db", str(tmp_path / "h.db"), input="pw\n").returncode == 0
    if args[0] != "users":
        args = (*args, "--port", str(server.port))
    result = run_in_shell(script, *args, input="hi\n")
    assert result.returncode == status, result.stderr
    if error is None:
        assert "Traceback" not in result.stderr and "error:" not in result.stderr, result.stderr
    else:
        assert_one_error_line(result.stderr, error)


def test_listen_works_with_stdin_closed(server: Any, clients: Callable[[int, str], Client]) -> None:
    alice = clients(server.port, "alice")
    proc = subprocess.Popen(
        [
            "bash",
            "-c",
            'exec "$@" <&-',
            "bash",
            *MESSENGER,
            "connect",
            "--listen",
            "--user",
            "ear",
            "--port",
            str(server.port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )
    out = StreamLines(proc.stdout)  # type: ignore[arg-type]
    try:
        wait_for_joined(alice, "ear")
        alice.say("for the listener")
        out.expect(lambda line: line == "alice: for the listener")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=WAIT) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in (proc.stderr.read() if proc.stderr else "")


def test_serve_runs_with_its_standard_streams_closed(tmp_path: Any) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            "bash",
            "-c",
            'exec "$@" <&- >&- 2>&-',
            "bash",
            *MESSENGER,
            "serve",
            "--port",
            str(port),
            "--db",
            ":memory:",
        ],
        env=cli_env(),
    )
    try:
        deadline = time.monotonic() + RUN_TIMEOUT
        while True:  # the banner cannot be read (stdout is closed): wait for the port to answer
            try:
                alice = login(port, "alice")
                break
            except ConnectError:
                assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
                time.sleep(0.05)
        alice.close()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=WAIT) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

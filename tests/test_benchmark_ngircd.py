"""The fan-out benchmark's IRC side (benchmarks/fanbench/irc.py, --server ngircd): what ends an IRC
login, how a client finds its own JOIN, and a tiny run against ngircd itself when it is
installed (``make bench-deps``).  Counts only, no timing assertions."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
FANOUT = BENCHMARKS / "fanout.py"
CLIENTS, SENDERS, MESSAGES = 6, 2, 20
RUN_TIMEOUT = 90

if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))

from fanbench.config import PROBE, RECEIVER, ClientSpec  # noqa: E402
from fanbench.irc import IrcClient, IrcParser, refusal  # noqa: E402


def test_a_refusal_is_read_from_the_command_field_only() -> None:
    assert refusal(b":bench.invalid 433 * c1 :Nickname already in use\r")
    assert refusal(b"ERROR :Closing connection\r")
    assert not refusal(b":bench.invalid 251 c433 :There are 433 users and 0 services on 1 servers\r")
    assert not refusal(b":bench.invalid 250 c1 :Highest connection count: 432 (432 connections received)\r")


def test_a_client_is_logged_in_by_its_own_join_split_anywhere_and_counts_what_follows() -> None:
    stream = (
        b":bench.invalid 001 c3 :Welcome\r\n:c1!~c1@127.0.0.1 JOIN :#lobby\r\n"
        b":c3!~c3@127.0.0.1 JOIN :#lobby\r\n:bench.invalid 353 c3 = #lobby :c3 c1\r\n"
        b":c1!~c1@127.0.0.1 PRIVMSG #lobby :m 5 1 0 xx\r\n:c1!~c1@127.0.0.1 PRIVMSG #lobby :m 6 1 1 x"
    )
    for cut in range(1, len(stream)):
        for kind, role in ((IrcClient, RECEIVER), (IrcParser, PROBE)):
            client = kind(ClientSpec(index=3, role=role), port=0, owed=2)
            client.sock, server = socket.socketpair()
            try:
                server.sendall(stream[:cut])
                client.read_login()
                server.sendall(stream[cut:] + b"\r\n")
                server.close()
                for _ in range(4):  # two chunks at most: a bound, not a retry
                    if client.logged_in:
                        break
                    client.read_login()
                while client.delivered < 2:
                    client.receive()  # ConnectionResetError once the stream ends short
            finally:
                client.close()
                server.close()
            assert client.logged_in and client.delivered == 2, (cut, kind)


def run_fanout(*args: str) -> dict[str, Any]:
    command = [sys.executable, str(FANOUT), "--repeat", "1", "--timeout", "60", "--json", "-", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert done.returncode == 0, f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return json.loads(done.stdout)


@pytest.mark.timeout(RUN_TIMEOUT + 10)
def test_fanout_against_ngircd_counts_every_delivery() -> None:
    if shutil.which("ngircd") is None and not Path("/usr/sbin/ngircd").exists():
        if os.environ.get("CI") == "true":
            pytest.fail(
                "ngircd is missing (CI=true): make test installs it (tools/ensure-system-packages)",
                pytrace=False,
            )
        pytest.skip("ngircd is not installed: run make bench-deps (or make test) to install it")
    args = ("--clients", str(CLIENTS), "--senders", str(SENDERS), "--messages", str(MESSAGES))
    report = run_fanout("--server", "messenger,ngircd", *args)
    runs = {run["server"]: run for run in report["runs"]}
    assert set(runs) == {"messenger", "ngircd"}
    irc = runs["ngircd"]
    assert irc["error"] is None
    assert irc["transport"] == "irc"
    assert irc["deliveries"] == irc["expected"] == SENDERS * MESSAGES * (CLIENTS - 1)
    assert (irc["lost"], irc["order_errors"], irc["disconnected"]) == (0, 0, 0)
    assert (irc["echoes"], irc["expected_echoes"]) == (0, 0)  # IRC sends nobody their own message
    assert irc["complete_clients"] == CLIENTS
    assert "deliveries_per_s" in report["ratio_messenger_over_ngircd"]

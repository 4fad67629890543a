"""Password guessing: attempts are counted before they are checked, the checks the whole server
runs at once (and the memory they take) are bounded, and a refusal does not tell by its time,
words or counting whether a name exists."""

from __future__ import annotations

import json
import socket
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from messenger.server.limits import FAILED_LOGIN_BURST

from .clitools import WAIT, ServeProcess, run_cli
from .conftest import RawClient, ServerThread, stored_server

PASSWORD = "correct horse battery staple"
MiB = 1024 * 1024


@pytest.fixture
def accounts_server(tmp_path: Path) -> Iterator[Callable[..., ServerThread]]:
    started: list[ServerThread] = []

    def start(**config: Any) -> ServerThread:
        server = stored_server(tmp_path / "chat.db", **config)
        server.accounts.add("alice", PASSWORD)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def hello_from(port: int, source: str, user: str, password: str | None) -> socket.socket:
    """A connection from loopback address ``source`` that has sent its ``hello``."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT, source_address=(source, 0))
    hello: dict[str, Any] = {"type": "hello", "user": user}
    if password is not None:
        hello["password"] = password
    sock.sendall(json.dumps(hello).encode() + b"\n")
    return sock


def first_frame(sock: socket.socket, timeout: float = 3 * WAIT) -> dict[str, Any]:
    sock.settimeout(timeout)
    with sock, sock.makefile("rb") as lines:
        return json.loads(lines.readline())


def codes(socks: list[socket.socket]) -> dict[str, int]:
    counted: dict[str, int] = {}
    for sock in socks:
        frame = first_frame(sock)
        code = frame.get("code", frame["type"])
        counted[code] = counted.get(code, 0) + 1
    return counted


def test_simultaneous_guesses_from_one_address_get_only_the_limit_checked(
    accounts_server: Callable[..., ServerThread],
) -> None:
    """40 wrong passwords sent at the same moment: only the limit's worth are checked (answered
    bad_password), the rest are refused unchecked (rate_limited)."""
    server = accounts_server()
    socks = [hello_from(server.port, "127.0.0.1", "alice", f"guess {n}") for n in range(40)]
    counted = codes(socks)
    assert sum(counted.values()) == 40 and set(counted) <= {"bad_password", "rate_limited"}, counted
    assert 1 <= counted.get("bad_password", 0) <= FAILED_LOGIN_BURST, counted


def test_a_right_password_gives_its_attempt_back(accounts_server: Callable[..., ServerThread]) -> None:
    server = accounts_server()
    for _ in range(FAILED_LOGIN_BURST + 2):
        assert first_frame(hello_from(server.port, "127.0.0.2", "alice", PASSWORD))["type"] == "welcome"
    wrong = [
        first_frame(hello_from(server.port, "127.0.0.2", "alice", "guess")) for _ in range(FAILED_LOGIN_BURST)
    ]
    assert [frame["code"] for frame in wrong] == ["bad_password"] * FAILED_LOGIN_BURST


def peak_memory(pid: int) -> int:
    """The process's peak resident memory so far (VmHWM), in bytes."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc")


def test_a_storm_of_logins_from_many_addresses_adds_at_most_64_mib(serve: Any, tmp_path: Path) -> None:
    """48 wrong passwords at once from 12 addresses (each within its own limit): each password
    check holds 16 MiB, yet the server grows by at most 64 MiB.  Every login is answered."""
    db = str(tmp_path / "chat.db")
    assert run_cli("users", "add", "alice", "--db", db, input=PASSWORD + "\n").returncode == 0
    server: ServeProcess = serve("--port", "0", "--db", db)
    warm = hello_from(server.port, "127.0.0.1", "alice", PASSWORD)  # one check done before measuring
    assert first_frame(warm)["type"] == "welcome"
    before = peak_memory(server.proc.pid)
    sources = [f"127.0.0.{2 + n // 4}" for n in range(48)]
    counted = codes([hello_from(server.port, source, "alice", "guess") for source in sources])
    grown = peak_memory(server.proc.pid) - before
    assert sum(counted.values()) == 48 and set(counted) <= {"bad_password", "rate_limited"}, counted
    assert grown <= 64 * MiB, f"the server grew by {grown / MiB:.0f} MiB"


def refusal_time(port: int, source: str, user: str) -> float:
    """Seconds from a wrong login's hello to its refusal."""
    sock = hello_from(port, source, user, "not the password")
    start = time.monotonic()
    assert first_frame(sock)["code"] == "bad_password"
    return time.monotonic() - start


def test_an_unknown_name_takes_as_long_to_refuse_as_a_wrong_password(
    accounts_server: Callable[..., ServerThread],
) -> None:
    """Under --auth required the refusal of an unknown name used to take ~2 ms and that of a
    wrong password ~60 ms: the medians of a few tries each now stay within a factor of 3."""
    server = accounts_server(auth="required")
    unknown, known = [], []
    for n in range(5):  # alternated, each from an address of its own (no rate limit in the way)
        unknown.append(refusal_time(server.port, f"127.0.1.{n + 1}", "mallory"))
        known.append(refusal_time(server.port, f"127.0.2.{n + 1}", "alice"))
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 1 / 3 < ratio < 3, (unknown, known)


def text_answer(port: int, *lines: str) -> list[str]:
    """What a text-mode client gets for ``lines``, up to its last answer (a ping)."""
    client = RawClient(port)
    try:
        client.send("".join(f"{line}\n" for line in lines))
        return [client.line() for _ in lines]
    finally:
        client.close()


def test_auth_required_answers_alike_whether_a_name_exists_or_not(
    accounts_server: Callable[..., ServerThread],
) -> None:
    """The words, the codes and the counting are the same for an unknown name and a registered
    one: with no password (which is not counted), and with a wrong one (which is)."""
    server = accounts_server(auth="required")
    answers = {}
    for user, source in (("mallory", "127.0.3.1"), ("alice", "127.0.3.2")):
        no_password = first_frame(hello_from(server.port, source, user, None))
        wrong = [
            first_frame(hello_from(server.port, source, user, "guess")) for _ in range(FAILED_LOGIN_BURST + 1)
        ]
        answers[user] = (no_password, [(f["code"], f["message"]) for f in wrong])
    assert answers["mallory"] == answers["alice"]
    no_password, wrong = answers["alice"]
    assert (no_password["code"], no_password["message"]) == (
        "password_required",
        "this server needs an account: log in with your password",
    )
    assert [code for code, _ in wrong] == ["bad_password"] * FAILED_LOGIN_BURST + ["rate_limited"]
    assert text_answer(server.port, "mallory") == text_answer(server.port, "alice")

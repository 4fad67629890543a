"""Message history through ``messenger serve`` and ``connect``: damaged and shared databases
refused with one line, the default data directory, replay shown or not, retention at start.

Every test uses a real SQLite file in a temporary directory and real servers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from messenger.client import Client
from messenger.protocol import Message

from .clitools import WAIT, ServeProcess, assert_one_error_line, run_cli
from .historytools import log_in, say_and_wait

# ------------------------------------------------------------------------------------------------
# messenger serve and connect
# ------------------------------------------------------------------------------------------------


def test_serve_refuses_a_damaged_database_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    path.write_bytes(b"\x00garbage" * 1000)
    result = run_cli("serve", "--port", "0", "--db", str(path), input=None)
    assert result.returncode == 1
    assert_one_error_line(result.stderr, "damaged", str(path))
    assert path.read_bytes() == b"\x00garbage" * 1000


def test_serve_refuses_a_database_another_server_uses(
    serve: Callable[..., ServeProcess], tmp_path: Path
) -> None:
    db = str(tmp_path / "history.db")
    serve("--port", "0", "--db", db)
    result = run_cli("serve", "--port", "0", "--db", db, input=None)
    assert result.returncode == 1
    assert_one_error_line(result.stderr, "in use by another messenger server")


def test_serve_keeps_history_in_the_data_directory_by_default(tmp_path: Path) -> None:
    server = ServeProcess("--port", "0", env={"XDG_DATA_HOME": str(tmp_path)}, memory_db=False)
    try:
        with Client.connect("127.0.0.1", server.port, timeout=WAIT) as alice:
            alice.login("alice")
            say_and_wait(alice, "kept")
    finally:
        server.stop()
    assert (tmp_path / "messenger" / "history.db").exists()


def test_connect_shows_history_and_can_opt_out(serve: Callable[..., ServeProcess], tmp_path: Path) -> None:
    server = serve("--port", "0", "--db", str(tmp_path / "h.db"))
    with Client.connect("127.0.0.1", server.port, timeout=WAIT) as alice:
        alice.login("alice")
        say_and_wait(alice, "earlier")
    port = str(server.port)
    listen = run_cli("connect", "--port", port, "--user", "bot", "--history", "5", input="/quit\n")
    assert "[history] alice: earlier" in listen.stdout.splitlines()
    quiet = run_cli("connect", "--port", port, "--user", "bot", input="/quit\n")
    assert "earlier" not in quiet.stdout  # piped: no replay unless asked for
    opted_out = run_cli(
        "connect", "--port", port, "--user", "bot", "--no-history", "--history", "5", input=""
    )
    assert "earlier" not in opted_out.stdout


def test_serve_applies_retention_at_start(serve: Callable[..., ServeProcess], tmp_path: Path) -> None:
    db = str(tmp_path / "history.db")
    first = serve("--port", "0", "--db", db)
    with Client.connect("127.0.0.1", first.port, timeout=WAIT) as alice:
        alice.login("alice", history=0)
        sent = say_and_wait(alice, *[f"m{n}" for n in range(5)])
    first.proc.terminate()
    first.proc.wait(WAIT)
    second = serve("--port", "0", "--db", db, "--retain-messages", "2")
    _, received = log_in(second.port, "bob")
    assert [m.text for m in received if isinstance(m, Message)] == ["m3", "m4"]
    with Client.connect("127.0.0.1", second.port, timeout=WAIT) as carol:
        carol.login("carol", history=0)
        [new] = say_and_wait(carol, "after")
        assert new.id == sent[-1].id + 1

"""Accounts on the command line: ``users add``, ``passwd``, ``remove`` and ``list``, and
``connect`` and ``send`` with a password (from a file, the environment or a prompt without echo)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pexpect

from messenger.core.accounts import Accounts
from messenger.protocol import Joined

from .accountstools import PASSWORD, connect
from .clitools import RUN_TIMEOUT, WAIT, assert_one_error_line, cli_env, run_cli, spawn_in_terminal, start_cli

# ------------------------------------------------------------------------------------------------
# The command line
# ------------------------------------------------------------------------------------------------


def registered(db: str, name: str = "alice") -> None:
    """Register ``name`` directly in ``db`` (what ``users add`` does, without a process)."""
    accounts = Accounts(db)
    try:
        accounts.add(name, PASSWORD)
    finally:
        accounts.close()


def test_users_add_refuses_a_taken_name_and_an_empty_password(tmp_path: Path) -> None:
    db = str(tmp_path / "chat.db")
    assert run_cli("users", "add", "alice", "--db", db, input=PASSWORD + "\n").stdout == "registered alice\n"
    again = run_cli("users", "add", "ALICE", "--db", db, input="x\n")
    assert again.returncode == 1
    assert_one_error_line(again.stderr, "already registered")
    empty = run_cli("users", "add", "bob", "--db", db, input="\n")
    assert empty.returncode == 1
    assert_one_error_line(empty.stderr, "empty")


def test_users_passwd_and_list(tmp_path: Path) -> None:
    db = str(tmp_path / "chat.db")
    registered(db)
    assert run_cli("users", "passwd", "alice", "--db", db, input="new\n").returncode == 0
    assert run_cli("users", "list", "--db", db).stdout.startswith("alice\t")
    missing = run_cli("users", "passwd", "nobody", "--db", db, input="x\n")
    assert missing.returncode == 1
    assert_one_error_line(missing.stderr, "not registered")
    accounts = Accounts(db)
    try:
        assert accounts.verify("alice", "new") and not accounts.verify("alice", PASSWORD)
    finally:
        accounts.close()


def test_users_remove(tmp_path: Path) -> None:
    db = str(tmp_path / "chat.db")
    registered(db)
    assert run_cli("users", "remove", "alice", "--db", db).returncode == 0
    assert run_cli("users", "list", "--db", db).stdout == ""
    accounts = Accounts(db)
    try:
        assert accounts.all() == []
    finally:
        accounts.close()


def test_connect_with_a_password(serve: Any, tmp_path: Path) -> None:
    db = str(tmp_path / "chat.db")
    run_cli("users", "add", "alice", "--db", db, input=PASSWORD + "\n")
    server = serve("--port", "0", "--db", db)
    port = str(server.port)
    missing = run_cli("connect", "--port", port, "--user", "alice", input="hi\n")
    assert missing.returncode == 1
    assert_one_error_line(missing.stderr, "registered", "MESSENGER_PASSWORD")
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD + "\n")
    result = run_cli(
        "connect", "--port", port, "--user", "alice", "--password-file", str(password_file), input="hi\n"
    )
    assert result.returncode == 0, result.stderr
    assert "alice: hi" in result.stdout.splitlines()
    env = cli_env(MESSENGER_PASSWORD=PASSWORD)
    result = run_cli("send", "--port", port, "--user", "alice", "from send", input=None, env=env)
    assert result.returncode == 0, result.stderr


def test_connect_asks_for_the_password_without_echo(serve: Any, tmp_path: Path) -> None:
    db = str(tmp_path / "chat.db")
    run_cli("users", "add", "alice", "--db", db, input=PASSWORD + "\n")
    server = serve("--port", "0", "--db", db)
    child = spawn_in_terminal("connect", "--port", str(server.port), "--user", "alice")
    try:
        child.expect_exact("Password for alice: ", timeout=RUN_TIMEOUT)
        child.sendline(PASSWORD)
        child.expect_exact("alice has joined the chat!")
        assert PASSWORD not in (child.before or "")  # not echoed
        child.sendline("/quit")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0
    finally:
        if child.isalive():
            child.terminate(force=True)


def test_connect_ends_when_replaced(serve: Any, tmp_path: Path) -> None:
    db = str(tmp_path / "chat.db")
    run_cli("users", "add", "alice", "--db", db, input=PASSWORD + "\n")
    server = serve("--port", "0", "--db", db)
    proc = start_cli(
        "connect", "--port", str(server.port), "--user", "alice", env={"MESSENGER_PASSWORD": PASSWORD}
    )
    try:
        with connect(server.port) as watcher:
            watcher.login("watcher")
            while not isinstance(frame := watcher.receive(timeout=WAIT), Joined) or frame.user != "alice":
                pass
            with connect(server.port) as elsewhere:
                elsewhere.login("alice", password=PASSWORD)
                assert proc.wait(timeout=WAIT) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
    err = proc.stderr.read() if proc.stderr else ""
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert errors[-1] == "error: this session was closed: alice logged in from elsewhere; goodbye", err


def test_users_add_on_a_terminal_asks_twice_without_echo(tmp_path: Path) -> None:
    db = str(tmp_path / "chat.db")
    for second, expected in ((PASSWORD, "registered alice"), ("typo", "the two passwords differ")):
        child = spawn_in_terminal("users", "add", "alice", "--db", db)
        try:
            child.expect_exact("New password for alice: ", timeout=RUN_TIMEOUT)
            child.sendline(PASSWORD)
            child.expect_exact("Again: ")
            child.sendline(second)
            child.expect_exact(expected)
            child.expect(pexpect.EOF)
            assert PASSWORD not in (child.before or "") + (
                child.after if isinstance(child.after, str) else ""
            )
        finally:
            child.close()
        if second == PASSWORD:
            assert child.exitstatus == 0
            db_file = tmp_path / "chat.db"
            db_file.rename(tmp_path / "kept.db")  # the second round starts from nothing
        else:
            assert child.exitstatus == 1
    accounts = Accounts(tmp_path / "kept.db")
    try:
        assert accounts.verify("alice", PASSWORD)
    finally:
        accounts.close()

"""``messenger users`` for roles and the audit trail, as a real child process on a real file."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from messenger.core.accounts import Accounts
from messenger.core.moderation import Moderation
from messenger.core.roles import Role

from .clitools import assert_one_error_line, run_cli

PASSWORD = "correct horse"
WHEN = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


def roles_in(db: str) -> dict[str, Role]:
    accounts = Accounts(db)
    try:
        return {account.name: account.role for account in accounts.all()}
    finally:
        accounts.close()


def test_users_add_with_a_role_and_users_list_shows_it(tmp_path: Path) -> None:
    db = str(tmp_path / "chat.db")
    added = run_cli("users", "add", "Root", "--role", "admin", "--db", db, input=PASSWORD + "\n")
    assert (added.returncode, added.stdout) == (0, "registered Root as admin\n"), added.stderr
    assert run_cli("users", "add", "carol", "--db", db, input=PASSWORD + "\n").stdout == "registered carol\n"
    assert run_cli("users", "add", "mod", "--role", "op", "--db", db, input=PASSWORD + "\n").returncode == 0
    listed = run_cli("users", "list", "--db", db).stdout.splitlines()
    assert [line.split("\t")[::2] for line in listed] == [["carol", "user"], ["mod", "op"], ["Root", "admin"]]
    assert all(re.fullmatch(WHEN, line.split("\t")[1]) for line in listed)
    assert roles_in(db) == {"carol": Role.USER, "mod": Role.OP, "Root": Role.ADMIN}
    bad = run_cli("users", "add", "dave", "--role", "god", "--db", db, input=PASSWORD + "\n")
    assert bad.returncode == 2 and "use user, op or admin" in bad.stderr and "Traceback" not in bad.stderr
    assert "dave" not in roles_in(db)


def test_users_role_changes_a_role_and_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    db = str(tmp_path / "chat.db")
    run_cli("users", "add", "alice", "--db", db, input=PASSWORD + "\n")
    promoted = run_cli("users", "role", "ALICE", "op", "--db", db)
    assert (promoted.returncode, promoted.stdout) == (0, "alice is now op (was user)\n"), promoted.stderr
    assert run_cli("users", "role", "alice", "op", "--db", db).stdout == "alice is already op\n"
    assert run_cli("users", "role", "alice", "admin", "--db", db).returncode == 0
    assert roles_in(db) == {"alice": Role.ADMIN}
    missing = run_cli("users", "role", "nobody", "op", "--db", db)
    assert missing.returncode == 1
    assert_one_error_line(missing.stderr, "nobody", "not registered")
    junk = run_cli("users", "role", "alice", "king", "--db", db)
    assert junk.returncode == 2 and "use user, op or admin" in junk.stderr
    assert roles_in(db) == {"alice": Role.ADMIN}
    nowhere = run_cli("users", "role", "alice", "op", "--db", str(tmp_path / "none.db"))
    assert_one_error_line(nowhere.stderr, "no such file")
    assert not (tmp_path / "none.db").exists()


def test_users_audit_prints_the_trail_role_changes_included(tmp_path: Path) -> None:
    db = str(tmp_path / "chat.db")
    run_cli("users", "add", "root", "--role", "admin", "--db", db, input=PASSWORD + "\n")
    run_cli("users", "add", "alice", "--db", db, input=PASSWORD + "\n")
    run_cli("users", "role", "alice", "op", "--db", db)
    mod = Moderation(db)  # what the server will record
    mod.audit.record("alice", "ban", "10.0.0.0/24", "flood\tof\x1b[31mjoins\n", duration=7200)
    mod.audit.record("root", "kick", "eve")
    mod.close()
    lines = run_cli("users", "audit", "--db", db).stdout.splitlines()
    fields = [line.split("\t") for line in lines]
    assert all(len(row) == 6 and re.fullmatch(WHEN, row[0]) for row in fields), lines
    assert [row[2:4] for row in fields] == [
        ["role", "root"],
        ["role", "alice"],
        ["ban", "10.0.0.0/24"],
        ["kick", "eve"],
    ]
    assert fields[0][1].startswith("cli:") and fields[0][5] == "registered as admin"
    assert fields[1][5] == "user -> op"
    assert fields[2][1:] == ["alice", "ban", "10.0.0.0/24", "2h", "flood of[31mjoins"]  # no escape, no tab
    assert fields[3][4:] == ["-", "-"]
    assert run_cli("users", "audit", "--limit", "1", "--db", db).stdout.split("\t")[2:4] == ["kick", "eve"]
    bad = run_cli("users", "audit", "--limit", "0", "--db", db)
    assert bad.returncode == 2 and "--limit" in bad.stderr


def test_users_commands_on_a_database_from_before_roles(tmp_path: Path) -> None:
    """A file an older version wrote (no role column, no audit table): listing and auditing work,
    everyone is a user, and the role can be given."""
    db = str(tmp_path / "old.db")
    old = sqlite3.connect(db)
    old.executescript(
        "CREATE TABLE accounts (key TEXT PRIMARY KEY, name TEXT NOT NULL, salt BLOB NOT NULL, hash BLOB "
        "NOT NULL, n INTEGER NOT NULL, r INTEGER NOT NULL, p INTEGER NOT NULL, created TEXT NOT NULL);"
        "INSERT INTO accounts VALUES ('bob', 'bob', x'00', x'00', 16384, 8, 1, '2024-01-01T00:00:00Z');"
    )
    old.commit()
    old.close()
    assert run_cli("users", "list", "--db", db).stdout == "bob\t2024-01-01T00:00:00Z\tuser\n"
    assert run_cli("users", "audit", "--db", db).stdout == ""
    assert run_cli("users", "role", "bob", "op", "--db", db).returncode == 0
    assert run_cli("users", "list", "--db", db).stdout == "bob\t2024-01-01T00:00:00Z\top\n"

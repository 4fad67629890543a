"""``messenger users add|passwd|remove|list|role|audit``: registered names and their roles in a
server's database, changed directly in its SQLite file (a running server sees a password at the
next login, a role at the next operator's request), and the audit trail of moderation."""

from __future__ import annotations

import contextlib
import getpass
import os
import sqlite3
from collections.abc import Iterator
from typing import Annotated

import typer

from ..core.accounts import AccountError, Accounts, check_password_text
from ..core.audit import AuditTrail
from ..core.durations import format_remaining
from ..core.moddb import ModerationDb, ModerationError
from ..core.roles import ROLES, Role
from ..core.store import default_db_path
from ..protocol import for_terminal
from .env import Environment, ask_password, environment, fail
from .options import HelpOption, choice, int_option
from .users_redis import UsersRedisOption, import_accounts, open_redis_accounts

users_app = typer.Typer(
    help="Manage registered names (accounts) in a server's database. Changes apply to the next "
    "login, also while the server runs.",
    no_args_is_help=True,
)


@users_app.callback()
def users_root(_help: HelpOption = False) -> None:
    """Manage registered names (accounts) in a server's database."""


DbOption = Annotated[
    str | None,
    typer.Option(
        metavar="FILE",
        envvar="MESSENGER_DB",
        help="The server's database. Default: ~/.local/share/messenger/history.db "
        "(under $XDG_DATA_HOME if set).",
        show_default=False,
    ),
]
NameArgument = Annotated[str, typer.Argument(help="The registered name.")]
_ROLE_HELP = "user, op (an operator: kicks, bans, mutes) or admin (an operator who also grants roles)."
RoleOption = Annotated[
    str, typer.Option(metavar="ROLE", callback=choice(*ROLES), help=f"The account's role: {_ROLE_HELP}")
]
RoleArgument = Annotated[
    str, typer.Argument(metavar="ROLE", callback=choice(*ROLES), help=f"The new role: {_ROLE_HELP}")
]


def open_accounts(db: str | None, create: bool = False, redis: str | None = None) -> Accounts:
    """The accounts of the server's database; only ``users add`` may create the file.  With
    ``redis``: the cluster's, kept in that Redis (users_redis.py)."""
    if redis is not None:
        return open_redis_accounts(redis)  # type: ignore[return-value]  (the same interface)
    path = db if db is not None else str(default_db_path())
    if path == ":memory:":
        raise fail("accounts in ':memory:' would be gone at once; give the server's --db file")
    if not create and not os.path.exists(path):
        raise fail(f"cannot open the accounts in {path}: no such file (is --db the server's database?)")
    try:
        return Accounts(path)
    except (sqlite3.Error, OSError) as exc:
        raise fail(f"cannot open the accounts in {path}: {exc}") from None


@contextlib.contextmanager
def changing(accounts: Accounts) -> Iterator[None]:
    """A refused change (AccountError) or a database that cannot be written: one error line."""
    try:
        yield
    except AccountError as exc:
        raise fail(str(exc)) from None
    except sqlite3.Error as exc:
        raise fail(f"cannot change the accounts in {accounts.path}: {exc}") from None


def read_new_password(env: Environment, name: str) -> str:
    """A new password: typed twice without echo on a terminal (an empty one is asked again), or
    one line of stdin."""
    if env.isatty(env.stdin):
        first = ask_password(env, f"New password for {name}: ")
        if ask_password(env, "Again: ", again=False) != first:
            raise fail("the two passwords differ; nothing was changed")
        password = first
    else:
        password = env.stdin.readline().rstrip("\r\n") if env.stdin is not None else ""
    try:
        check_password_text(password)
    except AccountError as exc:
        raise fail(f"{exc}; nothing was changed") from None
    return password


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    name: NameArgument,
    role: RoleOption = "user",
    db: DbOption = None,
    redis: UsersRedisOption = None,
    _help: HelpOption = False,
) -> None:
    """Register NAME; the password is read without echo (or as one line of stdin)."""
    accounts = open_accounts(db, create=True, redis=redis)
    with changing(accounts):
        account = accounts.add(name, read_new_password(environment(ctx), name), Role(role))
    if account.role is Role.USER:
        typer.echo(f"registered {account.name}")
        return
    typer.echo(f"registered {account.name} as {account.role}")
    if redis is None:
        audit(accounts.path, "role", account.name, f"registered as {account.role}")


@users_app.command("passwd")
def users_passwd(
    ctx: typer.Context,
    name: NameArgument,
    db: DbOption = None,
    redis: UsersRedisOption = None,
    _help: HelpOption = False,
) -> None:
    """Change the password of NAME."""
    accounts = open_accounts(db, redis=redis)
    with changing(accounts):
        if accounts.lookup(name) is None:
            raise fail(f"{name} is not registered")
        accounts.set_password(name, read_new_password(environment(ctx), name))
    typer.echo(f"password of {name} changed")


@users_app.command("remove")
def users_remove(
    name: NameArgument, db: DbOption = None, redis: UsersRedisOption = None, _help: HelpOption = False
) -> None:
    """Delete the account NAME (the name is free for anyone afterwards)."""
    accounts = open_accounts(db, redis=redis)
    with changing(accounts):
        accounts.remove(name)
    typer.echo(f"removed {name}")


@users_app.command("list")
def users_list(db: DbOption = None, redis: UsersRedisOption = None, _help: HelpOption = False) -> None:
    """List registered names, with when each was registered and its role."""
    accounts = open_accounts(db, redis=redis)
    with changing(accounts):
        found = accounts.all()
    for account in found:
        typer.echo(f"{account.name}\t{account.created}\t{account.role}")


@users_app.command("role")
def users_role(
    name: NameArgument,
    role: RoleArgument,
    db: DbOption = None,
    redis: UsersRedisOption = None,
    _help: HelpOption = False,
) -> None:
    """Give NAME the role ROLE (user, op or admin); a running server applies it at once."""
    accounts = open_accounts(db, redis=redis)
    with changing(accounts):
        before = accounts.lookup(name)
    if before is None:
        raise fail(f"{name} is not registered")
    if before.role is Role(role):
        typer.echo(f"{before.name} is already {role}")
        return
    with changing(accounts):
        after = accounts.set_role(name, Role(role))
    typer.echo(f"{after.name} is now {after.role} (was {before.role})")
    if redis is None:
        audit(accounts.path, "role", after.name, f"{before.role} -> {after.role}")


@users_app.command("import")
def users_import(redis: UsersRedisOption = None, db: DbOption = None, _help: HelpOption = False) -> None:
    """Share the accounts of a server's database (--db) with the cluster at --redis: each name
    the cluster does not hold yet, with its password and role."""
    if redis is None:
        raise fail("users import needs --redis URL: the cluster to share the accounts with")
    local = open_accounts(db)
    shared = open_redis_accounts(redis)
    with changing(shared):
        imported, skipped = import_accounts(local, shared)
    local.close()
    for name in skipped:
        typer.echo(f"skipped {name}: the cluster holds that name already")
    typer.echo(f"imported {len(imported)} account(s)")


@users_app.command("audit")
def users_audit(
    limit: Annotated[int, int_option(1, 10_000, help="How many of the latest actions to show.")] = 20,
    db: DbOption = None,
    _help: HelpOption = False,
) -> None:
    """Show the latest moderation actions, oldest first: when (UTC), who, what, whom, for how
    long and why, separated by tabs."""
    path = open_accounts(db).path  # the same checks: an existing database file
    try:
        entries = AuditTrail(ModerationDb(path)).recent(limit)
    except sqlite3.Error as exc:
        raise fail(f"cannot read the audit trail in {path}: {exc}") from None
    for entry in entries:
        duration = "-" if entry.duration is None else format_remaining(entry.duration)
        fields = (entry.when(), entry.actor, entry.action, entry.target, duration, entry.reason or "-")
        typer.echo("\t".join(for_terminal(field).replace("\t", " ") for field in fields))


def audit(path: str, action: str, target: str, reason: str) -> None:
    """Keep a change made here in the audit trail, with the local user as its author."""
    try:
        actor = f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no user name in the environment or the password database
        actor = f"cli:{os.getuid()}"
    try:
        AuditTrail(ModerationDb(path)).record(actor, action, target, reason)
    except (ModerationError, sqlite3.Error) as exc:
        raise fail(f"the change was made but not kept in the audit trail: {exc}") from None

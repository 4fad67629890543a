"""``messenger users add|passwd|remove|list``: registered names in a server's database, changed
directly in its SQLite file (a running server sees the change at the next login)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from typing import Annotated

import typer

from ..core.accounts import AccountError, Accounts, check_password_text
from ..core.store import default_db_path
from .env import Environment, ask_password, environment, fail
from .options import HelpOption

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


def open_accounts(db: str | None, create: bool = False) -> Accounts:
    """The accounts of the server's database; only ``users add`` may create the file."""
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
def users_add(ctx: typer.Context, name: NameArgument, db: DbOption = None, _help: HelpOption = False) -> None:
    """Register NAME; the password is read without echo (or as one line of stdin)."""
    accounts = open_accounts(db, create=True)
    with changing(accounts):
        account = accounts.add(name, read_new_password(environment(ctx), name))
    typer.echo(f"registered {account.name}")


@users_app.command("passwd")
def users_passwd(
    ctx: typer.Context, name: NameArgument, db: DbOption = None, _help: HelpOption = False
) -> None:
    """Change the password of NAME."""
    accounts = open_accounts(db)
    if accounts.lookup(name) is None:
        raise fail(f"{name} is not registered")
    with changing(accounts):
        accounts.set_password(name, read_new_password(environment(ctx), name))
    typer.echo(f"password of {name} changed")


@users_app.command("remove")
def users_remove(name: NameArgument, db: DbOption = None, _help: HelpOption = False) -> None:
    """Delete the account NAME (the name is free for anyone afterwards)."""
    accounts = open_accounts(db)
    with changing(accounts):
        accounts.remove(name)
    typer.echo(f"removed {name}")


@users_app.command("list")
def users_list(db: DbOption = None, _help: HelpOption = False) -> None:
    """List registered names, with when each was registered."""
    for account in open_accounts(db).all():
        typer.echo(f"{account.name}\t{account.created}")

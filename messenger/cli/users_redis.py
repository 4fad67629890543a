"""``messenger users ... --redis URL``: the accounts of a cluster, kept in its Redis (every node
reads them there), and ``users import``: a database's accounts shared with a cluster.

redis-py is imported only when ``--redis`` is given, as for ``serve``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .env import fail

if TYPE_CHECKING:
    from ..cluster.accounts import RedisAccounts
    from ..core.accounts import Accounts

UsersRedisOption = Annotated[
    str | None,
    typer.Option(
        "--redis",
        metavar="URL",
        envvar="MESSENGER_REDIS",
        help="The accounts of the cluster whose nodes share this Redis (instead of --db).",
        show_default=False,
    ),
]


def open_redis_accounts(url: str) -> RedisAccounts:
    """The cluster's accounts in the Redis at ``url``; one error line if it cannot be reached."""
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise typer.BadParameter("must be a redis://, rediss:// or unix:// URL", param_hint="--redis")
    try:
        from ..cluster.accounts import RedisAccounts
        from ..cluster.bus import FAILURES, redacted
        from ..cluster.sharing import redis_client
    except ImportError as exc:
        raise fail(f"--redis needs redis-py: pip install 'messenger[cluster]' ({exc})") from None
    client = redis_client(url)
    try:
        client.ping()
    except FAILURES as exc:
        client.close()
        raise fail(f"cannot reach Redis at {redacted(url)}: {exc}") from None
    accounts = RedisAccounts(client)
    accounts.path = redacted(url)
    return accounts


def import_accounts(local: Accounts, shared: RedisAccounts) -> tuple[list[str], list[str]]:
    """Copy ``local``'s accounts (their scrypt records, never a password) into the cluster's;
    a name the cluster holds already is left as it is.  Returns (imported, skipped)."""
    imported, skipped = [], []
    for row in local.export():
        data: dict[str, Any] = {
            "name": row["name"],
            "created": row["created"],
            "role": row["role"],
            "salt": row["salt"].hex(),
            "hash": row["hash"].hex(),
            "n": row["n"],
            "r": row["r"],
            "p": row["p"],
        }
        added = shared._write("add", row["key"], json.loads(json.dumps(data)))
        (imported if added else skipped).append(row["name"])
    return imported, skipped

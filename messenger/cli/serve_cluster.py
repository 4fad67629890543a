"""``serve``'s cluster options: ``--redis URL`` makes this server one node of several that act as
one chat (messenger/cluster), ``--node NAME`` names it.  Without ``--redis`` nothing of the
cluster, nor redis-py, is imported."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ..core.store import SQLiteStore
from ..server import ChatServer
from .env import fail

if TYPE_CHECKING:
    from ..cluster.node import ClusterNode

RedisOption = Annotated[
    str | None,
    typer.Option(
        metavar="URL",
        envvar="MESSENGER_REDIS",
        help="Join the servers sharing this Redis as one chat (e.g. redis://HOST:6379/0).",
        show_default=False,
    ),
]
NodeOption = Annotated[
    str | None,
    typer.Option(
        metavar="NAME",
        envvar="MESSENGER_NODE",
        help="This server's name among the --redis nodes (default: host name:port).",
        show_default=False,
    ),
]


def join_cluster(
    server: ChatServer, store: SQLiteStore, url: str | None, node: str | None
) -> ClusterNode | None:
    """Make ``server`` a node of the cluster at ``url`` (None: stay alone); one error line if it
    cannot, the port and the store closed."""
    if url is None:
        return None
    try:
        return _attach(server, url, node)
    except BaseException:
        server.server_close()
        store.close()
        raise


def _attach(server: ChatServer, url: str, node: str | None) -> ClusterNode:
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise typer.BadParameter("must be a redis://, rediss:// or unix:// URL", param_hint="--redis")
    try:
        from ..cluster.node import ClusterError, attach
    except ImportError as exc:
        raise fail(f"--redis needs redis-py: pip install 'messenger[cluster]' ({exc})") from None
    try:
        return attach(server, url, node)
    except ClusterError as exc:
        raise fail(str(exc)) from None


def leave_cluster(cluster: ClusterNode | None) -> None:
    """Leave the cluster (after the server stopped): the other nodes see its members leave."""
    if cluster is not None:
        cluster.stop()

"""``serve``'s cluster options: ``--redis URL`` makes this server one node of several that act as
one chat (messenger/cluster), ``--node NAME`` names it.  Without ``--redis`` nothing of the
cluster, nor redis-py, is imported."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

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


def join_cluster(server: ChatServer, url: str, node: str | None) -> ClusterNode:
    """Make ``server`` a node of the cluster at ``url``; one error line if it cannot."""
    try:
        from ..cluster.node import ClusterError, attach
    except ImportError as exc:
        raise fail(f"--redis needs redis-py: pip install 'messenger[cluster]' ({exc})") from None
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise typer.BadParameter("must be a redis://, rediss:// or unix:// URL", param_hint="--redis")
    try:
        return attach(server, url, node)
    except ClusterError as exc:
        raise fail(str(exc)) from None

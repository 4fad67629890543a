"""``serve``'s IRC options: IRC clients on a port of their own (and IRC over TLS with the
server's certificate), read by the chat server's reader loop; one clear line when a port cannot
be had."""

from __future__ import annotations

from typing import Annotated

import typer

from ..core.store import SQLiteStore
from ..server import ChatServer
from .options import int_option

IrcPortOption = Annotated[
    int | None,
    int_option(
        0,
        65535,
        "PORT",
        envvar="MESSENGER_IRC_PORT",
        help="Serve IRC clients on this port too (e.g. 6667; 0 picks a free one). Off unless given.",
    ),
]
IrcTlsPortOption = Annotated[
    int | None,
    int_option(
        0,
        65535,
        "PORT",
        envvar="MESSENGER_IRC_TLS_PORT",
        help="Serve IRC over TLS on this port (e.g. 6697), with --tls-cert. Off unless given.",
    ),
]
IrcHostOption = Annotated[
    str | None,
    typer.Option(
        metavar="HOST",
        envvar="MESSENGER_IRC_HOST",
        help="The address the IRC ports listen on (default: the chat's --host).",
        show_default=False,
    ),
]


def check_irc(irc_tls_port: int | None, tls_cert: str | None) -> None:
    if irc_tls_port is not None and tls_cert is None:
        raise typer.BadParameter("IRC over TLS needs --tls-cert and --tls-key", param_hint="--irc-tls-port")


def open_irc_ports(
    server: ChatServer, store: SQLiteStore, host: str, port: int | None, tls_port: int | None
) -> list[str]:
    """Open the IRC ports asked for; the banner's lines saying where they listen.  A failure to
    listen closes the chat port and the store."""
    from .serve_ports import listen_failure

    lines = []
    for wanted, tls, option, what in (
        (port, False, "--irc-port", "IRC"),
        (tls_port, True, "--irc-tls-port", "IRC over TLS"),
    ):
        if wanted is None:
            continue
        try:
            got = server.open_irc((host, wanted), tls=tls)
        except OSError as exc:
            server.server_close()
            store.close()
            raise listen_failure(host, wanted, exc, option) from None
        lines.append(f"{what}: {host}:{got}")
    return lines

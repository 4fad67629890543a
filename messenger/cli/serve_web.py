"""``serve``'s web options (the page and its WebSocket on a port of their own, and the metrics
there) and opening that port, with one clear line when it cannot be had."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from ..server import ChatServer
from .options import int_option

log = logging.getLogger(__name__)

DEFAULT_WEB_PORT = 8080

WebHostOption = Annotated[
    str | None,
    typer.Option(
        metavar="HOST",
        envvar="MESSENGER_WEB_HOST",
        help="The address the web page listens on (default: the chat's --host).",
        show_default=False,
    ),
]
WebPortOption = Annotated[
    int,
    int_option(
        0, 65535, "PORT", envvar="MESSENGER_WEB_PORT", help="The web page's port; 0 picks a free one."
    ),
]
NoWebOption = Annotated[
    bool,
    typer.Option(
        "--no-web", metavar="", envvar="MESSENGER_NO_WEB", help="Serve no web page.", show_default=False
    ),
]
NoMetricsOption = Annotated[
    bool,
    typer.Option(
        "--no-metrics",
        metavar="",
        envvar="MESSENGER_NO_METRICS",
        help="Serve no /metrics on the web port (Prometheus's text format; counts only, no names).",
        show_default=False,
    ),
]
WebOriginOption = Annotated[
    list[str] | None,
    typer.Option(
        metavar="ORIGIN",
        envvar="MESSENGER_WEB_ORIGIN",
        help="Another origin whose pages may open the chat (e.g. https://chat.example.org); repeatable.",
        show_default=False,
    ),
]


def open_web_port(
    server: ChatServer, host: str, port: int, origins: list[str] | None, metrics: bool = True
) -> str:
    """Serve the page (and ``/metrics``) on ``host:port`` beside ``server``; its URL.  Raises
    OSError."""
    extra = tuple(origin.rstrip("/") for origin in origins or ())
    web = server.open_web((host, port), extra, metrics=metrics)
    if metrics:
        log.info("metrics for Prometheus: %smetrics", web.url)
    return web.url

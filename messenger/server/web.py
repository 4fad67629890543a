"""The web front door's port: the page over HTTP and the chat over WebSocket, on a port of its own,
accepted and read by the ChatServer's reader loop like the chat and IRC ports.

WebPort holds the listening socket and what the port answers with (its pages, the origins it
lets open the chat, whether ``/metrics`` answers); everything else is the ChatServer's (the
registry, the ChatLog, the limits, the TLS context, the connection tracking that times out
logins and stops the server).  Each accepted connection is a ``webport.WebConnection``.
"""

from __future__ import annotations

import contextlib
import socket
from typing import TYPE_CHECKING

from .readers import Listener
from .webpages import Pages
from .webport import WebConnection

if TYPE_CHECKING:
    from .tcp import ChatServer


class WebPort:
    """The web port of ``chat`` (``ChatServer.open_web``)."""

    def __init__(
        self,
        chat: ChatServer,
        address: tuple[str, int],
        origins: tuple[str, ...] = (),
        pages: Pages | None = None,
        metrics: bool = True,
    ) -> None:
        self.chat = chat
        self.origins = origins
        self.pages = pages if pages is not None else Pages()
        self.metrics = metrics  # whether GET /metrics answers (else 404)
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        # The chat port's backlog: a burst of page loads must not be reset.
        self.socket = socket.create_server(address, family=family, backlog=chat.request_queue_size)
        self.server_address: tuple[str, int] = self.socket.getsockname()[:2]

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        scheme = "https" if self.chat.tls is not None else "http"
        host = self.server_address[0]
        return f"{scheme}://{f'[{host}]' if ':' in host else host}:{self.port}/"

    def listener(self) -> Listener:
        """What the reader loop accepts this port's connections with."""
        make = lambda sock, address: WebConnection(sock, address, self.chat, self.chat.loop, self)  # noqa: E731
        return Listener(self.socket, make, self.verify)

    def verify(self, request: socket.socket, client_address: tuple[str, int]) -> bool:
        """The chat port's rules: a banned address gets one answer (here an HTTP one) and
        nothing else; the per-address limits are counted across both ports."""
        address = str(client_address[0])
        ban = self.chat.moderation.bans.check_address(address)
        if ban is not None:
            body = b"your address is banned from this server\n"
            head = f"HTTP/1.1 403 Forbidden\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            with contextlib.suppress(OSError):
                request.send(head.encode() + body, socket.MSG_DONTWAIT)
            self.chat.limits.refused(address, f"banned ({ban.target.shown})")
            return False
        return self.chat.limits.admit(request, address)

    def close(self) -> None:
        self.socket.close()

"""The client side: ``Client`` (one blocking JSON-mode connection with typed exceptions, in
``client``) and ``ChatLink`` (one user's session shared by every front end, in ``session``).
"""

from .client import (
    BadName,
    Client,
    ConnectError,
    ConnectionClosed,
    Incoming,
    LoginError,
    MessengerError,
    NameTaken,
    ProtocolViolation,
    ServerClosed,
)
from .session import ChatLink, LinkOptions

__all__ = [
    "BadName",
    "ChatLink",
    "Client",
    "ConnectError",
    "ConnectionClosed",
    "Incoming",
    "LinkOptions",
    "LoginError",
    "MessengerError",
    "NameTaken",
    "ProtocolViolation",
    "ServerClosed",
]

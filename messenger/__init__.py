"""messenger: a terminal chat server and client speaking a small line protocol."""

__version__ = "0.1.0"

from .client import Client
from .protocol import (
    Bye,
    Error,
    Hello,
    Joined,
    Left,
    Me,
    Message,
    Nick,
    Ping,
    Pong,
    Renamed,
    Say,
    Shutdown,
    Users,
    Welcome,
    Who,
)
from .server import ChatServer, ServerConfig

__all__ = [
    "Bye",
    "ChatServer",
    "Client",
    "Error",
    "Hello",
    "Joined",
    "Left",
    "Me",
    "Message",
    "Nick",
    "Ping",
    "Pong",
    "Renamed",
    "Say",
    "ServerConfig",
    "Shutdown",
    "Users",
    "Welcome",
    "Who",
    "__version__",
]

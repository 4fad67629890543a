"""messenger: a terminal chat server and client speaking a small line protocol."""

__version__ = "0.1.0"

from .client import Client
from .protocol import (
    Bye,
    Error,
    Hello,
    HistoryEnd,
    HistoryRequest,
    Join,
    Joined,
    Left,
    Me,
    Message,
    Nick,
    Part,
    Ping,
    Pong,
    Renamed,
    RoomInfo,
    RoomList,
    Rooms,
    Say,
    Shutdown,
    Users,
    Welcome,
    Who,
)
from .server import ChatServer, ServerConfig
from .tls import client_context, server_context

__all__ = [
    "Bye",
    "ChatServer",
    "Client",
    "Error",
    "Hello",
    "HistoryEnd",
    "HistoryRequest",
    "Join",
    "Joined",
    "Left",
    "Me",
    "Message",
    "Nick",
    "Part",
    "Ping",
    "Pong",
    "Renamed",
    "RoomInfo",
    "RoomList",
    "Rooms",
    "Say",
    "ServerConfig",
    "Shutdown",
    "Users",
    "Welcome",
    "Who",
    "__version__",
    "client_context",
    "server_context",
]

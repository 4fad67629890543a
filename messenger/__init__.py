"""messenger: a terminal chat server and client speaking a small line protocol.

The names below are imported on first use, so that ``import messenger`` (which every command
does first) is quick: a Ctrl+C pressed while the command starts is then caught by
``messenger.launch`` instead of ending in a traceback."""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__

_EXPORTS = {
    "Client": ".client",
    "Bye": ".protocol",
    "Error": ".protocol",
    "Hello": ".protocol",
    "HistoryEnd": ".protocol",
    "HistoryRequest": ".protocol",
    "Join": ".protocol",
    "Joined": ".protocol",
    "Left": ".protocol",
    "Me": ".protocol",
    "Message": ".protocol",
    "Nick": ".protocol",
    "Part": ".protocol",
    "Ping": ".protocol",
    "Pong": ".protocol",
    "Renamed": ".protocol",
    "RoomInfo": ".protocol",
    "RoomList": ".protocol",
    "Rooms": ".protocol",
    "Say": ".protocol",
    "Shutdown": ".protocol",
    "Users": ".protocol",
    "Welcome": ".protocol",
    "Who": ".protocol",
    "ChatServer": ".server",
    "ServerConfig": ".server",
    "client_context": ".tls",
    "server_context": ".tls",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


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

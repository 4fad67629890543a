"""The TCP front door: ChatServer (``tcp``), whose reader loop (``readers``) drives every
connection (``looped``; what a connection is, and the thread-driven ChatHandler of the web port,
are in ``handler``, with the login steps in ``login``), ServerConfig (``config``), the ChatLog and
its Flusher that write every connection's output (``delivery``), and the per-address and
per-connection limits (``limits``).
"""

from .config import DEFAULT_HISTORY, HISTORY_MAX, ServerConfig
from .handler import ChatHandler
from .tcp import ChatServer

__all__ = ["DEFAULT_HISTORY", "HISTORY_MAX", "ChatHandler", "ChatServer", "ServerConfig"]

"""The TCP front door: ChatServer and its per-connection ChatHandler (``tcp``), the ChatLog and
its Flusher that write every connection's output (``delivery``), and the per-address and
per-connection limits (``limits``).
"""

from .tcp import DEFAULT_HISTORY, HISTORY_MAX, ChatHandler, ChatServer, ServerConfig

__all__ = ["DEFAULT_HISTORY", "HISTORY_MAX", "ChatHandler", "ChatServer", "ServerConfig"]

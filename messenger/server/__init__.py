"""The TCP front door: ChatServer (``tcp``), whose reader loop (``readers``) drives every
connection (``looped``; the IRC and web ports' connections in ``ircport`` and ``webport``; what
a connection is, whatever its port, in ``handler``, with the login steps in ``login``),
ServerConfig (``config``), the ChatLog and its Flusher that write every connection's output
(``delivery``), and the per-address and per-connection limits (``limits``).
"""

from .config import DEFAULT_HISTORY, HISTORY_MAX, ServerConfig
from .tcp import ChatServer

__all__ = ["DEFAULT_HISTORY", "HISTORY_MAX", "ChatServer", "ServerConfig"]

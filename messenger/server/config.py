"""ServerConfig, the limits and defaults a ``messenger serve`` option sets, and the history
bounds the handler and the command line share."""

from __future__ import annotations

from dataclasses import dataclass

from ..protocol.lines import DEFAULT_MAX_LINE
from ..tls import HANDSHAKE_TIMEOUT

# Messages replayed on login by default: a screenful and a bit, enough to see what a
# conversation is about without flooding a terminal.
DEFAULT_HISTORY = 50
# The most a client may ask for at once (on login or per history page).  A page is also cut to
# half of --sendq in bytes (see Registry), so a page of long lines never gets a reader cut off.
HISTORY_MAX = 500


@dataclass(frozen=True)
class ServerConfig:
    """Limits and defaults; each is a ``messenger serve`` option."""

    max_line: int = DEFAULT_MAX_LINE
    # 1 MiB of unsent output is about 10,000 typical chat lines: a client that far behind is
    # not reading, and holding more only costs memory.  (ngircd cuts at 32 KB.)
    sendq: int = 1024 * 1024
    # Messages per second per client, and how many may come at once: a pasted screenful of 50
    # lines never waits, a script sending thousands is slowed to 20 lines a second.
    max_rate: float = 20.0
    burst: int = 50
    max_clients: int = 1000
    login_timeout: float = 30.0
    # How long a closing connection may take to flush its last frames (the shutdown frame,
    # an error) before its socket is cut; with the
    # rest of shutdown it keeps the whole stop under 2 seconds.
    shutdown_grace: float = 1.0
    # Past messages replayed on login unless the client asks otherwise (with a store).
    history: int = DEFAULT_HISTORY
    handshake_timeout: float = HANDSHAKE_TIMEOUT
    # Connections from one address: at most this many open at once (0 = no limit), and new ones
    # at most ``conn_rate`` a second once a burst of ``max_per_ip`` is used.  An office of 64
    # people behind one NAT address, all reconnecting at once after a restart, still gets in.
    max_per_ip: int = 64
    conn_rate: float = 10.0
    # Accounts: "open" lets unregistered names in (registered ones need their password),
    # "required" only accounts.  ``password``: a password every unregistered login must give.
    auth: str = "open"
    password: str | None = None
    # A room of more members than this is crowded: its joins and leaves are told in one
    # ``presence`` summary per ``presence_interval`` seconds, and a welcome beyond it lists this
    # many names and a count (core/crowd.py says why 100).
    crowd: int = 100
    presence_interval: float = 1.0
    # Under load, how long broadcasts wait after a delivery round to everyone ended, so that one
    # ``send`` per connection carries several messages (delivery.py; docs/performance.md has
    # what it saves, and why 20 ms).  A lone message never waits; answers and private messages
    # never do.
    gather: float = 0.020

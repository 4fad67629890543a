"""Which modes the open connections have (delivery.py): the outlet encodes a frame for many
ahead only in these, so a server whose readers all use one format spends nothing on the others
(docs/performance.md).  A mode is a ``Mode`` or an IRC variant's key (ircout.py)."""

from __future__ import annotations

from typing import Any

from ..protocol.frames import Mode


class ModesInUse:
    """Open outboxes per mode, counted under the ChatLog's lock.  ``plain`` (the Modes) and
    ``irc`` (the IRC keys) are tuples replaced whole, which the outlet reads without the lock
    (a mode it misses is encoded when first asked: outlet.FrameBytes, ircout.IRCData)."""

    __slots__ = ("_count", "irc", "plain")

    def __init__(self) -> None:
        self._count: dict[Any, int] = {}
        self.plain: tuple[Mode, ...] = ()
        self.irc: tuple[Any, ...] = ()

    def count(self, mode: Any, change: int) -> None:
        """``change`` more outboxes in ``mode`` (None: an IRC connection not set up yet)."""
        if mode is None:
            return
        self._count[mode] = self._count.get(mode, 0) + change
        in_use = [key for key, count in self._count.items() if count > 0]
        self.plain = tuple(key for key in in_use if isinstance(key, Mode))
        self.irc = tuple(key for key in in_use if not isinstance(key, Mode))

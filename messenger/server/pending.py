"""A Pending: the log operations of one registry operation, applied together (delivery.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .outbox import Entry, Outbox

if TYPE_CHECKING:
    from .delivery import ChatLog


class Acting(threading.local):
    """The connection whose line this thread is acting on (None: no connection's, e.g. the
    server's own presence summaries or a cluster node's entries).  Its transport sets it around
    each request; the outlet reads it to encode what differs for the actor: an IRC sender's own
    copy of its message (ircout.own_copy) and the sender's account for IRC's account-tag.
    ``speaker``: the sender of the message being delivered when no connection of this thread
    acts for it (a cluster node delivering a message read from the stream), for its account."""

    outbox: Outbox | None = None
    speaker: Any = None  # a core Member, or None


ACTING = Acting()

# One step of a Pending: the name of a ChatLog method to run under the log's lock, and its argument.
Operation = tuple[str, Any]


class Pending:
    """The log operations of one registry operation, applied together by ``commit``: under the
    log's lock at once, with one wake-up.  The Flusher therefore never sees a part of them
    (a welcome without its ``joined``), and nothing appended by another thread lands in
    between (an answer to someone else that takes no registry lock).  Operations apply in the
    order given, so a ``join`` before an ``append`` counts that entry in, as it would if each
    were applied at once."""

    __slots__ = ("_log", "_operations")

    def __init__(self, chat_log: ChatLog) -> None:
        self._log = chat_log
        self._operations: list[Operation] = []

    def append(
        self,
        data: dict[Any, bytes],
        targets: Iterable[Outbox] | None = None,
        own: tuple[Outbox, bytes] | None = None,
        message: bool = False,
    ) -> Pending:
        """Queue one frame (``data`` in each mode) for every member, or for ``targets``;
        ``own``: a broadcast's own bytes for one reader; ``message``: a chat message
        (outbox.Entry)."""
        entry = Entry(data, None if targets is None else frozenset(targets), own, message)
        self._operations.append(("_append_locked", entry))
        return self

    @property
    def irc_modes(self) -> tuple[Any, ...]:
        """The IRC variants' keys readers have now (a broadcast is encoded for each)."""
        return self._log.in_use.irc

    @property
    def modes(self) -> tuple[Any, ...]:
        """The Modes readers have now (a frame for many is encoded ahead in each)."""
        return self._log.in_use.plain

    def join(self, outbox: Outbox) -> Pending:
        self._operations.append(("_join_locked", outbox))
        return self

    def leave(self, outbox: Outbox) -> Pending:
        self._operations.append(("_leave_locked", outbox))
        return self

    def close(self, outbox: Outbox) -> Pending:
        self._operations.append(("_close_locked", outbox))
        return self

    def message(self, read_at: float, count: int = 1) -> Pending:
        """The entries of this commit carry ``count`` chat messages, read (``time.monotonic``)
        at ``read_at`` (a cluster node delivers a read of the stream at once): counted, and
        their fan-out latency measured by the round that sends them."""
        self._operations.append(("_message_locked", (read_at, count)))
        return self

    def commit(self) -> None:
        """Apply everything collected so far at once; the Pending may then be reused."""
        if self._operations:
            operations, self._operations = self._operations, []
            self._log._commit(operations)

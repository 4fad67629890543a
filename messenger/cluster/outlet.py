"""ClusterOutlet: the transport's Outlet with the members of other nodes left out.

A remote member (``link`` None) is reached by its own node, which applies the same entry, so
every event about it here goes to this node's members only.  Committing a batch also publishes
what the operation changed for local members (registry.py), still under the registry's lock, so
the entries leave in the order of the operations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from ..core.events import Batch, Outlet
from ..core.members import Member
from ..protocol.frames import Message, ServerFrame


class ClusterBatch:
    """A Batch (core/events.py) forwarding to the transport's, for local members only."""

    __slots__ = ("_inner", "_on_commit")

    def __init__(self, inner: Batch, on_commit: Callable[[], None]) -> None:
        self._inner = inner
        self._on_commit = on_commit

    def send(self, frame: ServerFrame, to: Iterable[Member] | None = None, aside: bool = False) -> None:
        if to is None:
            self._inner.send(frame, None, aside)
            return
        local = [member for member in to if member.link is not None]
        if local:
            self._inner.send(frame, local, aside)

    def page(self, member: Member, messages: Sequence[Message], more: bool | None) -> None:
        if member.link is not None:
            self._inner.page(member, messages, more)

    def admit(self, member: Member) -> None:
        if member.link is not None:
            self._inner.admit(member)

    def dismiss(self, member: Member) -> None:
        if member.link is not None:
            self._inner.dismiss(member)

    def close(self, member: Member) -> None:
        if member.link is not None:
            self._inner.close(member)

    def commit(self) -> None:
        self._on_commit()
        self._inner.commit()


class ClusterOutlet:
    """Wraps the transport's Outlet; ``on_commit`` runs at every commit (under the lock)."""

    def __init__(self, inner: Outlet) -> None:
        self.inner = inner
        self.on_commit: Callable[[], None] = lambda: None

    def batch(self) -> ClusterBatch:
        return ClusterBatch(self.inner.batch(), self.on_commit)

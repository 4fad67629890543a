"""What the core tells the transports: which frame goes to which audience.

The core decides *who* receives an event and never *how* it is encoded.  Each registry operation
opens one Batch from its Outlet and describes what happened in it: frames (plain data from
protocol/frames.py) for everyone, or for named members; members starting or ending to receive
what goes to everyone; a member whose connection ends once its queue is out; a page of past
messages for one member.  The batch is committed when the operation ends, so a transport applies
an operation's events at once and never shows a part of one.

The TCP server's implementation (server/outlet.py) encodes each frame once per format (JSON, text
mode) and appends the bytes to its ChatLog.  A later transport implements the same two classes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

from ..protocol.frames import Message, ServerFrame

if TYPE_CHECKING:
    from .members import Member


class Batch(Protocol):
    """The events of one registry operation, applied together by ``commit``, in the order given."""

    def send(self, frame: ServerFrame, to: Iterable[Member] | None = None, aside: bool = False) -> None:
        """``frame`` for everyone receiving broadcasts (``to`` None), or for the members in ``to``.
        ``aside``: the frame is about a room that is not the recipients' current room (a front end
        that shows one room at a time marks it with the room's name)."""

    def page(self, member: Member, messages: Sequence[Message], more: bool | None) -> None:
        """Past ``messages`` (oldest first) for ``member``: as many of the newest as its
        connection can take at once.  With ``more`` not None, a ``history_end`` follows, saying
        how many were sent and whether older ones remain (``more``, or some did not fit)."""

    def admit(self, member: Member) -> None:
        """What goes to everyone from now on reaches ``member`` too."""

    def dismiss(self, member: Member) -> None:
        """What goes to everyone from now on no longer reaches ``member``."""

    def close(self, member: Member) -> None:
        """``member``'s connection ends once what is queued for it is out."""

    def commit(self) -> None:
        """Apply everything given so far at once; the batch may then be reused."""


class Outlet(Protocol):
    """Where the registry's events go: one per server, shared by its front doors."""

    def batch(self) -> Batch:
        """A new, empty Batch."""

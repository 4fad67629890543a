"""The history as the core sees it: a StoredMessage (one message kept, with who may see it),
and MessageStore, the interface the Registry needs from a store; store.py implements it in
SQLite."""

from __future__ import annotations

from typing import NamedTuple, Protocol

from ..protocol.frames import LOBBY, Message


class StoredMessage(NamedTuple):
    """A chat message as kept: the frame's fields plus the comparison keys that decide who may
    see a private message.  A named tuple, not a frozen dataclass: one is made for every
    message, under the registry's lock, and it costs about half as much to make; the store
    writes it as it is, in this column order."""

    id: int
    ts: str
    sender: str
    sender_key: str
    text: str
    room: str = LOBBY  # private messages are kept in the lobby
    recipient: str | None = None
    recipient_key: str | None = None
    action: bool = False

    def visible_to(self, key: str) -> bool:
        return self.recipient_key is None or key in (self.sender_key, self.recipient_key)

    def frame(self) -> Message:
        """The message as replayed: a ``message`` frame marked ``history``."""
        return Message(
            id=self.id,
            sender=self.sender,
            text=self.text,
            ts=self.ts,
            to=self.recipient,
            action=self.action,
            history=True,
            room=None if self.room == LOBBY else self.room,
        )


class MessageStore(Protocol):
    """What the server needs from a history store."""

    def last_id(self) -> int:
        """The highest message id ever stored (0 for none): the next one must be higher."""

    def add(self, message: StoredMessage) -> None:
        """Keep ``message``; must not block on I/O (it is called under the registry's lock)."""

    def recent(
        self, viewer_key: str, limit: int, before: int | None = None, room: str = LOBBY
    ) -> list[StoredMessage]:
        """Up to ``limit`` messages of ``room`` visible to ``viewer_key`` with ids below
        ``before``, oldest first.  Private messages belong to the lobby."""

    def flush(self) -> None:
        """Return once everything added so far is committed."""

    def close(self) -> None:
        """Commit what is queued and release the database."""

"""A Member (one logged-in connection as the registry sees it) and the exceptions the
registry raises to its callers."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from ..protocol.frames import LOBBY, FrameError


@dataclass(eq=False)
class Member:
    """One connection as the registry sees it: its name, rooms and account, and a ``link``
    through which its transport reaches it (the TCP server's Outbox), which the core only
    passes back to the transport in its events (core/events.py).

    Created by the connection's handler thread.  ``link``, ``address`` and
    ``shows_current_room`` never change.
    ``name``, ``key`` and ``rooms`` are written only under the registry's lock (by whichever
    thread runs the operation: this connection's handler, another's login that replaces it, the
    Flusher cutting it off, the server stopping).  The registry reads them under its lock; the
    handler thread reads ``name`` and ``current_room`` without it, which is safe because only
    its own requests change them, except a replacement or a cut-off, after which its
    connection is closing and what it reads no longer matters.
    """

    link: Any
    address: str = ""
    # Whether the member's front end shows chat relative to its current room (text mode: a
    # message from another of its rooms carries that room's name), so the registry must tell
    # it, per message, whether the room is its current one (``Batch.send``'s ``aside``).
    shows_current_room: bool = False
    name: str | None = None
    key: str = ""  # name_key(name), kept by the registry: normalising is not free
    rooms: list[str] = field(default_factory=list)  # in the order joined: the last is current
    account: str | None = None  # the registered name whose password this connection gave
    # Whose private history this connection reads and adds to: its account's key once it proved
    # the password, otherwise a key of this connection alone (a space never occurs in a name),
    # so whoever holds an unregistered name later does not read what was said to the one before.
    history_key: str = field(default_factory=lambda: " session " + secrets.token_hex(12))
    # Moderation and presence, written under the registry's lock (``role`` also by the handler
    # before an operator's request, from the database):
    role: str = "user"  # the account's role; "user" without an account
    since: str = ""  # when it logged in (a timestamp)
    active_at: float = 0.0  # time.monotonic() of its last message: whois' idle time
    away: str | None = None  # why it is away; None: here
    reply_to: str | None = None  # who sent it the last private message (the name then)
    ignoring: set[str] = field(default_factory=set)  # name keys whose messages it does not get
    wants_presence: bool = False  # asked (hello ``presence``) for everyone's away changes

    @property
    def current_room(self) -> str:
        """Where a text-mode line goes: the room joined last."""
        return self.rooms[-1] if self.rooms else LOBBY


class NameTaken(Exception):
    """The name (compared case-insensitively after normalisation) is in use."""


class ServerFull(Exception):
    """The server already holds its maximum number of logged-in members."""


class Answered(FrameError):
    """A request the registry refused and has already answered with this error, under its
    lock, so that the error takes its place among the member's frames in the order of the
    state changes (an ``unknown_user`` never follows that user's ``joined``).  Callers must
    not answer it again."""

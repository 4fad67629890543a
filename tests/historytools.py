"""What the history tests share: logging a library client in and collecting what it received up
to its own ``joined``, saying lines and waiting for their echoes, reading one history page, and a
StoredMessage made from a number."""

from __future__ import annotations

from typing import Any

from messenger.client import Client
from messenger.core.store import StoredMessage
from messenger.protocol import HistoryEnd, Joined, Message

from .clitools import WAIT


def log_in(port: int, user: str, **login: Any) -> tuple[Client, list[Any]]:
    """A client logged in as ``user`` and everything it received up to its own ``joined``."""
    client = Client.connect("127.0.0.1", port, timeout=WAIT)
    received: list[Any] = [client.login(user, **login)]
    while not (isinstance(received[-1], Joined) and received[-1].user == client.user):
        received.append(client.receive(timeout=WAIT))
    return client, received


def say_and_wait(client: Client, *texts: str, to: str | None = None) -> list[Message]:
    """Send each text and wait for its echo."""
    echoes = []
    for text in texts:
        client.say(text, to=to)
        while not (
            isinstance(frame := client.receive(timeout=WAIT), Message) and frame.sender == client.user
        ):
            pass
        echoes.append(frame)
    return echoes


def page(client: Client) -> tuple[list[Message], HistoryEnd]:
    """The messages of one history answer and its end frame."""
    messages = []
    while not isinstance(frame := client.receive(timeout=WAIT), HistoryEnd):
        if isinstance(frame, Message) and frame.history:
            messages.append(frame)
    return messages, frame


def stored(number: int, sender: str = "alice", **fields: Any) -> StoredMessage:
    return StoredMessage(
        id=number, ts=f"2026-11-24T21:50:{number % 60:02d}.000Z", sender=sender, sender_key=sender,
        text=f"message {number}", **fields,
    )  # fmt: skip

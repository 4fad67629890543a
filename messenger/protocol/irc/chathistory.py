"""CHATHISTORY (IRCv3 ``draft/chathistory``), as far as messenger's history goes: a room's
``LATEST`` messages (``*``) and those ``BEFORE`` a message id (``msgid=N``), up to 100, answered
by one ``chathistory`` batch (empty when there is nothing).  messenger pages its history by
message id only: references by timestamp, and ``AFTER``, ``AROUND``, ``BETWEEN``, ``TARGETS`` and
private conversations get ``FAIL CHATHISTORY``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..frames import HistoryRequest
from .events import Event, Lines, Request
from .message import IRCMessage
from .names import room_of_channel

if TYPE_CHECKING:
    from .session import IRCConnection

MAX_HISTORY = 100  # ISUPPORT CHATHISTORY: the most messages one request returns


def _fail(conn: IRCConnection, code: str, *context: str) -> list[Event]:
    text = {
        "INVALID_PARAMS": "only LATEST * and BEFORE msgid=<id> with a limit are supported",
        "INVALID_TARGET": "history is kept for rooms (channels) only",
    }[code]
    return [Lines(conn.fail("CHATHISTORY", code, text, *context))]


def _reference(sub: str, ref: str) -> int | str | None:
    """The id a reference means (None: the newest), or ``"bad"``."""
    if sub == "LATEST" and ref == "*":
        return None
    if sub == "BEFORE" and ref.startswith("msgid="):
        number = ref[len("msgid=") :].partition("-")[0]
        if number.isdigit() and 0 < int(number) < 2**63:
            return int(number)
    return "bad"


def chathistory(conn: IRCConnection, message: IRCMessage) -> list[Event]:
    """``CHATHISTORY LATEST #room * 50`` or ``CHATHISTORY BEFORE #room msgid=120 50``."""
    if len(message.params) < 4:
        return _fail(conn, "INVALID_PARAMS", message.param(0)[:32] or "*")
    sub, target, ref, limit = (message.params[0].upper(), *message.params[1:4])
    before = _reference(sub, ref)
    if before == "bad" or not limit.isdigit() or not 0 < int(limit) <= MAX_HISTORY:
        return _fail(conn, "INVALID_PARAMS", sub[:32])
    room = room_of_channel(target)
    if not isinstance(room, str):
        return _fail(conn, "INVALID_TARGET", sub[:32], target[:64])
    assert before is None or isinstance(before, int)
    conn.subjects["history"] = room
    conn.expect("history", room, "chathistory")
    return [Request(HistoryRequest(limit=int(limit), before=before, room=room))]

"""A chat message's JSON-mode line, put together by hand: codec.encode's fast path.

Every chat message is encoded once for every JSON and web reader, and ``json.dumps`` (a dict and
an encoder made per call) was a quarter of the reader loop's work per message flat out
(docs/performance.md).  The characters are exactly those ``json.dumps`` makes of
``codec.frame_to_dict(frame)`` with the codec's settings: the same keys in the same order, and
strings escaped by the same function ``json`` uses without ASCII escaping
(``encode_basestring``); tests/test_message_line.py compares the two."""

from __future__ import annotations

from json.encoder import encode_basestring

from .frames import Message


def message_json(frame: Message) -> str:
    """``frame``'s JSON-mode line, ``\\n`` included, as a str."""
    parts = [
        '{"type":"message","id":',
        int.__repr__(frame.id),
        ',"from":',
        encode_basestring(frame.sender),
        ',"text":',
        encode_basestring(frame.text),
        ',"ts":',
        encode_basestring(frame.ts),
    ]
    if frame.to is not None:
        parts += (',"to":', encode_basestring(frame.to))
    if frame.action:
        parts.append(',"action":true')
    if frame.history:
        parts.append(',"history":true')
    if frame.room is not None:
        parts += (',"room":', encode_basestring(frame.room))
    parts.append("}\n")
    return "".join(parts)

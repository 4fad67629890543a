"""A chat message's JSON line, put together by hand (protocol/messageline.py), is exactly what
``json.dumps`` makes of the frame with the codec's settings, for any text, name, room and flags;
and the cached timestamp reads the clock as the datetime it replaced did (no sockets)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messenger.protocol import MAX_INT, Message, encode
from messenger.protocol.basics import timestamp
from messenger.protocol.codec import frame_to_dict
from messenger.protocol.messageline import message_json

ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)


def dumped(frame: Message) -> bytes:
    """The line the codec made of every frame before the fast path."""
    text = json.dumps(frame_to_dict(frame), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8") + b"\n"


@given(
    id_=st.integers(0, MAX_INT),
    sender=ANY_TEXT,
    text=ANY_TEXT,
    to=st.none() | ANY_TEXT,
    action=st.booleans(),
    history=st.booleans(),
    room=st.none() | ANY_TEXT,
)
def test_message_line_is_json_dumps(
    id_: int, sender: str, text: str, to: str | None, action: bool, history: bool, room: str | None
) -> None:
    frame = Message(
        id=id_, sender=sender, text=text, ts=timestamp(), to=to, action=action, history=history, room=room
    )
    assert encode(frame) == dumped(frame)
    assert message_json(frame).encode("utf-8") == dumped(frame)
    assert json.loads(encode(frame))["text"] == text


def test_message_line_escapes_what_json_escapes() -> None:
    frame = Message(id=7, sender='a"b', text='q"\\\x00\x1f\x7f\u2028\u2029é😀', ts="t", room="#r")
    line = message_json(frame)
    text = '"text":"q\\"\\\\\\u0000\\u001f\x7f\u2028\u2029é😀"'
    assert line == '{"type":"message","id":7,"from":"a\\"b",' + text + ',"ts":"t","room":"#r"}\n'
    assert line.encode("utf-8") == dumped(frame)


def test_a_lone_surrogate_fails_as_before() -> None:
    """What cannot be UTF-8 raises in both (the connection sanitises text before this)."""
    frame = Message(id=1, sender="a", text="\ud800", ts="t")
    with pytest.raises(UnicodeEncodeError):
        dumped(frame)
    with pytest.raises(UnicodeEncodeError):
        encode(frame)


def test_timestamp_now_is_the_clock_in_milliseconds() -> None:
    """Between two readings of the clock, read as the datetime formatting did."""
    pattern = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
    for _ in range(2000):  # long enough to cross a millisecond, and maybe a second
        before = datetime.now(timezone.utc).replace(microsecond=0)
        now = timestamp()
        after = datetime.now(timezone.utc)
        assert pattern.match(now)
        moment = datetime.strptime(now, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
        assert before <= moment <= after

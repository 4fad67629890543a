"""The protocol's frames on the wire: exact JSON forms, round trips (listed and fuzzed), leave
reasons, timestamps, and every client frame parsed from its fields (no sockets).

The contract under test is docs/protocol.md; each test asserts specific values so it can fail.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messenger.protocol import (
    MAX_INT,
    PROTOCOL_VERSION,
    Bye,
    Error,
    Hello,
    HistoryRequest,
    Joined,
    LeaveReason,
    Left,
    Me,
    Message,
    Nick,
    Ping,
    Pong,
    Renamed,
    Say,
    Shutdown,
    Users,
    Welcome,
    Who,
    encode,
    moderation,
    parse_client_frame,
    parse_server_frame,
    text_line,
    timestamp,
)

from .protocol_cases import CLIENT_FRAMES, FUZZ, SERVER_FRAMES, TS, json_values, wire

# --------------------------------------------------------------------------------------------
# Round trips
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("frame", CLIENT_FRAMES, ids=repr)
def test_client_frame_round_trip(frame: object) -> None:
    assert parse_client_frame(wire(frame)) == frame


@pytest.mark.parametrize("frame", SERVER_FRAMES, ids=repr)
def test_server_frame_round_trip(frame: object) -> None:
    assert parse_server_frame(wire(frame)) == frame


def test_message_wire_form_uses_from_and_omits_unset_fields() -> None:
    data = encode(Message(id=42, sender="alice", text="hi", ts=TS))
    assert data == b'{"type":"message","id":42,"from":"alice","text":"hi","ts":"' + TS.encode() + b'"}\n'
    obj = json.loads(data)
    assert "sender" not in obj
    assert not {"to", "action", "history"} & obj.keys()


def test_message_wire_form_with_optional_fields() -> None:
    obj = json.loads(encode(Message(id=7, sender="a", text="t", ts=TS, to="b", action=True, history=True)))
    assert obj == {
        "type": "message",
        "id": 7,
        "from": "a",
        "text": "t",
        "ts": TS,
        "to": "b",
        "action": True,
        "history": True,
    }


def test_non_ascii_stays_utf8_without_escaping() -> None:
    data = encode(Say(text="José ☕ नमस्ते"))
    assert data == '{"type":"say","text":"José ☕ नमस्ते"}\n'.encode()
    assert b"\\u" not in data


def test_newline_in_text_is_escaped_so_one_frame_is_one_line() -> None:
    data = encode(Say(text="line1\nline2\r\n"))
    assert data == b'{"type":"say","text":"line1\\nline2\\r\\n"}\n'


def test_exact_wire_forms_of_other_frames() -> None:
    assert encode(Who()) == b'{"type":"who"}\n'
    assert encode(Bye()) == b'{"type":"bye"}\n'
    assert encode(Ping()) == b'{"type":"ping"}\n'
    assert encode(Pong()) == b'{"type":"pong"}\n'
    assert encode(Pong(token="t1")) == b'{"type":"pong","token":"t1"}\n'
    assert encode(Hello(user="alice")) == b'{"type":"hello","user":"alice"}\n'
    assert (
        encode(Error(code="bad_json", message="m")) == b'{"type":"error","code":"bad_json","message":"m"}\n'
    )
    assert json.loads(encode(Renamed(old="a", new="b", ts=TS))) == {
        "type": "nick",
        "old": "a",
        "new": "b",
        "ts": TS,
    }
    assert json.loads(encode(Welcome(user="a", users=("a", "b"), server="messenger/0.1.0"))) == {
        "type": "welcome",
        "user": "a",
        "users": ["a", "b"],
        "server": "messenger/0.1.0",
        "protocol": PROTOCOL_VERSION,
    }
    assert json.loads(encode(Left(user="bob", ts=TS))) == {
        "type": "left",
        "user": "bob",
        "ts": TS,
        "reason": "quit",
    }


opt_text = st.none() | st.text()

client_frames = st.one_of(
    st.builds(
        Hello,
        user=st.text(),
        history=st.none() | st.integers(min_value=0, max_value=MAX_INT),
        password=opt_text,
    ),
    st.builds(Say, text=st.text(), to=opt_text),
    st.builds(Me, text=st.text()),
    st.just(Who()),
    st.builds(Nick, user=st.text()),
    st.builds(Ping, token=json_values),
    st.just(Bye()),
)
names = st.lists(st.text(), max_size=4).map(tuple)
server_frames = st.one_of(
    st.builds(
        Welcome,
        user=st.text(),
        users=names,
        server=st.text(),
        protocol=st.integers(min_value=1, max_value=99),
    ),
    st.builds(Joined, user=st.text(), ts=st.text()),
    st.builds(Left, user=st.text(), ts=st.text(), reason=st.text(min_size=1)),
    st.builds(
        Message,
        id=st.integers(min_value=0, max_value=MAX_INT),
        sender=st.text(),
        text=st.text(),
        ts=st.text(),
        to=opt_text,
        action=st.booleans(),
        history=st.booleans(),
    ),
    st.builds(Users, users=names),
    st.builds(Renamed, old=st.text(), new=st.text(), ts=st.text()),
    st.builds(Pong, token=json_values),
    st.builds(Error, code=st.text(), message=st.text(), re=opt_text),
    st.builds(Shutdown, message=st.text()),
)


@FUZZ
@given(client_frames)
def test_client_frame_round_trip_fuzzed(frame: object) -> None:
    data = encode(frame)  # type: ignore[arg-type]
    assert data.count(b"\n") == 1 and data.endswith(b"\n")
    assert parse_client_frame(data.decode("utf-8")) == frame


@FUZZ
@given(server_frames)
def test_server_frame_round_trip_fuzzed(frame: object) -> None:
    data = encode(frame)  # type: ignore[arg-type]
    assert data.count(b"\n") == 1 and data.endswith(b"\n")
    assert parse_server_frame(data.decode("utf-8")) == frame


def test_leave_reasons_on_the_wire() -> None:
    assert [reason.value for reason in LeaveReason] == [
        "quit",
        "disconnected",
        "part",
        "too_slow",
        "replaced",
        "kicked",
        "banned",
    ]
    assert wire(Left(user="a", ts=TS)) == f'{{"type":"left","user":"a","ts":"{TS}","reason":"quit"}}\n'
    line = wire(Left(user="a", ts=TS, reason=LeaveReason.TOO_SLOW.value))
    assert parse_server_frame(line) == Left(user="a", ts=TS, reason="too_slow")
    assert (
        text_line(Left(user="a", ts=TS, reason=LeaveReason.TOO_SLOW.value))
        == "a has left the chat! (too slow)"
    )


# --------------------------------------------------------------------------------------------
# Timestamps
# --------------------------------------------------------------------------------------------

TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_timestamp_format() -> None:
    assert TS_RE.match(timestamp())
    assert TS_RE.match(TS)
    moment = datetime(2026, 11, 24, 21, 50, 0, 123456, tzinfo=timezone.utc)
    assert timestamp(moment) == "2026-11-24T21:50:00.123Z"
    assert timestamp(datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)) == "2026-01-02T03:04:05.000Z"


def test_timestamp_converts_to_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert timestamp(datetime(2026, 11, 24, 23, 50, 0, 999999, tzinfo=plus_two)) == "2026-11-24T21:50:00.999Z"


MODERATION_SAMPLES = [
    moderation.Kick(user="bob", reason="spam"),
    moderation.Ban(target="10.0.0.0/8", duration="2h", reason="flood"),
    moderation.Unban(target="bob"),
    moderation.BansRequest(),
    moderation.Mute(user="bob", duration="10m"),
    moderation.Unmute(user="bob"),
    moderation.TopicRequest(room="#x", text="hello"),
    moderation.ModeRequest(room="#x", invite_only=True, moderated=False),
    moderation.Allow(user="bob", room="#x"),
    moderation.Disallow(user="bob"),
    moderation.Away(text="lunch"),
    moderation.WhoisRequest(user="bob"),
    moderation.Ignore(user="bob"),
    moderation.Unignore(user="bob"),
    moderation.IgnoredRequest(),
    moderation.Reply(text="hi"),
    moderation.RoleRequest(user="bob", role="op"),
]


def test_every_client_frame_is_parsed_from_its_fields() -> None:
    """A client frame class is parsed once it is listed in CLIENT_FRAMES, from its type hints:
    each frame a client can build comes back equal from its JSON line."""
    import typing

    from messenger.protocol.frames import CLIENT_FRAMES, ClientFrame, Command, Join, Part, Rooms

    assert set(CLIENT_FRAMES) == set(typing.get_args(ClientFrame))
    samples = [
        Hello(user="ann", history=3, password="pw", account="ann"),
        Say(text="hi", to="bob", room="#x"),
        Me(text="waves", room="#x"),
        Who(room="#x"),
        Join(room="#x"),
        Part(room="#x"),
        Rooms(),
        Nick(user="bo"),
        Ping(token={"a": [1, None]}),
        Bye(),
        HistoryRequest(limit=5, before=9, room="#x"),
        Command(text="/kick bob", room="#x"),
        *MODERATION_SAMPLES,
    ]
    assert {type(sample) for sample in samples} == set(CLIENT_FRAMES)
    for sample in samples:
        assert parse_client_frame(encode(sample).decode()) == sample

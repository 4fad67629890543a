"""Unit tests for messenger.protocol: bytes and strings in, frames and events out (no sockets).

The contract under test is docs/protocol.md; each test asserts specific values so it
can fail.
"""

from __future__ import annotations

import ast
import json
import re
import sys
import unicodedata
from datetime import datetime, timedelta, timezone
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from messenger import protocol
from messenger.protocol import (
    COMMAND_NAMES,
    EOF,
    MAX_DEPTH,
    MAX_INT,
    NEED_DATA,
    PROTOCOL_VERSION,
    TEXT_COMMANDS,
    TEXT_HELP,
    BadEncoding,
    BadName,
    Bye,
    Error,
    ErrorCode,
    FrameError,
    Hello,
    HistoryEnd,
    HistoryRequest,
    Joined,
    LeaveReason,
    Left,
    Line,
    LineDecoder,
    LineTooLong,
    Me,
    Message,
    Mode,
    Nick,
    Ping,
    Pong,
    Renamed,
    Say,
    Shutdown,
    SlashCommand,
    TextCommand,
    Users,
    Welcome,
    Who,
    detect_mode,
    encode,
    encode_for,
    encode_text,
    is_blank,
    moderation,
    name_key,
    normalize_name,
    parse_client_frame,
    parse_server_frame,
    parse_text_command,
    sanitize_text,
    text_line,
    textmode,
    timestamp,
)
from messenger.ui import terminal

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TS = "2026-11-24T21:50:00.123Z"


def wire(frame: object) -> str:
    """The encoded line as text, after checking it is one line ended by a single newline."""
    data = encode(frame)  # type: ignore[arg-type]
    assert data.endswith(b"\n")
    assert data.count(b"\n") == 1
    return data.decode("utf-8")


# --------------------------------------------------------------------------------------------
# Round trips
# --------------------------------------------------------------------------------------------

CLIENT_FRAMES = [
    Hello(user="alice"),
    Hello(user="alice", history=0),
    Hello(user="alice", history=50, password="s3cret"),
    Say(text="hi"),
    Say(text="hi", to="bob"),
    Say(text='José ☕ नमस्ते "quoted" \\ back\nslash'),
    Me(text="waves"),
    Who(),
    Nick(user="alice2"),
    Ping(),
    Ping(token="t1"),
    Ping(token=0),
    Ping(token={"a": [1, "x", None]}),
    Bye(),
]

SERVER_FRAMES = [
    Welcome(user="alice", users=("alice", "bob"), server="messenger/1.2.3"),
    Welcome(user="alice", users=("alice",), server="messenger/1.2.3", protocol=1),
    Joined(user="bob", ts=TS),
    Left(user="bob", ts=TS),
    Left(user="bob", ts=TS, reason="too_slow"),
    Message(id=42, sender="alice", text="hi", ts=TS),
    Message(id=43, sender="alice", text="psst", ts=TS, to="bob"),
    Message(id=44, sender="alice", text="waves", ts=TS, action=True),
    Message(id=45, sender="alice", text="old", ts=TS, history=True),
    Message(id=46, sender="José", text="☕\u2028\u0000", ts=TS, to="bob", action=True, history=True),
    Users(users=("alice", "bob")),
    Users(users=()),
    Renamed(old="alice", new="alice2", ts=TS),
    Pong(),
    Pong(token="t1"),
    Error(code="name_taken", message="that name is taken", re="hello"),
    Error(code="bad_json", message="that line is not valid JSON"),
    Shutdown(),
    Shutdown(message="maintenance"),
]


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


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
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


# --------------------------------------------------------------------------------------------
# parse_client_frame: errors and their order
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "code", "re_"),
    [
        # bad_json: not JSON at all.
        ("", ErrorCode.BAD_JSON, None),
        ("hello", ErrorCode.BAD_JSON, None),
        ('{"type":"say","text":"hi"', ErrorCode.BAD_JSON, None),
        ("{'type': 'say'}", ErrorCode.BAD_JSON, None),
        ('{"type":"say","text":"hi"} trailing', ErrorCode.BAD_JSON, None),
        # bad_frame: JSON, but not an object.
        ("[]", ErrorCode.BAD_FRAME, None),
        ('"say"', ErrorCode.BAD_FRAME, None),
        ("42", ErrorCode.BAD_FRAME, None),
        ("null", ErrorCode.BAD_FRAME, None),
        # bad_frame: no string type.
        ("{}", ErrorCode.BAD_FRAME, None),
        ('{"text":"hi"}', ErrorCode.BAD_FRAME, None),
        ('{"type":5}', ErrorCode.BAD_FRAME, None),
        ('{"type":null}', ErrorCode.BAD_FRAME, None),
        ('{"type":["say"]}', ErrorCode.BAD_FRAME, None),
        # bad_frame: unknown type (re names it).
        ('{"type":"dance"}', ErrorCode.BAD_FRAME, "dance"),
        ('{"type":"welcome","user":"a","users":[]}', ErrorCode.BAD_FRAME, "welcome"),
        ('{"type":"Say","text":"hi"}', ErrorCode.BAD_FRAME, "Say"),
        # bad_frame: missing or wrongly typed fields.
        ('{"type":"hello"}', ErrorCode.BAD_FRAME, "hello"),
        ('{"type":"hello","user":null}', ErrorCode.BAD_FRAME, "hello"),
        ('{"type":"hello","user":42}', ErrorCode.BAD_FRAME, "hello"),
        ('{"type":"hello","user":"a","history":"5"}', ErrorCode.BAD_FRAME, "hello"),
        ('{"type":"hello","user":"a","history":1.5}', ErrorCode.BAD_FRAME, "hello"),
        ('{"type":"hello","user":"a","history":true}', ErrorCode.BAD_FRAME, "hello"),
        ('{"type":"hello","user":"a","history":false}', ErrorCode.BAD_FRAME, "hello"),
        ('{"type":"hello","user":"a","history":-1}', ErrorCode.BAD_FRAME, "hello"),
        ('{"type":"hello","user":"a","password":123}', ErrorCode.BAD_FRAME, "hello"),
        ('{"type":"hello","user":"a","account":123}', ErrorCode.BAD_FRAME, "hello"),
        ('{"type":"hello","user":"a","account":["bob"]}', ErrorCode.BAD_FRAME, "hello"),
        ('{"type":"hello","user":"a","account":false}', ErrorCode.BAD_FRAME, "hello"),
        ('{"type":"say"}', ErrorCode.BAD_FRAME, "say"),
        ('{"type":"say","text":5}', ErrorCode.BAD_FRAME, "say"),
        ('{"type":"say","text":["hi"]}', ErrorCode.BAD_FRAME, "say"),
        ('{"type":"say","text":"hi","to":7}', ErrorCode.BAD_FRAME, "say"),
        ('{"type":"say","text":"hi","to":true}', ErrorCode.BAD_FRAME, "say"),
        ('{"type":"me"}', ErrorCode.BAD_FRAME, "me"),
        ('{"type":"me","text":{}}', ErrorCode.BAD_FRAME, "me"),
        ('{"type":"nick"}', ErrorCode.BAD_FRAME, "nick"),
        ('{"type":"nick","user":false}', ErrorCode.BAD_FRAME, "nick"),
    ],
)
def test_parse_client_frame_errors(line: str, code: ErrorCode, re_: str | None) -> None:
    with pytest.raises(FrameError) as caught:
        parse_client_frame(line)
    assert caught.value.code is code
    assert caught.value.re == re_
    frame = caught.value.to_frame()
    assert frame == Error(code=code.value, message=caught.value.message, re=re_)
    assert frame.message  # a human-readable explanation is always there


def test_bad_json_is_checked_before_bad_frame() -> None:
    # Broken JSON that would also be a bad frame (unknown type) is reported as bad_json.
    with pytest.raises(FrameError) as caught:
        parse_client_frame('{"type":"dance",')
    assert caught.value.code is ErrorCode.BAD_JSON


def test_deeply_nested_json_is_a_frame_error_not_a_crash() -> None:
    with pytest.raises(FrameError) as caught:
        parse_client_frame("[" * 200_000 + "]" * 200_000)
    assert caught.value.code in (ErrorCode.BAD_JSON, ErrorCode.BAD_FRAME)
    with pytest.raises(FrameError) as caught:
        parse_client_frame('{"type":"say","text":"hi","x":' + "[" * 200_000 + "]" * 200_000 + "}")
    assert caught.value.code in (ErrorCode.BAD_JSON, ErrorCode.BAD_FRAME)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"type":"say","text":"hi","room":"#lobby","x":[1,2]}', Say(text="hi", room="#lobby")),
        ('{"type":"who","room":"#ops","x":null}', Who(room="#ops")),
        ('{"type":"bye","reason":"done"}', Bye()),
        ('{"type":"hello","user":"alice","client":"bot/1.0"}', Hello(user="alice")),
        ('{"type":"ping","token":"t1","extra":null}', Ping(token="t1")),
        # Explicit null on an optional field counts as absent.
        ('{"type":"hello","user":"alice","history":null}', Hello(user="alice")),
        ('{"type":"say","text":"hi","to":null}', Say(text="hi")),
        ('{"type":"hello","user":"alice","history":0}', Hello(user="alice", history=0)),
        ('{"type":"hello","user":"bobby","account":"bob"}', Hello(user="bobby", account="bob")),
        ('{"type":"hello","user":"bobby","account":null}', Hello(user="bobby")),
        ('  {"type":"me","text":"waves"}  ', Me(text="waves")),
    ],
)
def test_unknown_extra_fields_are_ignored(line: str, expected: object) -> None:
    assert parse_client_frame(line) == expected


@FUZZ
@given(st.text())
def test_parse_client_frame_never_raises_anything_but_frame_error(line: str) -> None:
    try:
        parse_client_frame(line)
    except FrameError as error:
        assert error.code in (ErrorCode.BAD_JSON, ErrorCode.BAD_FRAME)


@FUZZ
@given(st.dictionaries(st.sampled_from(["type", "user", "text", "to", "history", "token"]), json_values))
def test_parse_client_frame_on_arbitrary_objects(obj: dict) -> None:
    try:
        frame = parse_client_frame(json.dumps(obj))
    except FrameError as error:
        assert error.code is ErrorCode.BAD_FRAME
        assert error.re == (obj["type"] if isinstance(obj.get("type"), str) else None)
    else:
        assert obj["type"] == frame.TYPE


# JSON may spell a lone UTF-16 surrogate with an escape ("\ud800"): valid, ASCII-only JSON, but
# no UTF-8 line can carry it onwards.  Such lines must be refused with an answer that encodes
# (or yield frames whose strings encode), so the connection stays usable.
SURROGATE_LINES = [
    '{"type":"\\ud800"}',
    '{"type":"say","text":"x\\ud800y"}',
    '{"type":"say","text":"hi","to":"\\udc80"}',
    '{"type":"me","text":"\\udfff"}',
    '{"type":"nick","user":"a\\ud800"}',
    '{"type":"ping","token":"\\ud800"}',
    '{"type":"ping","token":["\\ud800"]}',
    '{"type":"hello","user":"alice","password":"\\ud800"}',
]


def strings_in(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [text for item in value for text in strings_in(item)]
    if isinstance(value, dict):
        return [text for pair in value.items() for text in strings_in(list(pair))]
    if hasattr(value, "__dataclass_fields__"):
        return strings_in(list(vars(value).values()))
    return []


@pytest.mark.parametrize("line", SURROGATE_LINES)
def test_lone_surrogate_escapes_are_refused_or_encodable(line: str) -> None:
    try:
        frame = parse_client_frame(line)
    except FrameError as error:
        answer = error.to_frame()
        encode(answer)  # must not raise UnicodeEncodeError
        encode_text(answer)
        return
    for text in strings_in(frame):
        text.encode("utf-8")  # must not raise UnicodeEncodeError
    if isinstance(frame, Ping):
        encode(Pong(token=frame.token))
    if isinstance(frame, (Say, Me)):
        encode(
            Message(id=1, sender="a", text=sanitize_text(frame.text), ts=TS, to=getattr(frame, "to", None))
        )


def test_escaped_surrogate_pairs_are_fine_lone_ones_refused() -> None:
    assert parse_client_frame('{"type":"say","text":"\\ud83c\\udf89"}') == Say(text="🎉")
    with pytest.raises(FrameError) as caught:
        parse_client_frame('{"type":"say","text":"x\\ud800y"}')
    assert (caught.value.code, caught.value.re) == (ErrorCode.BAD_FRAME, "say")
    with pytest.raises(FrameError) as caught:
        parse_client_frame('{"type":"\\ud800"}')
    assert (caught.value.code, caught.value.re) == (ErrorCode.BAD_FRAME, None)


# Strict JSON (RFC 8259) both ways: Python's json accepts NaN, Infinity, -Infinity and numbers
# that overflow to infinity, then writes them back out as bare NaN/Infinity, which no browser
# parses.  The parser refuses them with bad_json; encode refuses to write them.
NOT_STRICT_JSON = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1E400", "[1,NaN]", '{"a":Infinity}']


@pytest.mark.parametrize("value", NOT_STRICT_JSON)
@pytest.mark.parametrize("parse", [parse_client_frame, parse_server_frame])
def test_nan_and_infinity_are_not_json(value: str, parse: object) -> None:
    for line in (f'{{"type":"ping","token":{value}}}', f'{{"type":"pong","token":{value}}}'):
        with pytest.raises(FrameError) as caught:
            parse(line)  # type: ignore[operator]
        assert caught.value.code is ErrorCode.BAD_JSON


def test_finite_floats_and_underflow_are_fine() -> None:
    assert parse_client_frame('{"type":"ping","token":[1.5,-0.0,1e-999,1e308]}') == Ping(
        token=[1.5, -0.0, 0.0, 1e308]
    )


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), [1, {"a": float("nan")}]])
def test_encode_never_writes_nan_or_infinity(value: object) -> None:
    with pytest.raises(ValueError):
        encode(Pong(token=value))


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_tokens_nest_at_most_max_depth() -> None:
    # The frame object is level 1, so a token may nest MAX_DEPTH - 1 deep, and echoes.
    frame = parse_client_frame('{"type":"ping","token":' + nested(MAX_DEPTH - 1) + "}")
    assert json.loads(encode(Pong(token=frame.token)))["token"] == json.loads(nested(MAX_DEPTH - 1))
    # 980 levels are accepted by json.loads in a handler thread, which json.dumps then cannot
    # encode (RecursionError: a traceback and a dead connection); 5,000 fit in a 16 KiB line.
    for depth in (MAX_DEPTH, 980, 5000):
        for parse in (parse_client_frame, parse_server_frame):
            with pytest.raises(FrameError) as caught:
                parse('{"type":"ping","token":' + nested(depth) + "}")
            assert caught.value.code is ErrorCode.BAD_FRAME
            assert str(MAX_DEPTH) in caught.value.message


@pytest.mark.parametrize(
    ("line", "field", "low"),
    [
        ('{"type":"hello","user":"a","history":-1}', "history", 0),
        ('{"type":"hello","user":"a","history":9223372036854775808}', "history", 0),
        ('{"type":"hello","user":"a","history":' + "9" * 4000 + "}", "history", 0),
        ('{"type":"history","limit":-1}', "limit", 0),
        ('{"type":"history","limit":9223372036854775808}', "limit", 0),
        ('{"type":"history","before":0}', "before", 1),
        ('{"type":"history","before":-9223372036854775809}', "before", 1),
        ('{"type":"history","before":9223372036854775808}', "before", 1),
    ],
)
def test_integer_fields_are_range_checked(line: str, field: str, low: int) -> None:
    with pytest.raises(FrameError) as caught:
        parse_client_frame(line)
    assert caught.value.code is ErrorCode.BAD_FRAME
    assert f"'{field}'" in caught.value.message
    assert f"from {low} to {MAX_INT}" in caught.value.message


def test_integer_fields_at_their_limits() -> None:
    assert parse_client_frame(f'{{"type":"history","limit":0,"before":{MAX_INT}}}') == HistoryRequest(
        limit=0, before=MAX_INT
    )
    assert parse_client_frame(f'{{"type":"history","limit":{MAX_INT},"before":1}}') == HistoryRequest(
        limit=MAX_INT, before=1
    )
    assert parse_client_frame(f'{{"type":"hello","user":"a","history":{MAX_INT}}}').history == MAX_INT


@pytest.mark.parametrize(
    "line",
    [
        f'{{"type":"message","id":{MAX_INT + 1},"from":"a","text":"t"}}',
        '{"type":"message","id":-1,"from":"a","text":"t"}',
        '{"type":"history_end","count":-1}',
        f'{{"type":"history_end","count":{MAX_INT + 1}}}',
        '{"type":"rooms","rooms":[{"room":"#a","users":-5}]}',
        '{"type":"welcome","user":"a","users":[],"protocol":-1}',
    ],
)
def test_server_integer_fields_are_range_checked(line: str) -> None:
    with pytest.raises(FrameError) as caught:
        parse_server_frame(line)
    assert caught.value.code is ErrorCode.BAD_FRAME
    assert parse_server_frame('{"type":"history_end","count":0}') == HistoryEnd(count=0)


@pytest.mark.parametrize(
    "line",
    ["/history " + "1" * 5000, "/history " + "0" * 5000, f"/history {MAX_INT + 1}", "/history ²"],
)
def test_text_history_number_out_of_range_is_a_usage_error(line: str) -> None:
    with pytest.raises(FrameError) as caught:
        parse_text_command(line)
    assert (caught.value.code, caught.value.message) == (ErrorCode.BAD_FRAME, "usage: /history [N]")


def test_text_history_number_at_its_limit() -> None:
    assert parse_text_command(f"/history {MAX_INT}") == TextCommand(HistoryRequest(limit=MAX_INT))


def test_parse_server_frame_rejects_unknown_type_and_client_frames() -> None:
    with pytest.raises(FrameError) as caught:
        parse_server_frame('{"type":"typing","user":"bob"}')
    assert (caught.value.code, caught.value.re) == (ErrorCode.BAD_FRAME, "typing")
    with pytest.raises(FrameError) as caught:
        parse_server_frame('{"type":"message","id":true,"from":"a","text":"t"}')
    assert (caught.value.code, caught.value.re) == (ErrorCode.BAD_FRAME, "message")
    with pytest.raises(FrameError) as caught:
        parse_server_frame('{"type":"users","users":["a",1]}')
    assert (caught.value.code, caught.value.re) == (ErrorCode.BAD_FRAME, "users")
    with pytest.raises(FrameError) as caught:
        parse_server_frame("not json")
    assert caught.value.code is ErrorCode.BAD_JSON


def test_parse_server_frame_tolerates_missing_optional_fields_and_extras() -> None:
    assert parse_server_frame('{"type":"message","id":1,"from":"a","text":"t","x":[1]}') == Message(
        id=1, sender="a", text="t", ts=""
    )
    assert parse_server_frame('{"type":"message","id":1,"from":"a","text":"t","room":"#ops"}') == Message(
        id=1, sender="a", text="t", ts="", room="#ops"
    )
    assert parse_server_frame('{"type":"left","user":"bob"}') == Left(user="bob", ts="", reason="quit")
    assert parse_server_frame('{"type":"pong"}') == Pong()


# --------------------------------------------------------------------------------------------
# LineDecoder
# --------------------------------------------------------------------------------------------


def drain(decoder: LineDecoder) -> list[object]:
    """Events up to and including the next NEED_DATA or EOF."""
    events: list[object] = []
    while True:
        event = decoder.next_event()
        events.append(event)
        if event is NEED_DATA or event is EOF:
            return events
        assert len(events) < 100_000


def feed(decoder: LineDecoder, chunks: list[bytes], eof: bool = True) -> list[object]:
    """Feed chunks one by one (draining after each), then EOF; events without NEED_DATA."""
    events: list[object] = []
    for chunk in chunks:
        if chunk:
            decoder.receive_data(chunk)
            events += drain(decoder)
    if eof:
        decoder.receive_data(b"")
        events += drain(decoder)
    return [event for event in events if event is not NEED_DATA]


def test_decoder_two_frames_in_one_chunk() -> None:
    decoder = LineDecoder()
    decoder.receive_data(b'{"type":"who"}\nhello\n')
    assert drain(decoder) == [Line('{"type":"who"}', b"{"), Line("hello", b"h"), NEED_DATA]
    assert decoder.buffered == 0


def test_decoder_one_byte_at_a_time() -> None:
    decoder = LineDecoder()
    events: list[object] = []
    for byte in "José ☕\nbob\n".encode():
        decoder.receive_data(bytes([byte]))
        events += drain(decoder)
    assert [event for event in events if event is not NEED_DATA] == [
        Line("José ☕", b"J"),
        Line("bob", b"b"),
    ]
    # Every byte that did not complete a line answered NEED_DATA.
    assert events.count(NEED_DATA) == len("José ☕\nbob\n".encode())


def test_decoder_crlf_accepted_and_cr_dropped() -> None:
    decoder = LineDecoder()
    decoder.receive_data(b"alice\r\nhi there\r\n\r\nlast\n")
    assert drain(decoder) == [
        Line("alice", b"a"),
        Line("hi there", b"h"),
        Line("", b""),
        Line("last", b"l"),
        NEED_DATA,
    ]


def test_decoder_cr_split_from_lf_across_chunks() -> None:
    assert feed(LineDecoder(), [b"alice\r", b"\nbob\r", b"\n"]) == [
        Line("alice", b"a"),
        Line("bob", b"b"),
        EOF,
    ]


def test_decoder_only_the_cr_before_lf_is_dropped() -> None:
    assert feed(LineDecoder(), [b"a\rb\r\r\n"]) == [Line("a\rb\r", b"a"), EOF]


def test_decoder_limit_counts_line_end() -> None:
    # max_line=10: a 9-byte line plus "\n" (10 bytes) is fine.
    decoder = LineDecoder(max_line=10)
    decoder.receive_data(b"123456789\n")
    assert drain(decoder) == [Line("123456789", b"1"), NEED_DATA]
    # A 10-byte line plus "\n" (11 bytes) is too long.
    decoder = LineDecoder(max_line=10)
    decoder.receive_data(b"abcdefghij\n")
    assert drain(decoder) == [LineTooLong(b"a"), NEED_DATA]
    # "\r\n" counts two bytes: 9 bytes + "\r\n" is 11.
    decoder = LineDecoder(max_line=10)
    decoder.receive_data(b"123456789\r\n12345678\r\n")
    assert drain(decoder) == [LineTooLong(b"1"), Line("12345678", b"1"), NEED_DATA]


def test_decoder_limit_when_line_end_arrives_separately() -> None:
    decoder = LineDecoder(max_line=10)
    decoder.receive_data(b"123456789")
    assert drain(decoder) == [NEED_DATA]
    decoder.receive_data(b"\n")
    assert drain(decoder) == [Line("123456789", b"1"), NEED_DATA]


def test_decoder_too_long_reported_once_as_soon_as_limit_passed() -> None:
    decoder = LineDecoder(max_line=10)
    decoder.receive_data(b"xxxxxxxxx")  # 9 bytes: could still be a 10-byte line with its "\n"
    assert drain(decoder) == [NEED_DATA]
    decoder.receive_data(b"x")  # 10 bytes and no "\n": over the limit now, before any line end
    assert drain(decoder) == [LineTooLong(b"x"), NEED_DATA]
    assert decoder.buffered == 0
    for _ in range(50):
        decoder.receive_data(b"yyyyyyy")
        assert drain(decoder) == [NEED_DATA]
        assert decoder.buffered == 0
    decoder.receive_data(b"yy\nnext\n")
    assert drain(decoder) == [Line("next", b"n"), NEED_DATA]


def test_decoder_never_holds_more_than_limit_plus_one_chunk() -> None:
    decoder = LineDecoder(max_line=10)
    events: list[object] = []
    for chunk in [b"a" * 7] * 20 + [b"a\nok\n"]:
        decoder.receive_data(chunk)
        assert decoder.buffered <= decoder.max_line + len(chunk)
        events += drain(decoder)
        assert decoder.buffered < decoder.max_line
    assert [event for event in events if event is not NEED_DATA] == [LineTooLong(b"a"), Line("ok", b"o")]


def test_decoder_long_line_then_next_line_in_same_chunk() -> None:
    decoder = LineDecoder(max_line=10)
    decoder.receive_data(b"z" * 30 + b"\nfine\n" + b"w" * 25 + b"\r\nalso ok\r\n")
    assert drain(decoder) == [
        LineTooLong(b"z"),
        Line("fine", b"f"),
        LineTooLong(b"w"),
        Line("also ok", b"a"),
        NEED_DATA,
    ]


def test_decoder_one_mebibyte_line_in_64k_chunks_stays_bounded() -> None:
    decoder = LineDecoder()  # default limit, 16 KiB
    assert decoder.max_line == 16 * 1024
    chunk = b"A" * (64 * 1024)
    too_long = 0
    for _ in range(16):  # 1 MiB without a newline
        decoder.receive_data(chunk)
        assert decoder.buffered <= decoder.max_line + len(chunk)
        for event in drain(decoder):
            assert not isinstance(event, (Line, BadEncoding))
            too_long += isinstance(event, LineTooLong)
        assert decoder.buffered <= decoder.max_line
    assert too_long == 1
    decoder.receive_data(b'tail\n{"type":"who"}\n')
    assert drain(decoder) == [Line('{"type":"who"}', b"{"), NEED_DATA]


def test_decoder_bad_encoding_then_next_line_fine() -> None:
    decoder = LineDecoder()
    # Latin-1, stray bytes, a truncated sequence, an encoded surrogate (CESU-8), an overlong "/".
    decoder.receive_data(b"caf\xe9\n\xff\xfe\nok\n\xc3\n\xed\xa0\x80\n\xc0\xaf\n")
    assert drain(decoder) == [
        BadEncoding(b"c"),
        BadEncoding(b"\xff"),
        Line("ok", b"o"),
        BadEncoding(b"\xc3"),
        BadEncoding(b"\xed"),
        BadEncoding(b"\xc0"),
        NEED_DATA,
    ]


def test_decoder_multibyte_char_split_across_chunks_is_fine() -> None:
    data = "☕".encode()
    assert feed(LineDecoder(), [data[:1], data[1:2], data[2:] + b"\n"]) == [Line("☕", b"\xe2"), EOF]


def test_decoder_eof_mid_line_discards_partial_line() -> None:
    decoder = LineDecoder()
    decoder.receive_data(b"complete\npartial")
    assert drain(decoder) == [Line("complete", b"c"), NEED_DATA]
    decoder.receive_data(b"")
    assert drain(decoder) == [EOF]
    assert decoder.buffered == 0
    assert decoder.next_event() is EOF  # stays at EOF
    with pytest.raises(RuntimeError):
        decoder.receive_data(b"more")


def test_decoder_eof_delivers_complete_lines_first() -> None:
    decoder = LineDecoder()
    decoder.receive_data(b"one\ntwo\nthr")
    decoder.receive_data(b"")
    assert drain(decoder) == [Line("one", b"o"), Line("two", b"t"), EOF]


def test_decoder_eof_while_discarding() -> None:
    assert feed(LineDecoder(max_line=4), [b"abcdefgh"]) == [LineTooLong(b"a"), EOF]


def test_decoder_first_byte_and_mode_detection() -> None:
    decoder = LineDecoder()
    decoder.receive_data(b'{"type":"hello","user":"a"}\nalice\n\n \x7b\n')
    events = drain(decoder)
    assert [event.first_byte for event in events[:-1]] == [b"{", b"a", b"", b" "]  # type: ignore[union-attr]
    assert [detect_mode(event.first_byte) for event in events[:-1]] == [  # type: ignore[union-attr]
        Mode.JSON,
        Mode.TEXT,
        Mode.TEXT,
        Mode.TEXT,
    ]
    assert detect_mode(b"{") is Mode.JSON
    assert detect_mode(b'{"type"') is Mode.JSON
    assert detect_mode(b"[") is Mode.TEXT
    assert detect_mode(b"a") is Mode.TEXT
    assert detect_mode(b"") is Mode.TEXT
    assert detect_mode(b"\xff") is Mode.TEXT


def test_decoder_first_byte_of_refused_lines() -> None:
    # The mode is fixed by the first line even when it is refused: the byte must be reported.
    decoder = LineDecoder(max_line=8)
    decoder.receive_data(b"{" + b"x" * 20 + b"\n{\xff\n")
    assert drain(decoder) == [LineTooLong(b"{"), BadEncoding(b"{"), NEED_DATA]


def test_decoder_rejects_tiny_limit() -> None:
    with pytest.raises(ValueError):
        LineDecoder(max_line=1)
    assert feed(LineDecoder(max_line=2), [b"a\nab\n\n"]) == [
        Line("a", b"a"),
        LineTooLong(b"a"),
        Line("", b""),
        EOF,
    ]


def reference_events(stream: bytes, max_line: int) -> list[object]:
    """What the contract says a stream becomes, computed on the whole stream at once."""
    *lines, partial = stream.split(b"\n")
    events: list[object] = []
    for raw in lines:
        if len(raw) + 1 > max_line:
            events.append(LineTooLong(raw[:1]))
            continue
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        try:
            events.append(Line(raw.decode("utf-8"), raw[:1]))
        except UnicodeDecodeError:
            events.append(BadEncoding(raw[:1]))
    if len(partial) >= max_line:
        events.append(LineTooLong(partial[:1]))
    events.append(EOF)
    return events


stream_bytes = st.lists(
    st.sampled_from([b"\n", b"\r", b"\r\n", b"{", b"a", b"xyz", b"\xff", b"\xc3", b"\xa9", "☕".encode()]),
    max_size=60,
).map(b"".join) | st.binary(max_size=200)


@st.composite
def split_stream(draw: st.DrawFn) -> tuple[bytes, list[bytes], list[bytes], int]:
    stream = draw(stream_bytes)
    max_line = draw(st.integers(min_value=2, max_value=20))

    def cut() -> list[bytes]:
        points = sorted(set(draw(st.lists(st.integers(0, len(stream)), max_size=20))))
        edges = [0, *points, len(stream)]
        return [stream[a:b] for a, b in pairwise(edges) if b > a]

    return stream, cut(), cut(), max_line


@FUZZ
@given(split_stream())
def test_decoder_fuzz_split_invariance_and_bounded_buffer(
    case: tuple[bytes, list[bytes], list[bytes], int],
) -> None:
    stream, chunks_a, chunks_b, max_line = case
    results = []
    for chunks in (chunks_a, chunks_b, [stream] if stream else [], [bytes([b]) for b in stream]):
        decoder = LineDecoder(max_line=max_line)
        largest = max((len(chunk) for chunk in chunks), default=0)
        events: list[object] = []
        for chunk in chunks:
            decoder.receive_data(chunk)
            assert decoder.buffered <= max_line + largest
            while True:
                event = decoder.next_event()
                assert decoder.buffered <= max_line + largest
                if event is NEED_DATA:
                    break
                assert event is not EOF
                events.append(event)
            assert decoder.buffered < max_line
        decoder.receive_data(b"")
        events += drain(decoder)
        assert decoder.buffered == 0
        results.append(events)
    assert results[0] == results[1] == results[2] == results[3]
    assert results[0] == reference_events(stream, max_line)
    for event in results[0]:
        if isinstance(event, Line):
            assert "\n" not in event.text
            assert len(event.text.encode("utf-8")) + 1 <= max_line


# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("alice", "alice"),
        ("Bob_2", "Bob_2"),
        ("a-b.c", "a-b.c"),
        ("नमस्ते", "नमस्ते"),  # virama and vowel sign (Mn/Mc) after letters
        ("कि", "कि"),
        ("José", "José"),
        ("Jose\u0301", "José"),  # NFKC composes e + combining acute
        ("x\u0301", "x\u0301"),  # no precomposed form: the combining mark stays, after a letter
        ("x\u0301\u0323", "x\u0323\u0301"),  # several marks after one letter (NFKC reorders them)
        ("  alice  ", "alice"),  # trimmed
        ("ａｌｉｃｅ", "alice"),  # NFKC: fullwidth letters
        ("ﬁsh", "fish"),  # NFKC: ligature
        ("42", "42"),
        ("_", "_"),
        ("Ωμέγα", "Ωμέγα"),
        ("名前", "名前"),
        ("a" * 32, "a" * 32),
    ],
)
def test_accepted_names(raw: str, expected: str) -> None:
    assert normalize_name(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "a b",
        "a\tb",
        "a\u00a0b",  # NFKC turns no-break space into a space
        "a" * 33,
        "ａ" * 33,
        "al\u200bice",  # zero-width space (Cf)
        "al\u200dice",  # zero-width joiner (Cf)
        "al\u00adice",  # soft hyphen (Cf)
        "\ufeffalice\ufeff",  # BOM / zero-width no-break space
        "al\x00ice",
        "ali\x07ce",
        "alice\x1b[31m",
        "a\x7fb",
        "a\x9bb",  # C1 CSI
        "😀",
        "alice😀",
        "\u0301a",  # leading combining mark
        "1\u0301",  # combining mark after a digit
        "_\u0301",  # combining mark after punctuation
        "a@b",
        "a/b",
        "<script>",
        "a\u20dd",  # enclosing mark (Me)
    ],
)
def test_refused_names(raw: str) -> None:
    with pytest.raises(BadName) as caught:
        normalize_name(raw)
    assert str(caught.value)


ALLOWED = ("Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Nd")


def check_valid_name(name: str) -> None:
    assert 1 <= len(name) <= 32
    assert unicodedata.normalize("NFKC", name) == name
    assert name == name.strip()
    previous = None
    for char in name:
        category = unicodedata.category(char)
        assert category in ALLOWED or char in "_-.", (char, category)
        if category in ("Mn", "Mc"):
            assert previous is not None and previous[0] in ("L", "M"), (char, previous)
        previous = category


name_text = st.text() | st.text(
    alphabet=st.characters(categories=["L", "M", "Nd", "Zs", "Cf", "Cc"], include_characters="_-."),
    max_size=40,
)


@FUZZ
@given(name_text)
def test_normalize_name_fuzz(raw: str) -> None:
    try:
        name = normalize_name(raw)
    except BadName:
        return
    check_valid_name(name)
    assert normalize_name(name) == name
    assert name_key(name) == name_key(raw)


def test_name_key_is_case_insensitive_and_nfkc() -> None:
    assert name_key("ALICE") == name_key("alice") == name_key("Alice")
    assert name_key("ａｌｉｃｅ") == name_key("alice")
    assert name_key("ＡＬＩＣＥ") == name_key("alice")
    assert name_key("Straße") == name_key("STRASSE")
    assert name_key("José") == name_key("JOSE\u0301")
    assert name_key(" alice ") == name_key("alice")
    assert name_key("alice") != name_key("alice2")


@FUZZ
@given(st.text(alphabet=st.characters(categories=["Lu", "Ll"], max_codepoint=0xFF), min_size=1, max_size=32))
def test_name_key_ignores_case_of_latin_names(name: str) -> None:
    assert name_key(name.upper()) == name_key(name.lower()) == name_key(name)


# --------------------------------------------------------------------------------------------
# Text sanitising
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\x1b[31mred\x07", "[31mred"),
        ("tab\tkept", "tab\tkept"),
        ("a\x00b\x01c\x1fd", "abcd"),
        ("new\nline\r", "newline"),
        ("del\x7f", "del"),
        ("c1\x80\x85\x9b\x9f", "c1"),
        ("\x9b31mcsi", "31mcsi"),
        ("José ☕ नमस्ते", "José ☕ नमस्ते"),
        ("\xa0nbsp kept", "\xa0nbsp kept"),  # U+00A0 is just past C1
        ("", ""),
    ],
)
def test_sanitize_text(raw: str, expected: str) -> None:
    assert sanitize_text(raw) == expected


CONTROLS = {*map(chr, range(0x20)), "\x7f", *map(chr, range(0x80, 0xA0))} - {"\t"}


@FUZZ
@given(st.text())
def test_sanitize_text_fuzz(raw: str) -> None:
    clean = sanitize_text(raw)
    assert not set(clean) & CONTROLS
    assert clean == "".join(char for char in raw if char not in CONTROLS)
    assert sanitize_text(clean) == clean


@pytest.mark.parametrize(
    ("text", "blank"),
    [
        ("", True),
        (" ", True),
        ("\t \t", True),
        ("\u3000", True),
        ("a", False),
        ("  a  ", False),
        (".", False),
    ],
)
def test_is_blank(text: str, blank: bool) -> None:
    assert is_blank(text) is blank


def test_sanitized_control_only_text_is_blank() -> None:
    assert is_blank(sanitize_text("\x1b\x07\r\n\x00"))
    assert not is_blank(sanitize_text("\x1b[0m"))


# --------------------------------------------------------------------------------------------
# Text mode
# --------------------------------------------------------------------------------------------


def test_text_lines_seed_wording() -> None:
    assert text_line(Joined(user="Alice", ts=TS)) == "Alice has joined the chat!"
    assert text_line(Left(user="Alice", ts=TS)) == "Alice has left the chat!"
    assert text_line(Left(user="Alice", ts=TS, reason="quit")) == "Alice has left the chat!"
    assert text_line(Left(user="Alice", ts=TS, reason="disconnected")) == "Alice has left the chat!"
    assert text_line(Message(id=1, sender="Alice", text="Hello everyone!", ts=TS)) == "Alice: Hello everyone!"


@pytest.mark.parametrize(
    ("frame", "line"),
    [
        (Left(user="bob", ts=TS, reason="too_slow"), "bob has left the chat! (too slow)"),
        (Left(user="bob", ts=TS, reason="replaced"), "bob has left the chat! (replaced)"),
        (Left(user="bob", ts=TS, reason="kicked"), "bob has left the chat! (kicked)"),
        (Message(id=1, sender="alice", text="psst", ts=TS, to="bob"), "[private to bob] alice: psst"),
        (Message(id=1, sender="alice", text="waves", ts=TS, action=True), "* alice waves"),
        (
            Message(id=1, sender="alice", text="waves", ts=TS, to="bob", action=True),
            "[private to bob] * alice waves",
        ),
        (Message(id=1, sender="alice", text="old", ts=TS, history=True), "[history] alice: old"),
        (
            Welcome(user="alice", users=("alice", "bob"), server="messenger/1.0.0"),
            "Welcome, alice! 2 people online: alice, bob. Type /help for commands.",
        ),
        (
            Welcome(user="alice", users=("alice",), server="messenger/1.0.0"),
            "Welcome, alice! 1 person online: alice. Type /help for commands.",
        ),
        (Users(users=("alice", "bob")), "Online (2): alice, bob"),
        (Renamed(old="alice", new="alice2", ts=TS), "alice is now known as alice2"),
        (Pong(), "pong"),
        (Pong(token="t1"), "pong t1"),
        (Error(code="name_taken", message="that name is taken", re="hello"), "error: that name is taken"),
        (Shutdown(message="maintenance"), "maintenance"),
        (Shutdown(), "Server is shutting down. Goodbye!"),
        (Shutdown(message=""), "Server is shutting down. Goodbye!"),
    ],
)
def test_text_line_wording(frame: object, line: str) -> None:
    assert text_line(frame) == line  # type: ignore[arg-type]
    assert encode_text(frame) == line.encode("utf-8") + b"\n"  # type: ignore[arg-type]


def test_every_server_frame_type_has_text_wording() -> None:
    for frame in SERVER_FRAMES:
        line = text_line(frame)  # type: ignore[arg-type]
        assert line and "\n" not in line
        if isinstance(frame, Error):
            assert line.startswith("error:")


def test_text_line_refuses_client_frames() -> None:
    with pytest.raises(TypeError):
        text_line(Say(text="hi"))  # type: ignore[arg-type]


def test_encode_text_is_utf8_and_encode_for_picks_mode() -> None:
    frame = Message(id=1, sender="José", text="☕", ts=TS)
    assert encode_text(frame) == "José: ☕\n".encode()
    assert encode_for(Mode.TEXT, frame) == encode_text(frame)
    assert encode_for(Mode.JSON, frame) == encode(frame)
    assert encode_for(Mode.JSON, frame) != encode_for(Mode.TEXT, frame)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("hello", TextCommand(Say(text="hello"))),
        ("  spaced  ", TextCommand(Say(text="  spaced  "))),
        ("not /a command", TextCommand(Say(text="not /a command"))),
        ("//x", TextCommand(Say(text="/x"))),
        ("//", TextCommand(Say(text="/"))),
        ("///who", TextCommand(Say(text="//who"))),
        ("/who", TextCommand(Who())),
        ("/WHO", TextCommand(Who())),
        ("/me waves hello", TextCommand(Me(text="waves hello"))),
        ("/msg bob hi there", TextCommand(Say(text="hi there", to="bob"))),
        ("/nick alice2", TextCommand(Nick(user="alice2"))),
        ("/quit", TextCommand(Bye())),
        ("/help", TextCommand(help=True)),
    ],
)
def test_parse_text_command(line: str, expected: TextCommand) -> None:
    assert parse_text_command(line) == expected


def test_help_command_carries_no_frame() -> None:
    command = parse_text_command("/help")
    assert command.help is True
    assert command.frame is None
    assert parse_text_command("hi").help is False


@pytest.mark.parametrize("line", ["/dance", "/", "/whom", "/ who"])
def test_unknown_text_command(line: str) -> None:
    with pytest.raises(FrameError) as caught:
        parse_text_command(line)
    assert caught.value.code is ErrorCode.UNKNOWN_COMMAND
    assert text_line(caught.value.to_frame()).startswith("error:")


@pytest.mark.parametrize("line", ["/msg", "/msg ", "/msg   "])
def test_msg_without_name_raises(line: str) -> None:
    with pytest.raises(FrameError) as caught:
        parse_text_command(line)
    assert caught.value.code is ErrorCode.BAD_FRAME
    assert "/msg" in caught.value.message


@pytest.mark.parametrize("line", ["/nick", "/nick   "])
def test_nick_without_name_raises(line: str) -> None:
    with pytest.raises(FrameError) as caught:
        parse_text_command(line)
    assert caught.value.code is ErrorCode.BAD_FRAME


def test_help_text_is_generated_from_the_command_table() -> None:
    """The chat commands' paragraph as it always was; then one paragraph for the presence
    commands and one for the operators', naming every command of the table."""
    assert TEXT_HELP[:5] == (
        "Commands: /who (who is online), /msg NAME TEXT (private message), /me TEXT (action),",
        "/nick NAME (change name), /join #ROOM (join a room, or switch to it), /part [#ROOM]",
        "(leave a room), /rooms (list rooms), /who [#ROOM], /history [N] (earlier messages),",
        "/ping (check the server answers), /quit (leave), /help (this text). Lines go to the room",
        "joined last. Start a message with // to send a line that begins with /.",
    )
    assert TEXT_HELP[5].startswith("Also: /away [TEXT] (say you are away), /back")
    assert [line for line in TEXT_HELP if line.startswith("Operators: ")] == [
        "Operators: /kick NAME [REASON] (disconnect someone), /ban NAME|ADDRESS|CIDR [DURATION]"
    ]
    assert all(len(line) <= 88 for line in TEXT_HELP)


def test_one_command_table_makes_parser_help_and_completion() -> None:
    help_text = " ".join(TEXT_HELP)
    parsed = [command for command in TEXT_COMMANDS if command.parse is not None]
    assert tuple(sorted({f"/{command.name}" for command in TEXT_COMMANDS})) == COMMAND_NAMES
    assert terminal.COMMANDS == COMMAND_NAMES
    for command in TEXT_COMMANDS:
        assert command.help_item in help_text
    for command in parsed:
        try:
            parse_text_command(f"/{command.name.upper()}")
        except FrameError as caught:  # a command that needs arguments says how to use it
            assert caught.message == f"usage: {command.usage}"
            assert command.usage in help_text
    assert {f"/{command.name}" for command in parsed} == set(COMMAND_NAMES)


def test_two_rows_parsing_one_command_are_refused() -> None:
    row = SlashCommand("dance", parse=lambda rest: TextCommand())
    with pytest.raises(ValueError, match="/dance"):
        textmode._parsers((row, row))


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


# --------------------------------------------------------------------------------------------
# No I/O in the protocol module
# --------------------------------------------------------------------------------------------

FORBIDDEN = {
    "socket",
    "socketserver",
    "threading",
    "selectors",
    "asyncio",
    "ssl",
    "rich",
    "typer",
    "subprocess",
}


def test_protocol_imports_no_io_module() -> None:
    """Every module of the protocol package, found by walking its directory (so a module added
    later is checked too), imports only the standard library and the package's own modules."""
    package = Path(protocol.__file__).parent
    modules = sorted(package.rglob("*.py"))
    assert {path.stem for path in modules} >= {"__init__", "frames", "codec", "lines", "names", "textmode"}
    imported: set[str] = set()
    for path in modules:
        source = path.read_text(encoding="utf-8")
        assert "__import__" not in source and "importlib" not in source
        depth = len(path.relative_to(package).parts)  # 1 for a module of the package itself
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level:
                assert node.level <= depth, f"{path.name} imports from outside the protocol package"
            elif isinstance(node, ast.ImportFrom):
                imported.add((node.module or "").split(".")[0])
    assert imported  # the walk did find the imports
    assert "json" in imported and "unicodedata" in imported
    assert not imported & FORBIDDEN
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}


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

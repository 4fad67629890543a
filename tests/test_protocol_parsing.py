"""Parsing frames: parse_client_frame's errors and their order, lone surrogates, strict JSON both
ways, integer ranges and nesting, and parse_server_frame (no sockets).

The contract under test is docs/protocol.md; each test asserts specific values so it can fail.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messenger.protocol import (
    MAX_DEPTH,
    MAX_INT,
    Bye,
    Error,
    ErrorCode,
    FrameError,
    Hello,
    HistoryEnd,
    HistoryRequest,
    Left,
    Me,
    Message,
    Ping,
    Pong,
    Say,
    TextCommand,
    Who,
    encode,
    encode_text,
    parse_client_frame,
    parse_server_frame,
    parse_text_command,
    sanitize_text,
)

from .protocol_cases import FUZZ, TS, json_values

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

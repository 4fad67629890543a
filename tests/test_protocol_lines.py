"""LineDecoder: bytes in, lines and events out (limits, line ends, bad encodings, EOF, the mode
fixed by the first byte), with a fuzzed check that how the bytes are cut changes nothing.

The contract under test is docs/protocol.md; each test asserts specific values so it can fail.
"""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messenger.protocol import EOF, NEED_DATA, BadEncoding, Line, LineDecoder, LineTooLong, Mode, detect_mode

from .protocol_cases import FUZZ

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

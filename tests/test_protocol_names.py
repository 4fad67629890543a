"""Names (normalize_name, name_key) and text sanitising (sanitize_text, is_blank) (no sockets).

The contract under test is docs/protocol.md; each test asserts specific values so it can fail.
"""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messenger.protocol import BadName, is_blank, name_key, normalize_name, sanitize_text

from .protocol_cases import FUZZ

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

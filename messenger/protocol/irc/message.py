"""IRC lines: parsing, serialising and splitting, without I/O.

This module owns what an IRC line *is* on the wire (RFC 1459 as modern.ircdocs.horse describes
it, with IRCv3 message tags): ``@tags :source COMMAND params :trailing``.  Parsing never raises:
a line that breaks a rule comes back as a ``ParseError`` value naming the rule, so a transport
answers it with a numeric and goes on reading (an IRC server never drops a client for one bad
line).  Limits, counted in bytes as IRC does:

- the line without its tags, CRLF included, is at most 512 bytes (``MAX_LINE``);
- the tags a client sends, without ``@`` and the space after them, at most 4094 bytes
  (``MAX_CLIENT_TAGS``, the message-tags specification's limit for clients: a longer line is
  ``417`` and ignored, never delivered without its tags); the server's own tags, ``@`` and the
  space included, at most 8191 bytes (``MAX_TAGS``);
- at most 15 parameters (``MAX_PARAMS``).

``split_text`` cuts a long messenger message into pieces that each fit one line with a given
prefix, at character boundaries (never inside a UTF-8 sequence, nor before a combining mark).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

MAX_LINE = 512  # the line without tags, CRLF included
MAX_TAGS = 8191  # '@', the tags and the space after them, in what the server sends
MAX_CLIENT_TAGS = 4094  # the tags a client sends, without '@' and the space after them
MAX_PARAMS = 15
# What a transport's line decoder may hold of one line: its tags and the rest, with the line end.
MAX_INPUT = MAX_CLIENT_TAGS + 2 + MAX_LINE

_TAG_ESCAPES = {"\\": "\\\\", ";": "\\:", " ": "\\s", "\r": "\\r", "\n": "\\n"}
_TAG_UNESCAPES = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}


@dataclass(frozen=True)
class IRCMessage:
    """One IRC line, parsed: ``tags`` (a value of None: the tag has none), ``source`` (without
    its ``:``), ``command`` (upper case) and ``params`` (the trailing one last, without ``:``)."""

    command: str
    params: tuple[str, ...] = ()
    source: str | None = None
    tags: dict[str, str | None] = field(default_factory=dict, hash=False)

    def param(self, index: int, default: str = "") -> str:
        return self.params[index] if index < len(self.params) else default


@dataclass(frozen=True)
class ParseError:
    """A line that breaks a rule: ``reason`` names it; ``command`` is what the line's command
    looked like (``*`` when none could be read), for the answer."""

    reason: str
    command: str = "*"
    kind: str = "invalid"  # "too_long", "encoding", "empty" or "invalid"


def escape_tag_value(value: str) -> str:
    return "".join(_TAG_ESCAPES.get(char, char) for char in value)


def unescape_tag_value(value: str) -> str:
    """IRCv3's unescaping: a backslash before any other character drops the backslash, and a
    lone backslash at the end is dropped."""
    out: list[str] = []
    chars = iter(value)
    for char in chars:
        if char != "\\":
            out.append(char)
            continue
        following = next(chars, "")
        out.append(_TAG_UNESCAPES.get(following, following))
    return "".join(out)


def _parse_tags(raw: str) -> dict[str, str | None] | ParseError:
    tags: dict[str, str | None] = {}
    for item in raw.split(";"):
        if not item:
            continue
        key, equals, value = item.partition("=")
        if not key or not _valid_tag_key(key):
            return ParseError(f"bad tag name {key[:32]!r}")
        tags[key] = unescape_tag_value(value) if equals and value else None
    return tags


def _valid_tag_key(key: str) -> bool:
    name = key[1:] if key.startswith("+") else key
    return bool(name) and all(char.isascii() and (char.isalnum() or char in "-./") for char in name)


def parse_line(raw: bytes) -> IRCMessage | ParseError:
    """One line (its CRLF or LF already cut off) as an IRCMessage, or a ParseError saying why
    not.  Every byte sequence gives one or the other."""
    tag_part = b""
    rest = raw
    if rest.startswith(b"@"):
        tag_part, _, rest = rest[1:].partition(b" ")
        if len(tag_part) > MAX_CLIENT_TAGS:
            return ParseError("the tags are longer than 4094 bytes", kind="too_long")
        rest = rest.lstrip(b" ")
    if len(rest) + 2 > MAX_LINE:
        return ParseError("the line is longer than 512 bytes", _command_of(rest), "too_long")
    try:
        text = rest.decode("utf-8")
        tag_text = tag_part.decode("utf-8")
    except UnicodeDecodeError:
        return ParseError("the line is not valid UTF-8", _command_of(rest), "encoding")
    if _forbidden_in(text) or _forbidden_in(tag_text):  # they end a line (CR, LF), or C strings
        return ParseError("NUL, CR and LF may not appear inside a line", _command_of(rest))
    tags = _parse_tags(tag_text) if tag_text else {}
    if isinstance(tags, ParseError):
        return tags
    return _parse_rest(text, tags)


def _forbidden_in(text: str) -> bool:
    return "\0" in text or "\r" in text or "\n" in text


def _command_of(rest: bytes) -> str:
    """The command a line seems to carry, for an answer about a line that could not be read."""
    words = rest.split(b" ")
    if words and words[0].startswith(b":"):
        words = words[1:]
    word = next((w for w in words if w), b"")
    if word and word.isalnum() and word.isascii() and len(word) <= 32:
        return word.decode("ascii").upper()
    return "*"


def _parse_rest(text: str, tags: dict[str, str | None]) -> IRCMessage | ParseError:
    source = None
    text = text.lstrip(" ")
    if text.startswith(":"):
        source, _, text = text[1:].partition(" ")
        text = text.lstrip(" ")
    head, colon, trailing = text.partition(" :")
    if not colon and text.startswith(":"):  # nothing but a trailing parameter: no command
        return ParseError("the line has no command", kind="empty")
    words = [word for word in head.split(" ") if word]
    if not words:
        return ParseError("the line has no command", kind="empty")
    command = words[0].upper()
    if not (command.isascii() and (command.isalpha() or (command.isdigit() and len(command) == 3))):
        return ParseError(f"{words[0][:32]!r} is not a command")
    params = words[1:]
    if colon:
        params.append(trailing)
    if len(params) > MAX_PARAMS:
        return ParseError(f"more than {MAX_PARAMS} parameters", command)
    return IRCMessage(command, tuple(params), source, tags)


def clean(text: str) -> str:
    """Text made safe for one line: NUL, CR and LF become spaces (they would end the line)."""
    if "\0" in text or "\r" in text or "\n" in text:
        return text.replace("\0", " ").replace("\r", " ").replace("\n", " ")
    return text


def format_tags(tags: dict[str, str | None]) -> str:
    """``@key=value;key `` (with the space), or ``""`` when there are none."""
    if not tags:
        return ""
    items = [
        key if value is None or value == "" else f"{key}={escape_tag_value(value)}"
        for key, value in tags.items()
    ]
    return "@" + ";".join(items) + " "


def serialise(
    command: str,
    *params: str,
    source: str | None = None,
    tags: dict[str, str | None] | None = None,
    trailing: bool = False,
) -> bytes:
    """One line with its CRLF.  Every parameter but the last must be a word (no space, not
    empty, no leading ``:``); the last is written as a trailing parameter when it must be.
    Text is cleaned of NUL, CR and LF, so a line can never turn into two.  ``trailing``: write
    the last parameter with its ``:`` whatever it holds (as message text always is)."""
    parts = [format_tags(tags or {})]
    if source:
        parts.append(f":{clean(source)} ")
    parts.append(command)
    for index, param in enumerate(params):
        param = clean(param)
        last = index == len(params) - 1
        if last and (trailing or not param or " " in param or param.startswith(":")):
            parts.append(f" :{param}")
        elif not param or " " in param or param.startswith(":"):
            raise ValueError(f"parameter {index} of {command} is not a word: {param!r}")
        else:
            parts.append(f" {param}")
    parts.append("\r\n")
    return "".join(parts).encode("utf-8")


def body_length(line: bytes) -> int:
    """The bytes of a serialised line that count against the 512: all but its tags."""
    if line.startswith(b"@"):
        return len(line) - line.index(b" ") - 1
    return len(line)


def _char_at(data: bytes, index: int) -> str:
    """The character whose UTF-8 sequence starts at ``data[index]``."""
    lead = data[index]
    size = 1 if lead < 0x80 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
    return data[index : index + size].decode("utf-8")


def _char_before(data: bytes, index: int) -> str:
    start = index - 1
    while data[start] & 0xC0 == 0x80:
        start -= 1
    return data[start:index].decode("utf-8")


def _breaks_at(data: bytes, index: int) -> bool:
    """Whether a cut before the character at ``data[index]`` leaves whole characters on both
    sides: never before a combining mark or a variation selector, nor around a zero-width
    joiner (an emoji sequence)."""
    char = _char_at(data, index)
    if unicodedata.category(char) in ("Mn", "Mc", "Me") or char == "\u200d":
        return False
    if 0xFE00 <= ord(char) <= 0xFE0F or 0xE0100 <= ord(char) <= 0xE01EF:
        return False
    return _char_before(data, index) != "\u200d"


def _cut(data: bytes, start: int, budget: int) -> int:
    """Where the piece starting at ``start`` ends: at most ``budget`` bytes on, at a character
    boundary, before a whole cluster when one ends within the last 32 characters."""
    end = start + budget
    while data[end] & 0xC0 == 0x80:  # inside a UTF-8 sequence: back to its start
        end -= 1
    cut = end
    for _ in range(32):
        if cut <= start or _breaks_at(data, cut):
            break
        cut -= 1
        while data[cut] & 0xC0 == 0x80:
            cut -= 1
    return cut if start < cut and _breaks_at(data, cut) else end


def split_text(text: str, budget: int) -> list[str]:
    """``text`` in pieces of at most ``budget`` UTF-8 bytes each, cut between characters (at a
    space when one lies in the second half of a piece; the space then starts no piece).  A
    character cluster longer than the budget is cut between its characters; ``budget`` must
    hold the longest character (4 bytes).  Works on the encoded bytes: linear in the text."""
    if budget < 4:
        raise ValueError("a piece must hold at least one character (4 bytes)")
    data = text.encode("utf-8")
    pieces: list[str] = []
    start = 0
    while len(data) - start > budget:
        cut = _cut(data, start, budget)
        space = data.rfind(b" ", start + (cut - start) // 2 + 1, cut + 1)
        if space > 0:
            pieces.append(data[start:space].decode("utf-8"))
            start = space + 1
        else:
            pieces.append(data[start:cut].decode("utf-8"))
            start = cut
    pieces.append(data[start:].decode("utf-8"))
    return pieces

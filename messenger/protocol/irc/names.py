"""Messenger names as IRC nicks, and back; rooms as channels.

Messenger names may hold any letters (one script), digits, ``_``, ``-`` and ``.``, and may start
with a digit; IRC nicks (RFC 2812) hold ASCII letters, digits and ``[]\\`_^{|}-``, and start with
neither a digit nor ``-``.  Every messenger name gets one nick, and that nick leads back to it:

- an ASCII name that starts with a letter, ``_`` or ``.`` is its own nick, with each ``.``
  written ``|`` (``j.doe`` is ``j|doe``): readable, and typed as it is seen;
- any other name (non-ASCII letters, a leading digit or ``-``) is ``^`` followed by its
  Punycode (RFC 3492, the encoding of internationalised domain names), with ``.`` written
  ``|`` too: ``José`` is ``^Jos-dma``, ``張偉`` is ``^uxqq77a``, ``42`` is ``^42-``.

Why this form: messenger names never contain ``^`` or ``|``, so the two forms cannot collide
with each other or with a plain name; Punycode is injective, compact (a 32-letter Chinese name
fits in about 120 characters, where a hexadecimal escape takes 190), keeps the name's ASCII
letters in view, is in the standard library, and is case-insensitive where it encodes, so an
IRC client folding ASCII case never merges two members.  IRC users may also type a name as
UTF-8 (``/msg José hi``): a nick with non-ASCII characters is taken as the name itself.

CASEMAPPING is ``ascii``: two nicks an IRC client holds equal under it are always one messenger
name (messenger compares names case-insensitively, and more: lookalikes such as ``l`` and ``I``
are one name too, so the server is stricter than the client, never looser).  Rooms are channels
as they are (``#lobby``): IRC carries UTF-8 channel names, and messenger already lower-cases a
room's name, so the server only ever sends the one form.
"""

from __future__ import annotations

from ..names import MAX_NAME_LENGTH, MAX_ROOM_LENGTH, BadName, BadRoom, normalize_name, normalize_room

ESCAPE = "^"
CASEMAPPING = "ascii"
# Punycode spends at most 6 digits per non-ASCII character (a delta below 36**6 / 35 * 26), and
# one delimiter: the longest nick a name can become, ``^`` included.
NICKLEN = 1 + 6 * MAX_NAME_LENGTH + 1
CHANNELLEN = 1 + 4 * MAX_ROOM_LENGTH  # bytes: '#' and up to 32 characters of 4 bytes each
_FIRST = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_.")


def to_nick(name: str) -> str:
    """The nick an IRC client sees for the messenger name ``name``."""
    if name.isascii() and name[:1] in _FIRST:
        return name.replace(".", "|")
    return ESCAPE + name.encode("punycode").decode("ascii").replace(".", "|")


def from_nick(nick: str) -> str | None:
    """The messenger name a nick stands for, not yet checked against the name rules (None: an
    escaped form that is not valid Punycode).  Lenient: UTF-8 names pass as they are, and any
    ASCII case of a nick leads to the same member."""
    if not nick.isascii():
        return nick
    if nick.startswith(ESCAPE):
        try:
            return nick[1:].replace("|", ".").encode("ascii").decode("punycode")
        except (UnicodeError, ValueError, IndexError, OverflowError):
            return None
    return nick.replace("|", ".")


def name_of_nick(nick: str) -> str | BadName:
    """The messenger name a nick stands for, normalised, or BadName saying why it cannot be."""
    name = from_nick(nick)
    if name is None:
        return BadName(f"{nick[:40]} is not a valid escaped name")
    try:
        return normalize_name(name)
    except BadName as exc:
        return exc


def room_of_channel(channel: str) -> str | BadRoom:
    """The messenger room a channel names (``#Lobby`` is ``#lobby``), or BadRoom."""
    try:
        return normalize_room(channel)
    except BadRoom as exc:
        return exc


def ascii_fold(nick: str) -> str:
    """A nick as CASEMAPPING=ascii compares it."""
    return nick.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

"""Durations people type (``30s``, ``10m``, ``2h``, ``7d``, ``1h30m``) and remaining time shown
to them (``1h 29m``).  Seconds are whole numbers: nothing here needs better."""

from __future__ import annotations

import math
import re

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_DURATION = 366 * 86400  # longer than a year is a mistake; "until lifted" is no duration
_MAX_TEXT = 32
# ASCII digits only: int() would also read Arabic-Indic or full-width digits.
_PART = re.compile(r"([0-9]{1,9})([smhdw])", re.ASCII | re.IGNORECASE)
_SHAPE = re.compile(r"(?:[0-9]+[smhdw])+", re.ASCII | re.IGNORECASE)
_EXAMPLES = "a number and a unit (s, m, h, d, w), e.g. 30s, 10m, 2h, 7d or 1h30m"


class DurationError(ValueError):
    """A duration that cannot be used; ``str()`` says why, for the person who typed it."""


def looks_like_duration(text: str) -> bool:
    """Whether ``text`` is shaped like a duration (``2h``, ``99999d``), even one too long: a
    command's optional DURATION is this word, so an absurd one is refused, not read as a reason."""
    return len(text) <= _MAX_TEXT and _SHAPE.fullmatch(text) is not None


def parse_duration(text: str) -> int:
    """Seconds in ``text``; DurationError for junk, zero or more than a year."""
    shown = text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + "…"
    if not looks_like_duration(text):
        raise DurationError(f"{shown!r} is not a duration; use {_EXAMPLES}")
    parts = _PART.findall(text)
    if "".join(number + unit for number, unit in parts) != text:
        raise DurationError(f"{shown!r} is not a duration; use {_EXAMPLES}")
    seconds = sum(int(number) * UNITS[unit.lower()] for number, unit in parts)
    if seconds <= 0:
        raise DurationError(f"{shown!r} is no time at all; use {_EXAMPLES}")
    if seconds > MAX_DURATION:
        raise DurationError(f"{shown!r} is longer than a year; leave the duration out for 'until lifted'")
    return seconds


def format_remaining(seconds: float) -> str:
    """``seconds`` for people, in its two largest units (``2d 3h``, ``5m 10s``, ``45s``);
    a part of a second counts as a second, so what is left never shows as ``0s``."""
    left = max(0, math.ceil(seconds))
    if left == 0:
        return "0s"
    shown: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, left = divmod(left, size)
        if count or shown:
            shown.append(f"{count}{unit}")
        if len(shown) == 2:
            break
    return " ".join(part for part in shown if not part.startswith("0"))


def describe_expiry(expires: float | None, now: float) -> str:
    """``until lifted`` or ``for 1h 59m more``: how long a ban or mute still lasts."""
    if expires is None:
        return "until lifted"
    return f"for {format_remaining(expires - now)} more"


class Expiring:
    """A ban or a mute: in force from ``created`` until ``expires`` (None: until lifted)."""

    created: float
    expires: float | None

    def active(self, now: float) -> bool:
        return self.expires is None or now < self.expires

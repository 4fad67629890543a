"""The command line's options: checking their values, with errors that name where a value came
from (the option the user typed, ``--port``, or the environment variable, ``MESSENGER_PORT``), and
the option declarations that several commands share (``--help``, ``--port``, ``--tls``...).

Numbers and sizes are parsed here rather than by Typer: Typer's own errors always name the
environment variable too, and its help shows ranges as ``<int range> [0<=x<=65535]``.  Each
option gets a metavar a person reads (``PORT``, ``SIZE``, ``SECONDS``) instead.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

T = TypeVar("T", int, float)

_SIZE = re.compile(r"^\s*(\d+)\s*([kKmMgG]?)(i?[bB])?\s*$")
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}

# Sizes: a line shorter than 64 bytes cannot hold a login; lines and queues are held in memory.
MAX_LINE_MAX = 16 * 1024 * 1024
SENDQ_MAX = 1024**3
RATE_MAX = 1e6
GATHER_MAX_MS = 1000.0  # a second: longer would hold a chat's every line back noticeably
DAYS_MAX = 100_000.0  # older than that reaches before year 1, which datetime cannot count back to
TIMEOUT_MAX = 3600.0
COUNT_MAX = 10**9


def source_hint(ctx: typer.Context, param: Any) -> str:
    """The name under which the user gave ``param``: its environment variable when the value
    came from there, else its option."""
    source = ctx.get_parameter_source(param.name) if param.name else None
    if source is not None and source.name == "ENVIRONMENT" and param.envvar:
        envvar = param.envvar if isinstance(param.envvar, str) else param.envvar[0]
        return envvar
    return param.opts[0] if param.opts else str(param.name)


def bad(ctx: typer.Context, param: Any, message: str) -> typer.BadParameter:
    """A usage error (exit status 2) that names the option or variable the value came from."""
    return typer.BadParameter(message, ctx=ctx, param=param, param_hint=source_hint(ctx, param))


def keep(value: str) -> str:
    """Typer's parser for the options checked by a callback here: hand over the text as typed."""
    return value


def _show(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _describe(low: float | None, high: float | None, kind: str) -> str:
    if low is not None and high is not None:
        return f"use {kind} from {_show(low)} to {_show(high)}"
    return f"use {kind} of at least {_show(low)}" if low is not None else f"use {kind}"


def number(kind: type[T], low: T | None = None, high: T | None = None) -> Callable[..., T | None]:
    """A callback that turns the option's text into ``kind`` within ``[low, high]``."""
    noun, nouns = ("a whole number", "whole numbers") if kind is int else ("a number", "numbers")

    def check(ctx: typer.Context, param: typer.CallbackParam, value: Any) -> T | None:
        if value is None or isinstance(value, kind):
            parsed = value  # a default
        else:
            try:
                parsed = kind(str(value).strip())
            except (ValueError, OverflowError):
                raise bad(ctx, param, f"{value!r} is not {noun}; {_describe(low, high, nouns)}") from None
        if parsed is None:
            return None
        if isinstance(parsed, float) and not math.isfinite(parsed):
            raise bad(ctx, param, f"{value!r} is not {noun}; {_describe(low, high, nouns)}")
        if (low is not None and parsed < low) or (high is not None and parsed > high):
            raise bad(ctx, param, f"{value} is out of range; {_describe(low, high, nouns)}")
        return parsed

    return check


def parse_size(value: str) -> int:
    """``16384``, ``16K``, ``16KiB``, ``1M``, ``1G`` → bytes (K, M and G are powers of 1024).
    Raises ValueError."""
    match = _SIZE.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a size; use bytes, or a number with K or M (16K, 1M)")
    return int(match.group(1)) * _UNITS[match.group(2).upper()]


def size(low: int, high: int) -> Callable[..., int]:
    """A callback that turns a size (``16K``) into bytes within ``[low, high]``."""

    def check(ctx: typer.Context, param: typer.CallbackParam, value: Any) -> int:
        try:
            parsed = parse_size(str(value))
        except ValueError as exc:
            raise bad(ctx, param, str(exc)) from None
        if not low <= parsed <= high:
            raise bad(ctx, param, f"{value} is out of range; use {_bytes(low)} to {_bytes(high)}")
        return parsed

    return check


def _bytes(count: int) -> str:
    for unit, factor in (("G", 1024**3), ("M", 1024**2), ("K", 1024)):
        if count >= factor and count % factor == 0:
            return f"{count // factor}{unit}"
    return f"{count} bytes"


def choice(*allowed: str) -> Callable[..., str]:
    """A callback that accepts one of ``allowed`` words."""

    def check(ctx: typer.Context, param: typer.CallbackParam, value: str) -> str:
        if value not in allowed:
            listed = ", ".join(allowed[:-1]) + f" or {allowed[-1]}"
            raise bad(ctx, param, f"{value!r} is not known; use {listed}")
        return value

    return check


def unreadable(path: str) -> str | None:
    """Why ``path`` cannot be read as a file (``no such file``, ...), or None if it can."""
    if not os.path.exists(path):
        return "no such file"
    if os.path.isdir(path):
        return "it is a directory"
    if not os.access(path, os.R_OK):
        return "permission denied"
    return None


def not_empty(ctx: typer.Context, param: typer.CallbackParam, value: str | None) -> str | None:
    """A password given as an option or a variable must not be empty (it would be refused as a
    failed login, and count towards the lock-out)."""
    if value is not None and value == "":
        raise bad(ctx, param, "the password is empty")
    return value


def int_option(low: int, high: int, metavar: str = "N", **kw: Any) -> Any:
    """A whole-number option checked by ``number`` (errors name --OPTION or its variable)."""
    return typer.Option(metavar=metavar, parser=keep, callback=number(int, low, high), **kw)


def float_option(low: float, high: float, metavar: str, **kw: Any) -> Any:
    return typer.Option(metavar=metavar, parser=keep, callback=number(float, low, high), **kw)


def size_option(low: int, high: int, **kw: Any) -> Any:
    return typer.Option(metavar="SIZE", parser=keep, callback=size(low, high), **kw)


def show_help(ctx: typer.Context, param: typer.CallbackParam, value: bool) -> None:
    """Our own --help/-h: Typer's shows the type ``<bool>`` next to it."""
    if value and not ctx.resilient_parsing:
        typer.echo(ctx.get_help(), color=ctx.color)
        raise typer.Exit()


HelpOption = Annotated[
    bool,
    typer.Option(
        "--help",
        "-h",
        metavar="",
        is_eager=True,
        expose_value=False,
        callback=show_help,
        help="Show this message and exit.",
    ),
]

# The options of the commands that connect to a server (connect, send).
PortOption = Annotated[
    int, int_option(1, 65535, "PORT", envvar="MESSENGER_PORT", help="The server's TCP port.")
]
ConnectHostOption = Annotated[
    str, typer.Option(metavar="HOST", envvar="MESSENGER_HOST", help="The server to connect to.")
]
ColorOption = Annotated[
    str,
    typer.Option(
        metavar="WHEN",
        callback=choice("auto", "always", "never"),
        help="Colours: auto (on a terminal, unless NO_COLOR is set), always or never.",
    ),
]
TimeoutOption = Annotated[
    float,
    float_option(
        0.1, TIMEOUT_MAX, "SECONDS", help="Seconds to wait for the connection and the login answer."
    ),
]
MaxLineOption = Annotated[
    int,
    size_option(
        64,
        MAX_LINE_MAX,
        envvar="MESSENGER_MAX_LINE",
        help="The server's --max-line; lines from the server up to 4 times this are accepted.",
    ),
]
TlsOption = Annotated[
    bool,
    typer.Option(
        "--tls",
        metavar="",
        envvar="MESSENGER_TLS",
        help="Connect with TLS, checking the server's certificate.",
    ),
]
CafileOption = Annotated[
    str | None,
    typer.Option(
        metavar="FILE",
        envvar="MESSENGER_CAFILE",
        help="Trust the certificates in this PEM file (a private CA, a self-signed server); implies --tls.",
    ),
]
PasswordFileOption = Annotated[
    str | None,
    typer.Option(
        metavar="FILE",
        help="Read the password from the first line of this file (or set MESSENGER_PASSWORD).",
    ),
]
InsecureOption = Annotated[
    bool,
    typer.Option(
        "--insecure",
        metavar="",
        help="TLS without checking the certificate: anyone in between can listen. Implies --tls.",
    ),
]

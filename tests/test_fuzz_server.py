"""Nothing a client sends kills its connection: every JSON type in every field of every frame
type, before and after login, and any text-mode line, over a real socket to a real server.

After each line the connection must still answer in order (a ``ping`` with a fresh token gets
its ``pong``; before login, a ``hello`` gets its ``welcome``), every line the server sent must be
strict JSON (RFC 8259: no NaN or Infinity) no longer than clients accept, and the server must log
no ``internal error`` or traceback.  One server per test function; a history database is there,
because some values only fail once they reach SQLite.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from messenger.protocol import (
    DEFAULT_MAX_LINE,
    MAX_INT,
    SERVER_LINE_FACTOR,
    Bye,
    FrameError,
    Me,
    Say,
    is_blank,
    parse_client_frame,
    parse_text_command,
    sanitize_text,
)
from messenger.server import limits
from messenger.tls import looks_like_tls

from .conftest import RawClient, ServerThread, stored_server
from .fuzzcases import FRAGMENTS, FUZZ, fragments

# The fields of each client frame type, and the values that make a minimal valid frame of it.
FRAMES: dict[str, list[str]] = {
    "hello": ["user", "history", "password", "account"],
    "say": ["text", "to", "room"],
    "me": ["text", "room"],
    "who": ["room"],
    "join": ["room"],
    "part": ["room"],
    "rooms": [],
    "nick": ["user"],
    "ping": ["token"],
    "bye": [],
    "history": ["limit", "before", "room"],
}
BASE: dict[str, dict[str, str]] = {
    "hello": {"user": '"fuzzed"'},
    "say": {"text": '"hi"'},
    "me": {"text": '"waves"'},
    "join": {"room": '"#fuzz"'},
    "part": {"room": '"#fuzz"'},
    "nick": {"user": '"renamed"'},
}
UNKNOWN_FIELDS = ["type", "x", "", "from", "id"]


def frame_line(kind: str, field: str, value: str) -> str:
    """The minimal valid ``kind`` frame with ``field`` set to the JSON text ``value``."""
    fields = {"type": json.dumps(kind), **BASE.get(kind, {}), field: value}
    return "{" + ",".join(f"{json.dumps(name)}:{text}" for name, text in fields.items()) + "}"


def strict_json(line: str) -> object:
    """Parse ``line`` as RFC 8259 JSON, as a browser would: no NaN, no Infinity."""

    def refuse(name: str) -> object:
        raise AssertionError(f"the server sent {name}, which is not JSON: {line[:200]}")

    def finite(text: str) -> float:
        value = float(text)
        assert math.isfinite(value), f"the server sent the number {text}: {line[:200]}"
        return value

    return json.loads(line, parse_constant=refuse, parse_float=finite)


def closes(line: str) -> bool:
    """Whether the server may close the connection after this JSON line: it is a ``bye``."""
    try:
        return isinstance(parse_client_frame(line), Bye)
    except FrameError:
        return False


class Probe:
    """The test's side of the fuzzed server: fresh connections and names, and the check that a
    connection is still alive and in order."""

    def __init__(self, server: ServerThread) -> None:
        self.server = server
        self.names = (f"probe{n}" for n in itertools.count())
        self.tokens = (f"token-{n}" for n in itertools.count())
        self.opened: list[RawClient] = []
        self.json_session = Session(self, json_mode=True)
        self.text_session = Session(self, json_mode=False)

    def connect(self) -> RawClient:
        client = RawClient(self.server.port)
        self.opened.append(client)
        return client

    def read(self, client: RawClient, json_mode: bool) -> str:
        line = client.line()
        assert len(line.encode()) < SERVER_LINE_FACTOR * DEFAULT_MAX_LINE
        if json_mode:
            assert isinstance(strict_json(line), dict)
        return line

    def until(self, client: RawClient, json_mode: bool, wanted: str) -> list[str]:
        """Lines up to (without) the one that starts with ``wanted``."""
        seen = []
        while not (line := self.read(client, json_mode)).startswith(wanted):
            seen.append(line)
        return seen

    def login_json(self, client: RawClient) -> None:
        client.send_json({"type": "hello", "user": next(self.names)})
        assert not any('"error"' in line for line in self.until(client, True, '{"type":"welcome"'))

    def pong(self, client: RawClient, json_mode: bool) -> list[str]:
        """Ping with a fresh token; the lines that came before its pong."""
        token = next(self.tokens)
        if json_mode:
            client.send_json({"type": "ping", "token": token})
            return self.until(client, True, f'{{"type":"pong","token":"{token}"}}')
        client.send(f"/ping {token}\n")
        return self.until(client, False, f"pong {token}")

    def close(self) -> None:
        for client in self.opened:
            client.close()


@pytest.fixture
def probe(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Probe]:
    """A server with history and accounts, no flood or connection limits; after the test, its
    log must hold no error and no traceback."""
    # Fuzzed passwords are failed logins; the probe's own logins must not be locked out by them.
    monkeypatch.setattr(limits, "FAILED_LOGIN_BURST", 1_000_000)
    server = stored_server(tmp_path / "fuzz.db", max_per_ip=0, conn_rate=0)
    checker = Probe(server)
    with caplog.at_level(logging.INFO, logger="messenger"):
        yield checker
        checker.close()
        server.stop()
    bad = [
        r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info or "internal" in r.getMessage()
    ]
    assert not bad, [r.getMessage() for r in bad]


class Session:
    """One logged-in connection (JSON or text mode), reopened when a ``bye`` or ``/quit`` ended it."""

    def __init__(self, probe: Probe, json_mode: bool) -> None:
        self.probe = probe
        self.json_mode = json_mode
        self.client: RawClient | None = None

    def _open(self) -> RawClient:
        client = self.probe.connect()
        if self.json_mode:
            self.probe.login_json(client)
        else:
            name = next(self.probe.names)
            client.send(f"{name}\n")
            assert self.probe.until(client, False, f"{name} has joined")[0].startswith("Welcome, ")
        return client

    def send(self, line: str, closing: bool = False, silent: bool = False) -> None:
        """Send ``line``; check it was answered (unless ``silent``) and the connection is alive
        and in order, or, when ``closing`` (a bye), that the server closed it."""
        client = self.client = self.client or self._open()
        client.send(line.encode("utf-8") + b"\n")
        if closing:
            assert client.closed()
            client.close()
            self.client = None
            return
        answers = self.probe.pong(client, self.json_mode)
        assert answers or silent, f"no answer to {line[:200]!r}"


def check_before_login(probe: Probe, line: str) -> None:
    """A fresh connection sends ``line`` first; it must be answered (or closed by bye) and a
    login must still work on it, then a ping."""
    client = probe.connect()
    client.send(line + "\n")
    if closes(line):
        assert client.closed()
    else:
        first = probe.read(client, json_mode=True)
        if not first.startswith('{"type":"welcome"'):
            probe.login_json(client)
        probe.pong(client, json_mode=True)
    client.close()
    probe.opened.remove(client)


KINDS = sorted(FRAMES)
FIELDS = sorted({field for fields in FRAMES.values() for field in fields} | set(UNKNOWN_FIELDS))


def fields_of(kind: str) -> list[str]:
    return [*FRAMES[kind], *UNKNOWN_FIELDS]


def test_every_fragment_in_every_field_after_login(probe: Probe) -> None:
    """Exhaustive: each kind of value in each field of each frame type, on one connection."""
    session = Session(probe, json_mode=True)
    for kind in KINDS:
        for field in fields_of(kind):
            for value in FRAGMENTS:
                line = frame_line(kind, field, value)
                session.send(line, closing=closes(line))


def test_every_fragment_in_every_field_before_login(probe: Probe) -> None:
    """Exhaustive for ``hello``; other frames are parsed as after login, then refused, so a
    sample of values in their fields is enough."""
    for kind in KINDS:
        for field in fields_of(kind):
            for value in FRAGMENTS if kind == "hello" else FRAGMENTS[::6]:
                check_before_login(probe, frame_line(kind, field, value))


kinds_and_fields = st.sampled_from(KINDS).flatmap(
    lambda kind: st.tuples(st.just(kind), st.sampled_from(fields_of(kind)))
)


@FUZZ
@given(kind_field=kinds_and_fields, value=fragments)
@example(kind_field=("history", "before"), value=str(2**63))  # SQLite overflowed
@example(kind_field=("history", "before"), value=str(-(2**63) - 1))
@example(kind_field=("ping", "token"), value="NaN")  # echoed as NaN, not JSON
@example(kind_field=("ping", "token"), value="Infinity")
@example(kind_field=("ping", "token"), value="1e999")
@example(kind_field=("ping", "token"), value="[" * 980 + "]" * 980)  # loads takes it, dumps cannot
def test_any_value_in_any_field_after_login(probe: Probe, kind_field: tuple[str, str], value: str) -> None:
    line = frame_line(*kind_field, value)
    probe.json_session.send(line, closing=closes(line))


@FUZZ
@given(kind_field=kinds_and_fields, value=fragments)
@example(kind_field=("hello", "history"), value=str(2**63))
def test_any_value_in_any_field_before_login(probe: Probe, kind_field: tuple[str, str], value: str) -> None:
    check_before_login(probe, frame_line(*kind_field, value))


@FUZZ
@given(fields=st.dictionaries(st.sampled_from(["type", *FIELDS]), fragments, max_size=5))
def test_any_object_after_login(probe: Probe, fields: dict[str, str]) -> None:
    line = "{" + ",".join(f"{json.dumps(name)}:{text}" for name, text in fields.items()) + "}"
    probe.json_session.send(line, closing=closes(line))


COMMANDS = ["", "/", "//", "/history ", "/msg ", "/msg probe0 ", "/nick ", "/join ", "/join #", "/part ",
            "/who ", "/who #", "/me ", "/ping ", "/rooms ", "/help ", "/quit ", "/HISTORY "]  # fmt: skip
text_lines = st.builds(
    lambda command, rest: command + rest,
    st.sampled_from(COMMANDS),
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\n"), max_size=40)
    | st.sampled_from(
        ["9" * 5000, "0" * 5000, str(MAX_INT + 1), "-1", "²", "#" + "x" * 5000, "\r", "\x1b[2J"]
    ),
)


@FUZZ
@given(line=text_lines)
@example(line="/history " + "1" * 5000)
def test_any_text_line_after_login(probe: Probe, line: str) -> None:
    try:
        frame = parse_text_command(line).frame
    except (FrameError, ValueError):  # a ValueError is the server's problem: checked below
        frame = None
    # Text mode ignores a message that is blank once sanitised.
    silent = isinstance(frame, (Say, Me)) and is_blank(sanitize_text(frame.text))
    probe.text_session.send(line, closing=isinstance(frame, Bye), silent=silent)


@FUZZ
@given(line=st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\n"), max_size=60))
@example(line="alice " + "9" * 5000)
@example(line="\x16")  # the first byte of a TLS handshake, but not a TLS handshake
@example(line="\x16bob")
def test_any_first_text_line(probe: Probe, line: str) -> None:
    """Before login a text line is a name (or a name and a password): whatever it is, it gets an
    answer, and a login on the same connection then works.  (Only the two bytes that begin a TLS
    handshake, 0x16 0x03, are closed at once on a plain port, as documented.)"""
    assume(not looks_like_tls(line.encode("utf-8")))
    assume(not line.startswith("{"))  # a first byte "{" makes it a JSON connection, fuzzed above
    client = probe.connect()
    client.send(line.encode("utf-8") + b"\n")
    first = probe.read(client, json_mode=False)
    if not first.startswith("Welcome, "):
        name = next(probe.names)
        client.send(f"{name}\n")
        probe.until(client, False, f"{name} has joined")
    probe.pong(client, json_mode=False)
    client.close()
    probe.opened.remove(client)

"""Logging raw clients in (text or JSON mode, checking the first lines the server sends), and
ANY_TS, a wildcard for the timestamps in frames compared whole."""

from __future__ import annotations

import re

from .conftest import RawClient

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


class AnyTs(str):
    """Compares equal to any ISO 8601 UTC timestamp with milliseconds."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and TS.match(other) is not None

    __hash__ = str.__hash__


ANY_TS = AnyTs("<ts>")


def login_text(raw, name: str) -> RawClient:
    client = raw()
    client.send(f"{name}\n")
    assert client.line().startswith(f"Welcome, {name}!")
    assert client.line() == f"{name} has joined the chat!"
    return client


def login_json(raw, name: str) -> RawClient:
    client = raw()
    client.send_json({"type": "hello", "user": name})
    assert client.frame()["type"] == "welcome"
    assert client.frame() == {"type": "joined", "user": name, "ts": ANY_TS}
    return client

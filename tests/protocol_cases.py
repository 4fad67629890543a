"""What the protocol's unit tests share: sample frames of each side, JSON values for
property-based tests, the fuzzing settings, and ``wire`` (a frame's one encoded line)."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from messenger.protocol import (
    Bye,
    Error,
    Hello,
    Joined,
    Left,
    Me,
    Message,
    Nick,
    Ping,
    Pong,
    Renamed,
    Say,
    Shutdown,
    Users,
    Welcome,
    Who,
    encode,
)

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TS = "2026-11-24T21:50:00.123Z"


def wire(frame: object) -> str:
    """The encoded line as text, after checking it is one line ended by a single newline."""
    data = encode(frame)  # type: ignore[arg-type]
    assert data.endswith(b"\n")
    assert data.count(b"\n") == 1
    return data.decode("utf-8")


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

# Any JSON value (small): tokens, and the fields of arbitrary objects.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)

"""Helpers for the tests of what the nodes share (accounts, roles, room settings, takeovers)."""

from __future__ import annotations

import io
import itertools
import json
from typing import Any

from messenger.cli import Environment, program
from messenger.client import Client, LoginError
from messenger.protocol import Error, Message

from ..clitools import WAIT
from ..conftest import RawClient

PASSWORD = "a long enough password"
_tokens = itertools.count()


def settle(sender: Client, receiver: Client) -> None:
    """Wait until ``receiver``'s node has applied everything ``sender``'s node wrote to the
    stream before now: a message from ``sender`` reaches ``receiver`` (entries are applied in
    the stream's order).  Frames before it are dropped."""
    token = f"settle {next(_tokens)}"
    sender.say(token)
    while not (isinstance(frame := receiver.receive(timeout=WAIT), Message) and frame.text == token):
        pass


def users(*args: str, input: str = "") -> tuple[int, str]:
    """``messenger users ARGS`` run in this process: its exit status and its error output."""
    env = Environment(io.StringIO(input), io.StringIO(), io.StringIO(), {})
    status = program(["users", *args], env)
    return status, env.stderr.getvalue()  # type: ignore[attr-defined]


def login_as(port: int, user: str, password: str | None = None, account: str | None = None) -> Client:
    client = Client.connect("127.0.0.1", port, timeout=WAIT)
    client.login(user, history=0, password=password, account=account)
    return client


def refused(port: int, user: str, password: str | None = None) -> str:
    """The error code a login as ``user`` gets (it must be refused)."""
    client = Client.connect("127.0.0.1", port, timeout=WAIT)
    try:
        client.login(user, history=0, password=password)
    except LoginError as exc:
        return exc.code
    finally:
        client.close()
    raise AssertionError(f"{user} logged in on port {port}")


def json_login(port: int, user: str, password: str | None = None) -> RawClient:
    """A raw JSON-mode client logged in as ``user``."""
    raw = RawClient(port)
    hello: dict[str, Any] = {"type": "hello", "user": user, "history": 0}
    if password is not None:
        hello["password"] = password
    raw.send_json(hello)
    assert json.loads(raw.line())["type"] == "welcome"
    return raw


def answer(raw: RawClient, re: str) -> dict[str, Any]:
    """The next frame answering a request ``re`` (an error or a notice), others skipped."""
    while True:
        frame = json.loads(raw.line())
        if frame.get("re") == re:
            return frame


def heard(client: Client, text: str) -> Message:
    """The message ``text`` reaching ``client`` (other frames skipped)."""
    while not (isinstance(frame := client.receive(timeout=WAIT), Message) and frame.text == text):
        pass
    return frame


def next_error(client: Client) -> Error:
    while not isinstance(frame := client.receive(timeout=WAIT), Error):
        pass
    return frame

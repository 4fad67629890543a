"""The server over real loopback sockets: each error frame (before and after login), names taken
and refused, control characters stripped; the connection stays usable."""

from __future__ import annotations

import pytest

from messenger.client import BadName, NameTaken

from .rawlogin import login_json, login_text

# -- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "code", "answer_to"),
    [
        (b"{not json\n", "bad_json", None),
        (b'{"type": "say", "text": "hi"\n', "bad_json", None),
        (b"{}\n", "bad_frame", None),
        (b'{"type": 5}\n', "bad_frame", None),
        (b'{"type": "dance"}\n', "bad_frame", "dance"),
        (b'{"type": "hello"}\n', "bad_frame", "hello"),
        (b'{"type": "hello", "user": 7}\n', "bad_frame", "hello"),
        (b'{"type": "hello", "user": "a", "history": true}\n', "bad_frame", "hello"),
        (b'{"type": "say"}\n', "bad_frame", "say"),
        (b'{"type": "say", "text": "hi"}\n', "not_logged_in", "say"),
        (b'{"type": "who"}\n', "not_logged_in", "who"),
        (b'{"type": "hello", "user": "a b"}\n', "bad_name", "hello"),
        (b'{"type": "hello", "user": ""}\n', "bad_name", "hello"),
        (b'{"type": "hello", "user": "\\u200balice"}\n', "bad_name", "hello"),
        (b'{"type": "\\ud800"}\n', "bad_frame", None),
        (b'{"type": "hello", "user": "a\\udfff"}\n', "bad_frame", "hello"),
    ],
)
def test_json_errors_before_login(raw, line: bytes, code: str, answer_to: str | None) -> None:
    client = raw()
    client.send(line)
    error = client.frame()
    assert error["type"] == "error" and error["code"] == code
    assert error.get("re") == answer_to
    assert error["message"]
    # The connection stays usable.
    client.send_json({"type": "hello", "user": "survivor"})
    assert client.frame()["type"] == "welcome"


def test_json_array_first_line_is_json_mode_bad_frame(raw) -> None:
    client = raw()
    client.send(b'{"type":"ping"}\n[1, 2]\n')
    assert client.frame()["code"] == "not_logged_in"
    assert client.frame()["code"] == "bad_frame"


def test_errors_after_login(raw) -> None:
    alice = login_json(raw, "alice")
    alice.send_json({"type": "hello", "user": "again"})
    assert alice.frame()["code"] == "already_logged_in"
    alice.send_json({"type": "say", "text": " \t\x01 "})
    assert alice.frame()["code"] == "empty"
    alice.send_json({"type": "me", "text": ""})
    empty = alice.frame()
    assert empty["code"] == "empty" and empty["re"] == "me"
    alice.send_json({"type": "nick", "user": "no spaces"})
    assert alice.frame()["code"] == "bad_name"


def test_unknown_user_error(raw) -> None:
    alice = login_json(raw, "alice")
    alice.send_json({"type": "say", "text": "hi", "to": "nobody"})
    error = alice.frame()
    assert (error["code"], error["re"]) == ("unknown_user", "say")
    assert "nobody" in error["message"]
    alice.send_json({"type": "ping", "token": "t"})
    assert alice.frame() == {"type": "pong", "token": "t"}  # answered once (by the registry)


def test_names_are_unique_case_insensitively_and_after_nfkc(connect) -> None:
    connect("alice")
    for taken in ("ALICE", "Alice", "ａｌｉｃｅ", " alice "):
        with pytest.raises(NameTaken):
            connect(taken)
    with pytest.raises(BadName):
        connect("al ice")
    client = connect()
    with pytest.raises(NameTaken):
        client.login("ALICE")
    assert client.login("alice2").user == "alice2"  # same connection, second try


def test_control_characters_are_stripped(connect, raw) -> None:
    alice = connect("alice")
    watcher = login_text(raw, "watcher")
    alice.say("\x1b[31mred\x07 and\ttab\x7f\x9b")
    frames = [alice.receive() for _ in range(3)]
    assert frames[2].text == "[31mred and\ttab"
    assert watcher.line() == "alice: [31mred and\ttab"

"""``messenger serve --motd FILE`` as a user runs it: the message follows every welcome, and a
file that cannot be used is refused with one line before the server starts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .clitools import ServeProcess, assert_one_error_line, run_cli
from .conftest import RawClient


def test_the_message_of_the_day_reaches_both_modes(
    serve: Callable[..., ServeProcess], tmp_path: Path
) -> None:
    motd = tmp_path / "motd.txt"
    motd.write_text("Welcome to the LAN party!\nBe kind.\x1b[31m\n", encoding="utf-8")
    server = serve("--port", "0", "--motd", str(motd))
    text = RawClient(server.port)
    text.send("tom\n")
    assert text.line().startswith("Welcome, tom!")
    assert [text.line(), text.line()] == ["- Welcome to the LAN party!", "- Be kind.[31m"]
    json_client = RawClient(server.port)
    json_client.send('{"type":"hello","user":"ann"}\n')
    assert json_client.frame()["type"] == "welcome"
    assert json_client.frame() == {"type": "motd", "text": "Welcome to the LAN party!\nBe kind.[31m"}


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, ("motd.txt", "cannot read the message of the day")),
        (b"x" * 5000, ("longer than 4096 bytes",)),
        (b"caf\xe9\n", ("not UTF-8",)),
    ],
)
def test_a_message_of_the_day_that_cannot_be_used_is_refused(
    tmp_path: Path, content: bytes | None, words: tuple[str, ...]
) -> None:
    motd = tmp_path / "motd.txt"
    if content is not None:
        motd.write_bytes(content)
    result = run_cli("serve", "--port", "0", "--db", ":memory:", "--motd", str(motd))
    assert result.returncode == 1
    assert_one_error_line(result.stderr, *words)

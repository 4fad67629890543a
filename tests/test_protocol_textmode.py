"""Text mode: the wording of each server frame, the slash commands and the one table that makes
the parser, /help and the terminal's completion (no sockets).

The contract under test is docs/protocol.md; each test asserts specific values so it can fail.
"""

from __future__ import annotations

import pytest

from messenger.protocol import (
    COMMAND_NAMES,
    TEXT_COMMANDS,
    TEXT_HELP,
    Bye,
    Error,
    ErrorCode,
    FrameError,
    Joined,
    Left,
    Me,
    Message,
    Mode,
    Nick,
    Pong,
    Renamed,
    Say,
    Shutdown,
    SlashCommand,
    TextCommand,
    Users,
    Welcome,
    Who,
    encode,
    encode_for,
    encode_text,
    parse_text_command,
    text_line,
    textmode,
)
from messenger.ui import terminal

from .protocol_cases import SERVER_FRAMES, TS

# --------------------------------------------------------------------------------------------
# Text mode
# --------------------------------------------------------------------------------------------


def test_text_lines_seed_wording() -> None:
    assert text_line(Joined(user="Alice", ts=TS)) == "Alice has joined the chat!"
    assert text_line(Left(user="Alice", ts=TS)) == "Alice has left the chat!"
    assert text_line(Left(user="Alice", ts=TS, reason="quit")) == "Alice has left the chat!"
    assert text_line(Left(user="Alice", ts=TS, reason="disconnected")) == "Alice has left the chat!"
    assert text_line(Message(id=1, sender="Alice", text="Hello everyone!", ts=TS)) == "Alice: Hello everyone!"


@pytest.mark.parametrize(
    ("frame", "line"),
    [
        (Left(user="bob", ts=TS, reason="too_slow"), "bob has left the chat! (too slow)"),
        (Left(user="bob", ts=TS, reason="replaced"), "bob has left the chat! (replaced)"),
        (Left(user="bob", ts=TS, reason="kicked"), "bob has left the chat! (kicked)"),
        (Message(id=1, sender="alice", text="psst", ts=TS, to="bob"), "[private to bob] alice: psst"),
        (Message(id=1, sender="alice", text="waves", ts=TS, action=True), "* alice waves"),
        (
            Message(id=1, sender="alice", text="waves", ts=TS, to="bob", action=True),
            "[private to bob] * alice waves",
        ),
        (Message(id=1, sender="alice", text="old", ts=TS, history=True), "[history] alice: old"),
        (
            Welcome(user="alice", users=("alice", "bob"), server="messenger/1.0.0"),
            "Welcome, alice! 2 people online: alice, bob. Type /help for commands.",
        ),
        (
            Welcome(user="alice", users=("alice",), server="messenger/1.0.0"),
            "Welcome, alice! 1 person online: alice. Type /help for commands.",
        ),
        (Users(users=("alice", "bob")), "Online (2): alice, bob"),
        (Renamed(old="alice", new="alice2", ts=TS), "alice is now known as alice2"),
        (Pong(), "pong"),
        (Pong(token="t1"), "pong t1"),
        (Error(code="name_taken", message="that name is taken", re="hello"), "error: that name is taken"),
        (Shutdown(message="maintenance"), "maintenance"),
        (Shutdown(), "Server is shutting down. Goodbye!"),
        (Shutdown(message=""), "Server is shutting down. Goodbye!"),
    ],
)
def test_text_line_wording(frame: object, line: str) -> None:
    assert text_line(frame) == line  # type: ignore[arg-type]
    assert encode_text(frame) == line.encode("utf-8") + b"\n"  # type: ignore[arg-type]


def test_every_server_frame_type_has_text_wording() -> None:
    for frame in SERVER_FRAMES:
        line = text_line(frame)  # type: ignore[arg-type]
        assert line and "\n" not in line
        if isinstance(frame, Error):
            assert line.startswith("error:")


def test_text_line_refuses_client_frames() -> None:
    with pytest.raises(TypeError):
        text_line(Say(text="hi"))  # type: ignore[arg-type]


def test_encode_text_is_utf8_and_encode_for_picks_mode() -> None:
    frame = Message(id=1, sender="José", text="☕", ts=TS)
    assert encode_text(frame) == "José: ☕\n".encode()
    assert encode_for(Mode.TEXT, frame) == encode_text(frame)
    assert encode_for(Mode.JSON, frame) == encode(frame)
    assert encode_for(Mode.JSON, frame) != encode_for(Mode.TEXT, frame)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("hello", TextCommand(Say(text="hello"))),
        ("  spaced  ", TextCommand(Say(text="  spaced  "))),
        ("not /a command", TextCommand(Say(text="not /a command"))),
        ("//x", TextCommand(Say(text="/x"))),
        ("//", TextCommand(Say(text="/"))),
        ("///who", TextCommand(Say(text="//who"))),
        ("/who", TextCommand(Who())),
        ("/WHO", TextCommand(Who())),
        ("/me waves hello", TextCommand(Me(text="waves hello"))),
        ("/msg bob hi there", TextCommand(Say(text="hi there", to="bob"))),
        ("/nick alice2", TextCommand(Nick(user="alice2"))),
        ("/quit", TextCommand(Bye())),
        ("/help", TextCommand(help=True)),
    ],
)
def test_parse_text_command(line: str, expected: TextCommand) -> None:
    assert parse_text_command(line) == expected


def test_help_command_carries_no_frame() -> None:
    command = parse_text_command("/help")
    assert command.help is True
    assert command.frame is None
    assert parse_text_command("hi").help is False


@pytest.mark.parametrize("line", ["/dance", "/", "/whom", "/ who"])
def test_unknown_text_command(line: str) -> None:
    with pytest.raises(FrameError) as caught:
        parse_text_command(line)
    assert caught.value.code is ErrorCode.UNKNOWN_COMMAND
    assert text_line(caught.value.to_frame()).startswith("error:")


@pytest.mark.parametrize("line", ["/msg", "/msg ", "/msg   "])
def test_msg_without_name_raises(line: str) -> None:
    with pytest.raises(FrameError) as caught:
        parse_text_command(line)
    assert caught.value.code is ErrorCode.BAD_FRAME
    assert "/msg" in caught.value.message


@pytest.mark.parametrize("line", ["/nick", "/nick   "])
def test_nick_without_name_raises(line: str) -> None:
    with pytest.raises(FrameError) as caught:
        parse_text_command(line)
    assert caught.value.code is ErrorCode.BAD_FRAME


def test_help_text_is_generated_from_the_command_table() -> None:
    """The chat commands' paragraph as it always was; then one paragraph for the presence
    commands and one for the operators', naming every command of the table."""
    assert TEXT_HELP[:5] == (
        "Commands: /who (who is online), /msg NAME TEXT (private message), /me TEXT (action),",
        "/nick NAME (change name), /join #ROOM (join a room, or switch to it), /part [#ROOM]",
        "(leave a room), /rooms (list rooms), /who [#ROOM], /history [N] (earlier messages),",
        "/ping (check the server answers), /quit (leave), /help (this text). Lines go to the room",
        "joined last. Start a message with // to send a line that begins with /.",
    )
    assert TEXT_HELP[5].startswith("Also: /away [TEXT] (say you are away), /back")
    assert [line for line in TEXT_HELP if line.startswith("Operators: ")] == [
        "Operators: /kick NAME [REASON] (disconnect someone), /ban NAME|ADDRESS|CIDR [DURATION]"
    ]
    assert all(len(line) <= 88 for line in TEXT_HELP)


def test_one_command_table_makes_parser_help_and_completion() -> None:
    help_text = " ".join(TEXT_HELP)
    parsed = [command for command in TEXT_COMMANDS if command.parse is not None]
    assert tuple(sorted({f"/{command.name}" for command in TEXT_COMMANDS})) == COMMAND_NAMES
    assert terminal.COMMANDS == COMMAND_NAMES
    for command in TEXT_COMMANDS:
        assert command.help_item in help_text
    for command in parsed:
        try:
            parse_text_command(f"/{command.name.upper()}")
        except FrameError as caught:  # a command that needs arguments says how to use it
            assert caught.message == f"usage: {command.usage}"
            assert command.usage in help_text
    assert {f"/{command.name}" for command in parsed} == set(COMMAND_NAMES)


def test_two_rows_parsing_one_command_are_refused() -> None:
    row = SlashCommand("dance", parse=lambda rest: TextCommand())
    with pytest.raises(ValueError, match="/dance"):
        textmode._parsers((row, row))

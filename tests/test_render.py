"""Rendering frames for a terminal or a pipe, on consoles writing to StringIO."""

from __future__ import annotations

import io

from messenger.protocol import Error, Joined, Left, Message, Renamed, Shutdown, Users, Welcome
from messenger.render import make_console, name_style, render_frame

TS = "2026-11-24T21:50:00.123Z"


def plain(frame, me: str | None = None) -> str:
    console = make_console(io.StringIO(), color="never")
    text = render_frame(frame, me=me)
    assert text is not None
    with console.capture() as capture:
        console.print(text)
    return capture.get()


def coloured(frame, me: str | None = None) -> str:
    buffer = io.StringIO()
    console = make_console(buffer, color="always")
    console.print(render_frame(frame, me=me))
    return buffer.getvalue()


def test_markup_in_user_text_is_shown_literally() -> None:
    frame = Message(
        id=1, sender="[red]mallory[/red]", text="[bold]x[/bold] :smile: [link=http://a]b[/link]", ts=TS
    )
    assert plain(frame) == "[red]mallory[/red]: [bold]x[/bold] :smile: [link=http://a]b[/link]\n"


def test_control_characters_are_removed_on_the_client_side_too() -> None:
    frame = Message(id=1, sender="eve", text="\x1b[2J\x1b]0;pwned\x07 hi", ts=TS)
    assert plain(frame) == "eve: [2J]0;pwned hi\n"
    assert "\x1b[2J" not in coloured(frame)


def test_every_notice_reads_like_the_seed() -> None:
    assert plain(Joined("Alice", TS)) == "Alice has joined the chat!\n"
    assert plain(Left("Alice", TS, "quit")) == "Alice has left the chat!\n"
    assert plain(Left("Alice", TS, "too_slow")) == "Alice has left the chat! (too slow)\n"
    assert plain(Renamed("alice", "alice2", TS)) == "alice is now known as alice2\n"
    assert plain(Users(("alice", "bob"))) == "Online (2): alice, bob\n"
    assert plain(Welcome("alice", ("alice",), "messenger/0.1.0")) == "Online (1): alice\n"
    assert plain(Error("name_taken", "the name x is taken")) == "error: the name x is taken\n"
    assert plain(Shutdown("Server is shutting down. Goodbye!")) == "Server is shutting down. Goodbye!\n"


def test_private_and_action_messages_are_marked() -> None:
    assert (
        plain(Message(id=1, sender="bob", text="psst", ts=TS, to="alice")) == "[private to alice] bob: psst\n"
    )
    assert plain(Message(id=2, sender="bob", text="waves", ts=TS, action=True)) == "* bob waves\n"


def test_plain_output_has_no_escape_codes_but_colour_output_does() -> None:
    frame = Message(id=1, sender="alice", text="hi", ts=TS)
    assert "\x1b[" not in plain(frame)
    assert "\x1b[" in coloured(frame)


def test_no_color_environment_switches_colours_off(monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    buffer = io.StringIO()
    console = make_console(buffer, color="auto")
    console.print(render_frame(Message(id=1, sender="alice", text="hi", ts=TS)))
    assert "\x1b[3" not in buffer.getvalue()  # no foreground colours


def test_name_colours_are_stable_and_case_insensitive() -> None:
    assert name_style("alice") == name_style("ALICE") == name_style("alice")
    styles = {name_style(f"user{i}") for i in range(50)}
    assert len(styles) > 5  # names are spread over the palette


def test_long_lines_are_not_wrapped() -> None:
    text = "word " * 100
    assert plain(Message(id=1, sender="alice", text=text, ts=TS)) == f"alice: {text}\n"

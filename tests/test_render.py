"""Rendering frames for a terminal or a pipe, on consoles writing to StringIO."""

from __future__ import annotations

import io
import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from rich.cells import cell_len
from rich.console import Console

from messenger.client import Incoming
from messenger.protocol import Error, Joined, Left, Message, Renamed, Shutdown, Users, Welcome
from messenger.ui.render import (
    ChatView,
    JsonView,
    Renderer,
    local_time,
    make_console,
    mentions,
    name_style,
    render_prompt,
)

TS = "2026-11-24T21:50:00.123Z"
PLUS_TWO = timezone(timedelta(hours=2))
NOW = datetime(2026, 11, 24, 21, 55, tzinfo=timezone.utc)  # the same day as TS, also at +02:00
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def plain(frame, me: str | None = None) -> str:
    console = make_console(io.StringIO(), color="never")
    line = Renderer(me=me).render(frame)
    assert line is not None
    text = line.text
    with console.capture() as capture:
        console.print(text)
    return capture.get()


def coloured(frame, me: str | None = None, timestamps: bool = False) -> str:
    buffer = io.StringIO()
    console = make_console(buffer, color="always")
    console.print(Renderer(me=me, timestamps=timestamps, tz=PLUS_TWO, now=NOW).render(frame))
    return buffer.getvalue()


def wrapped(frame, width: int, timestamps: bool = True) -> list[str]:
    """The lines a terminal ``width`` cells wide shows for ``frame``."""
    console = make_console(io.StringIO(), color="never", wrap=True)
    console.width = width
    with console.capture() as capture:
        console.print(Renderer(timestamps=timestamps, tz=PLUS_TWO, now=NOW).render(frame))
    return capture.get().rstrip("\n").split("\n")


def test_markup_in_user_text_is_shown_literally() -> None:
    frame = Message(
        id=1, sender="[red]mallory[/red]", text="[bold]x[/bold] :smile: [link=http://a]b[/link]", ts=TS
    )
    assert plain(frame) == "[red]mallory[/red]: [bold]x[/bold] :smile: [link=http://a]b[/link]\n"


def test_control_characters_are_removed_on_the_client_side_too() -> None:
    frame = Message(id=1, sender="eve", text="\x1b[2J\x1b]0;pwned\x07 hi", ts=TS)
    assert plain(frame) == "eve: [2J]0;pwned hi\n"
    assert "\x1b[2J" not in coloured(frame)
    assert "\x07" not in coloured(frame)


def test_every_notice_reads_like_the_seed() -> None:
    assert plain(Joined("Alice", TS)) == "Alice has joined the chat!\n"
    assert plain(Left("Alice", TS, "quit")) == "Alice has left the chat!\n"
    assert plain(Left("Alice", TS, "too_slow")) == "Alice has left the chat! (too slow)\n"
    assert plain(Renamed("alice", "alice2", TS)) == "alice is now known as alice2\n"
    assert plain(Users(("alice", "bob"))) == "Online (2): alice, bob\n"
    assert plain(Welcome("alice", ("alice",), "messenger/0.1.0")) == "Online (1): alice\n"
    assert plain(Error("name_taken", "the name x is taken")) == "error: the name x is taken\n"
    assert plain(Shutdown("Server is shutting down. Goodbye!")) == "Server is shutting down. Goodbye!\n"


def test_moderation_and_presence_read_as_in_text_mode() -> None:
    """The terminal shows what text mode says, one frame a line, with user text on one line."""
    from messenger.protocol.moderation import AwayStatus, Notice, RoomMode, Topic

    kicked = Left("bob", TS, "kicked", by="olive", message="spam")
    assert plain(kicked) == "bob has left the chat! (kicked by olive: spam)\n"
    assert plain(Notice("bob was kicked", "kick")) == "*** bob was kicked\n"
    assert plain(Topic("#dev", "ship\nit", "ann", TS)) == "Topic of #dev: ship it (set by ann)\n"
    assert plain(RoomMode("#dev", True, True, "ann")) == "#dev is invite-only and moderated (set by ann)\n"
    assert plain(AwayStatus("bob", "lunch")) == "bob is away: lunch\n"
    welcome = Welcome("alice", ("alice",), "messenger/0.1.0", topic="plans")
    assert plain(welcome) == "Online (1): alice\nTopic of #lobby: plans\n"


def test_private_and_action_messages_are_marked() -> None:
    assert (
        plain(Message(id=1, sender="bob", text="psst", ts=TS, to="alice")) == "[private] bob → alice: psst\n"
    )
    assert plain(Message(id=2, sender="bob", text="waves", ts=TS, action=True)) == "* bob waves\n"


def test_plain_output_has_no_escape_codes_but_colour_output_does() -> None:
    frame = Message(id=1, sender="alice", text="hi", ts=TS)
    assert "\x1b[" not in plain(frame)
    assert "\x1b[" in coloured(frame)


def test_no_color_environment_switches_colours_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    buffer = io.StringIO()
    console = make_console(buffer, color="auto")
    console.print(Renderer().render(Message(id=1, sender="alice", text="hi", ts=TS)))
    assert "\x1b[3" not in buffer.getvalue()  # no foreground colours


def test_name_colours_are_stable_and_case_insensitive() -> None:
    assert name_style("alice") == name_style("ALICE") == name_style("alice")
    styles = {name_style(f"user{i}") for i in range(50)}
    assert len(styles) > 5  # names are spread over the palette
    # The same name is drawn the same way by two independent renderers ("sessions").
    frame = Message(id=1, sender="zoë", text="x", ts=TS)
    assert coloured(frame, me="alice") == coloured(frame, me="bob")
    assert coloured(frame) != coloured(Message(id=1, sender="zed", text="x", ts=TS))


def test_timestamps_are_local_hh_mm() -> None:
    frame = Message(id=1, sender="alice", text="hi", ts=TS)
    assert ANSI.sub("", coloured(frame, timestamps=True)) == "23:50 alice: hi\n"  # 21:50 UTC at +02:00
    assert ANSI.sub("", coloured(Joined("bob", TS), timestamps=True)) == "23:50 bob has joined the chat!\n"
    # Frames without a time (an error, the user list) are stamped with the time they are shown.
    stamped = ANSI.sub("", coloured(Users(("alice",)), timestamps=True))
    assert re.fullmatch(r"\d\d:\d\d Online \(1\): alice\n", stamped)
    assert ANSI.sub("", coloured(frame)) == "alice: hi\n"


def test_messages_from_another_day_show_the_date() -> None:
    now = datetime(2026, 11, 24, 22, 0, tzinfo=timezone.utc)  # 00:00 on Nov 25 at +02:00
    assert local_time("2026-11-24T21:50:00.123Z", PLUS_TWO, now) == "Nov 24 23:50"
    assert local_time("2026-11-24T22:10:00.000Z", PLUS_TWO, now) == "00:10"
    assert local_time(None, PLUS_TWO, now) == "00:00"
    assert local_time("not a time", PLUS_TWO, now) == "00:00"


def test_own_messages_are_styled_apart() -> None:
    frame = Message(id=1, sender="alice", text="hi", ts=TS)
    own, other = coloured(frame, me="Alice"), coloured(frame, me="bob")
    assert ANSI.sub("", own) == ANSI.sub("", other) == "alice: hi\n"
    assert own != other
    assert "\x1b[1;4;" in own or ";4m" in own or ";4;" in own  # underlined name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hey alice!", True),
        ("@Alice: look", True),
        ("ALICE", True),
        ("ａｌｉｃｅ are you there", True),  # full-width letters are the same name after NFKC
        ("malice aforethought", False),
        ("alice-bot is down", False),
        ("alice_2", False),
        ("nothing here", False),
    ],
)
def test_mentions_are_whole_names(text: str, expected: bool) -> None:
    assert mentions(text, "alice") is expected


def test_a_mention_is_highlighted_and_a_private_message_counts_as_one() -> None:
    renderer = Renderer(me="alice")
    mention = renderer.render(Message(id=1, sender="bob", text="alice: lunch?", ts=TS))
    normal = renderer.render(Message(id=2, sender="bob", text="lunch?", ts=TS))
    private = renderer.render(Message(id=3, sender="bob", text="psst", ts=TS, to="alice"))
    own = renderer.render(Message(id=4, sender="alice", text="I am alice", ts=TS))
    assert mention is not None and normal is not None and private is not None and own is not None
    assert (mention.mention, normal.mention, private.mention, own.mention) == (True, False, True, False)
    assert "\x1b[1;7m" in coloured(Message(id=1, sender="bob", text="alice: lunch?", ts=TS), me="alice")
    assert "\x1b[1;7m" not in coloured(Message(id=1, sender="bob", text="lunch?", ts=TS), me="alice")


def test_long_lines_are_not_wrapped_in_a_pipe() -> None:
    text = "word " * 100
    assert plain(Message(id=1, sender="alice", text=text, ts=TS)) == f"alice: {text}\n"


def test_on_a_terminal_long_messages_wrap_under_their_text() -> None:
    lines = wrapped(Message(id=1, sender="alice", text="one two three four five six seven", ts=TS), 30)
    assert lines == [
        "23:50 alice: one two three",
        "             four five six",
        "             seven",
    ]
    # Too narrow for an indent: the whole line wraps instead.
    assert wrapped(Message(id=1, sender="alice", text="one two three four", ts=TS), 20) == [
        "23:50 alice: one two",
        "three four",
    ]


@pytest.mark.parametrize(
    ("sender", "text"),
    [
        ("日本", "こんにちは皆さん、今日はいい天気ですね。"),
        ("zoë", "🎉🎉🎉 party 🎉🎉🎉 time for everyone 👍🏽 yes"),
    ],
)
def test_wide_characters_and_emoji_stay_aligned(sender: str, text: str) -> None:
    width = 30
    lines = wrapped(Message(id=1, sender=sender, text=text, ts=TS), width)
    indent = cell_len(f"23:50 {sender}: ")
    assert len(lines) > 1
    assert lines[0].startswith(f"23:50 {sender}: ")
    for line in lines:
        assert cell_len(line) <= width, line
    for line in lines[1:]:
        assert line[:indent] == " " * indent and line[indent] != " ", lines
    joined = lines[0][len(f"23:50 {sender}: ") :] + "".join(line[indent:] for line in lines[1:])
    assert joined.replace(" ", "") == text.replace(" ", "")


def test_prompt_shows_the_name_and_whether_we_are_online() -> None:
    assert render_prompt("alice", online=True).plain == "alice #lobby> "
    assert render_prompt("alice", online=False, room="#ops").plain == "(offline) alice #ops> "


def terminal_view(bell: str, is_terminal: bool = True) -> tuple[ChatView, io.StringIO]:
    buffer = io.StringIO()
    out = Console(file=buffer, force_terminal=is_terminal, color_system=None)
    view = ChatView(out, make_console(io.StringIO(), "never"), Renderer(me="alice"), bell=bell)
    return view, buffer


@pytest.mark.parametrize(
    ("bell", "rings"),
    [("mention", [False, True, True, False]), ("all", [True, True, True, False]), ("off", [False] * 4)],
)
def test_the_bell_rings_per_setting(bell: str, rings: list[bool]) -> None:
    frames = [
        Message(id=1, sender="bob", text="lunch?", ts=TS),
        Message(id=2, sender="bob", text="alice: lunch?", ts=TS),
        Message(id=3, sender="bob", text="psst", ts=TS, to="alice"),
        Message(id=4, sender="alice", text="alice here", ts=TS),  # never for your own lines
    ]
    view, buffer = terminal_view(bell)
    rung = []
    for frame in frames:
        before = buffer.getvalue().count("\x07")
        view.show(Incoming("", frame))
        rung.append(buffer.getvalue().count("\x07") > before)
    assert rung == rings


def test_the_bell_never_rings_into_a_pipe() -> None:
    view, buffer = terminal_view("all", is_terminal=False)
    view.show(Incoming("", Message(id=2, sender="bob", text="alice: lunch?", ts=TS)))
    assert "\x07" not in buffer.getvalue()
    assert buffer.getvalue() == "bob: alice: lunch?\n"


def test_json_view_prints_frames_exactly_as_received_and_errors_on_stderr_too() -> None:
    out, err = io.StringIO(), io.StringIO()
    view = JsonView(out, make_console(err, "never"))
    line = '{"type":"message","id":7,"from":"bob","text":"hé [b]x[/b]","ts":"' + TS + '","extra":1}'
    view.show(Incoming(line, Message(id=7, sender="bob", text="hé [b]x[/b]", ts=TS)))
    error = '{"type":"error","code":"empty","message":"nothing to send","re":"say"}'
    view.show(Incoming(error, Error("empty", "nothing to send", "say")))
    unknown = '{"type":"future","x":1}'
    view.show(Incoming(unknown, None))
    assert out.getvalue() == f"{line}\n{error}\n{unknown}\n"
    assert [json.loads(x)["type"] for x in out.getvalue().splitlines()] == ["message", "error", "future"]
    assert err.getvalue() == "error: nothing to send\n"

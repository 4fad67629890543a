"""``messenger connect`` in a pseudo-terminal, read back through a terminal emulator (pyte).

The client runs as a real process in a pty with TERM=xterm-256color, so prompt_toolkit draws its
input line and colours exactly as for a person; pyte turns the byte stream into the screen a
person would look at, and the tests assert on that screen.  Every wait is for something to appear
on the screen, a frame to arrive or the process to exit, with a deadline.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pexpect
import pyte
import pytest

from messenger.client import Client

from .clitools import RUN_TIMEOUT, WAIT, ServeProcess, cli_env, messages_from, next_left, wait_for_joined

COLUMNS, ROWS = 100, 24
PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"
UP = "\x1b[A"
ENTER = "\r"
TAB = "\t"


class Terminal:
    """``messenger ARGS`` in a pseudo-terminal whose output drives a pyte screen."""

    def __init__(self, *args: str, **env: str) -> None:
        self.screen = pyte.Screen(COLUMNS, ROWS)
        self.stream = pyte.Stream(self.screen)
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "messenger", *args],
            # No cursor-position requests: pyte cannot answer them through pexpect.
            env=cli_env(TERM="xterm-256color", PROMPT_TOOLKIT_NO_CPR="1", **env),
            encoding="utf-8",
            codec_errors="replace",
            timeout=WAIT,
            dimensions=(ROWS, COLUMNS),
        )
        self.output: list[str] = []

    def type(self, keys: str) -> None:
        self.child.send(keys)

    def lines(self) -> list[str]:
        return [line.rstrip() for line in self.screen.display]

    def cursor_line(self) -> str:
        """The line the cursor is on, up to the cursor, when nothing follows the cursor (the
        input line while the editor runs); trailing spaces count, so ``/msg `` is not ``/msg``."""
        line = self.screen.display[self.screen.cursor.y]
        before, after = line[: self.screen.cursor.x], line[self.screen.cursor.x :]
        return before if not after.strip() else line.rstrip()

    def _pump(self, timeout: float) -> None:
        try:
            data = self.child.read_nonblocking(65536, timeout=timeout)
        except pexpect.TIMEOUT:
            return
        self.output.append(data)
        self.stream.feed(data)

    def wait_for(self, what: str, predicate: Callable[[Terminal], bool], timeout: float = WAIT) -> None:
        """Read output until ``predicate(self)`` holds; fail with the screen after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"the screen never showed {what}:\n" + "\n".join(self.lines()))
            try:
                self._pump(min(remaining, 0.2))
            except pexpect.EOF:
                raise AssertionError(
                    f"the client exited before showing {what}:\n" + "\n".join(self.lines())
                ) from None

    def wait_for_text(self, text: str, timeout: float = WAIT) -> int:
        """Wait until a screen line contains ``text``; its index."""
        self.wait_for(repr(text), lambda term: any(text in line for line in term.lines()), timeout)
        return next(i for i, line in enumerate(self.lines()) if text in line)

    def wait_for_input(self, expected: str, timeout: float = WAIT) -> None:
        """Wait until the input line reads exactly ``expected`` (prompt included)."""
        self.wait_for(f"the input line {expected!r}", lambda term: term.cursor_line() == expected, timeout)

    def wait_exit(self) -> int:
        """Wait for the process to exit on its own; its status."""
        deadline = time.monotonic() + WAIT
        while True:
            try:
                self._pump(max(0.0, deadline - time.monotonic()))
            except pexpect.EOF:
                break
            if time.monotonic() > deadline:
                raise AssertionError("the client did not exit:\n" + "\n".join(self.lines()))
        self.child.close()
        assert "Traceback" not in "".join(self.output)
        return self.child.exitstatus if self.child.exitstatus is not None else -1

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)


@pytest.fixture
def terminal() -> Iterator[Callable[..., Terminal]]:
    started: list[Terminal] = []

    def start(*args: str, **env: str) -> Terminal:
        term = Terminal(*args, **env)
        started.append(term)
        return term

    yield start
    for term in started:
        term.close()


def chat(terminal: Callable[..., Terminal], port: int, user: str, *extra: str) -> Terminal:
    """A logged-in terminal session of ``user``, its input line drawn and empty."""
    term = terminal("connect", "--port", str(port), "--user", user, *extra)
    term.wait_for_input(f"{user} #lobby> ", timeout=RUN_TIMEOUT)
    return term


# ------------------------------------------------------------------------------------------------
# The input line
# ------------------------------------------------------------------------------------------------


def test_incoming_messages_never_break_the_line_being_typed(
    server: Any, clients: Callable[[int, str], Client], terminal: Callable[..., Terminal]
) -> None:
    alice = clients(server.port, "alice")
    carol = chat(terminal, server.port, "carol")
    wait_for_joined(alice, "carol")
    carol.type("half a li")
    carol.wait_for_input("carol #lobby> half a li")

    for number in range(1, 6):
        alice.say(f"incoming {number}")
    carol.wait_for(
        "five messages above the unfinished line",
        lambda term: (
            any(line.endswith("incoming 5") for line in term.lines())
            and term.cursor_line() == "carol #lobby> half a li"
        ),
    )
    lines = carol.lines()
    shown = [i for i, line in enumerate(lines) if "alice: incoming" in line]
    assert [lines[i].rsplit(" ", 1)[-1] for i in shown] == ["1", "2", "3", "4", "5"]
    assert max(shown) < carol.screen.cursor.y  # what was typed is intact, below them

    carol.type("ne, finished" + ENTER)
    [message] = messages_from(alice, "carol", lambda frame: True)
    assert message.text == "half a line, finished"
    carol.wait_for_text("carol: half a line, finished")
    carol.wait_for_input("carol #lobby> ")
    # The echo is the record of what was sent: the typed line is not left behind as well.
    assert sum("half a line, finished" in line for line in carol.lines()) == 1


def test_timestamps_and_the_greeting(
    server: Any, clients: Callable[[int, str], Client], terminal: Callable[..., Terminal]
) -> None:
    alice = clients(server.port, "alice")
    carol = chat(terminal, server.port, "carol")
    # The reader thread prints the welcome's line; the input line may be drawn before it.
    row = carol.wait_for_text("Online (2): alice, carol")
    lines = carol.lines()
    assert "Connected to the server!" in lines
    assert lines[row].endswith("Online (2): alice, carol") and lines[row][2] == ":", lines
    alice.say("hi")
    row = carol.wait_for_text("alice: hi")
    assert carol.lines()[row][:6].replace(":", "").strip().isdigit()  # "HH:MM "


def test_tab_completes_commands_and_online_names(
    server: Any, clients: Callable[[int, str], Client], terminal: Callable[..., Terminal]
) -> None:
    bobby = clients(server.port, "bobby_tables")
    carol = chat(terminal, server.port, "carol")
    wait_for_joined(bobby, "carol")

    carol.type("/ms" + TAB)
    carol.wait_for_input("carol #lobby> /msg ")
    carol.type("bob" + TAB)
    carol.wait_for_input("carol #lobby> /msg bobby_tables ")
    carol.type("psst" + ENTER)
    [message] = messages_from(bobby, "carol", lambda frame: True)
    assert (message.text, message.to) == ("psst", "bobby_tables")

    carol.wait_for_input("carol #lobby> ")
    carol.type("BO" + TAB)  # the first word addresses someone: "name: "
    carol.wait_for_input("carol #lobby> bobby_tables: ")


def test_up_arrow_recalls_earlier_lines(
    server: Any, clients: Callable[[int, str], Client], terminal: Callable[..., Terminal]
) -> None:
    alice = clients(server.port, "alice")
    carol = chat(terminal, server.port, "carol")
    carol.type("first line" + ENTER)
    carol.wait_for_text("carol: first line")
    carol.wait_for_input("carol #lobby> ")
    carol.type(UP)
    carol.wait_for_input("carol #lobby> first line")
    carol.type(" again" + ENTER)
    texts = [m.text for m in messages_from(alice, "carol", lambda frame: frame.text.endswith("again"))]
    assert texts == ["first line", "first line again"]


def test_a_pasted_block_sends_each_line(
    server: Any, clients: Callable[[int, str], Client], terminal: Callable[..., Terminal]
) -> None:
    alice = clients(server.port, "alice")
    carol = chat(terminal, server.port, "carol")
    carol.type(PASTE_START + "line one\nline two\r\nline three\nunfinis" + PASTE_END)
    texts = [m.text for m in messages_from(alice, "carol", lambda frame: frame.text == "line three")]
    assert texts == ["line one", "line two", "line three"]
    carol.wait_for_input("carol #lobby> unfinis")  # the unfinished last line waits to be finished
    carol.type("hed" + ENTER)
    [message] = messages_from(alice, "carol", lambda frame: True)
    assert message.text == "unfinished"


def test_mentions_are_highlighted_on_screen(
    server: Any, clients: Callable[[int, str], Client], terminal: Callable[..., Terminal]
) -> None:
    alice = clients(server.port, "alice")
    carol = chat(terminal, server.port, "carol")
    alice.say("no names here")
    alice.say("carol, lunch?")
    row = carol.wait_for_text("alice: carol, lunch?")
    plain_row = carol.wait_for_text("alice: no names here")
    body = carol.lines()[row].index("carol, lunch?")
    assert carol.screen.buffer[row][body].reverse
    assert not carol.screen.buffer[plain_row][carol.lines()[plain_row].index("no names")].reverse
    carol.wait_for("the bell (--bell mention is the default)", lambda term: "\x07" in "".join(term.output))


def test_help_and_client_side_errors_keep_the_session(
    server: Any, clients: Callable[[int, str], Client], terminal: Callable[..., Terminal]
) -> None:
    clients(server.port, "alice")
    carol = chat(terminal, server.port, "carol")
    carol.type("/help" + ENTER)
    carol.wait_for_text("Tab completes")
    carol.type("/msg" + ENTER)
    carol.wait_for_text("error: usage: /msg NAME TEXT")
    carol.type("/msg nobody hi" + ENTER)
    carol.wait_for_text("error: no user named 'nobody' is online")
    carol.wait_for_input("carol #lobby> ")


# ------------------------------------------------------------------------------------------------
# Leaving
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("keys", ["/quit" + ENTER, "\x04", "\x03"], ids=["quit", "ctrl-d", "ctrl-c"])
def test_leaving_is_clean(
    server: Any, clients: Callable[[int, str], Client], terminal: Callable[..., Terminal], keys: str
) -> None:
    alice = clients(server.port, "alice")
    carol = chat(terminal, server.port, "carol")
    wait_for_joined(alice, "carol")
    carol.type(keys)
    assert carol.wait_exit() == 0
    left = next_left(alice)
    assert (left.user, left.reason) == ("carol", "quit")


# ------------------------------------------------------------------------------------------------
# Reconnecting
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stop", ["kill", "term"])
def test_reconnects_after_the_server_restarts_on_the_same_port(
    serve: Callable[..., ServeProcess], terminal: Callable[..., Terminal], stop: str
) -> None:
    first = serve("--port", "0")
    carol = chat(terminal, first.port, "carol")
    if stop == "kill":
        first.proc.kill()  # kill -9: no goodbye, the connection just drops
        carol.wait_for_text("Connection lost")
    else:
        first.proc.send_signal(signal.SIGTERM)
        carol.wait_for_text("Server is shutting down. Goodbye!")
    first.proc.wait(timeout=WAIT)
    carol.wait_for_text("Reconnecting to 127.0.0.1:")
    carol.wait_for_input("(offline) carol #lobby> ")

    second = serve("--port", str(first.port))
    with Client.connect("127.0.0.1", second.port, timeout=WAIT) as alice:
        alice.login("alice")
        wait_for_joined(alice, "carol")  # logged in again under the same name
        carol.wait_for_input("carol #lobby> ", timeout=RUN_TIMEOUT)
        carol.type("back again" + ENTER)
        [message] = messages_from(alice, "carol", lambda frame: True)
        assert message.text == "back again"


def test_a_login_refused_on_reconnect_ends_the_session(
    server: Any, clients: Callable[[int, str], Client], terminal: Callable[..., Terminal]
) -> None:
    watcher = clients(server.port, "watcher")
    carol = chat(terminal, server.port, "carol")
    wait_for_joined(watcher, "carol")
    [handler] = [h for h in server.server.connections() if h.member and h.member.name == "carol"]
    handler.abort()  # the link drops; the client waits 1 s before its first retry
    assert next_left(watcher).user == "carol"
    with Client.connect("127.0.0.1", server.port, timeout=WAIT) as impostor:
        impostor.login("carol")  # someone takes the name meanwhile
        status = carol.wait_exit()
    assert status == 1
    errors = [line for line in carol.lines() if line.startswith("error:")]
    assert len(errors) == 1 and "taken" in errors[0], carol.lines()


def test_reconnect_can_be_switched_off(
    serve: Callable[..., ServeProcess], terminal: Callable[..., Terminal]
) -> None:
    first = serve("--port", "0")
    carol = chat(terminal, first.port, "carol", "--no-reconnect")
    first.proc.send_signal(signal.SIGTERM)
    assert carol.wait_exit() == 0  # the server said goodbye: a normal end
    assert any("shutting down" in line for line in carol.lines())


def test_typing_while_offline_is_refused_not_lost(
    serve: Callable[..., ServeProcess], terminal: Callable[..., Terminal]
) -> None:
    first = serve("--port", "0")
    carol = chat(terminal, first.port, "carol")
    first.proc.kill()
    carol.wait_for_input("(offline) carol #lobby> ")
    carol.type("are you there?" + ENTER)
    carol.wait_for_text("error: not connected right now; the line was not sent")
    carol.type(UP)
    carol.wait_for_input("(offline) carol #lobby> are you there?")


def test_messages_from_other_clients_keep_their_order(
    server: Any, clients: Callable[[int, str], Client], terminal: Callable[..., Terminal]
) -> None:
    """A burst larger than the screen scrolls by in order, ending with the input line."""
    alice = clients(server.port, "alice")
    carol = chat(terminal, server.port, "carol")
    for number in range(60):
        alice.say(f"burst {number:02d}")
    carol.wait_for("the last message", lambda term: any(line.endswith("burst 59") for line in term.lines()))
    carol.wait_for_input("carol #lobby> ")
    shown = [line.rsplit(" ", 1)[-1] for line in carol.lines() if "alice: burst" in line]
    assert shown == sorted(shown) and shown[-1] == "59"


# ------------------------------------------------------------------------------------------------
# Rooms
# ------------------------------------------------------------------------------------------------


def test_the_prompt_shows_the_current_room_and_lines_go_there(
    server: Any, clients: Callable[[int, str], Client], terminal: Callable[..., Terminal]
) -> None:
    alice = clients(server.port, "alice")
    alice.join("#ops")
    carol = chat(terminal, server.port, "carol")
    carol.type("/join #ops" + ENTER)
    carol.wait_for_input("carol #ops> ")
    carol.type("in ops" + ENTER)
    [message] = messages_from(alice, "carol", lambda frame: True)
    assert (message.text, message.room) == ("in ops", "#ops")
    carol.wait_for_text("carol: in ops")  # the current room's lines carry no room name

    alice.say("over in the lobby")
    carol.wait_for_text("[#lobby] alice: over in the lobby")  # another room's do

    carol.type("/rooms" + ENTER)
    carol.wait_for_text("Rooms: #lobby (2), #ops (2)")
    carol.type("/join #lo" + TAB)  # room names complete too
    carol.wait_for_input("carol #ops> /join #lobby ")
    carol.type(ENTER)
    carol.wait_for_input("carol #lobby> ")
    carol.type("back in the lobby" + ENTER)
    [message] = messages_from(alice, "carol", lambda frame: True)
    assert (message.text, message.room) == ("back in the lobby", None)

"""``messenger`` in a pseudo-terminal through pexpect (what a person sees): the interactive
session, Ctrl+C and Ctrl+D in the chat and at each prompt, an empty password asked again.

Every wait is on an event (a line printed, a frame received, a process exiting) and has a
deadline; nothing sleeps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pexpect
import pytest

from messenger.client import Client

from .clitools import (
    RUN_TIMEOUT,
    ServeProcess,
    messages_from,
    next_left,
    run_cli,
    spawn_in_terminal,
    wait_for_joined,
)

# ------------------------------------------------------------------------------------------------
# messenger connect, interactive in a pseudo-terminal
# ------------------------------------------------------------------------------------------------


def test_interactive_session_in_a_terminal(server: Any, clients: Callable[[int, str], Client]) -> None:
    alice = clients(server.port, "alice")
    child = spawn_in_terminal("connect", "--port", str(server.port))
    try:
        # The seed's order: the prompt, then the greeting once logged in.
        child.expect_exact("Enter your username: ", timeout=RUN_TIMEOUT)
        child.sendline("carol")
        child.expect_exact("Connected to the server!")
        child.expect_exact("carol has joined the chat!")
        wait_for_joined(alice, "carol")

        alice.say("hello carol")
        child.expect_exact("alice: hello carol")

        child.sendline("hi all")
        [message] = messages_from(alice, "carol", lambda frame: True)
        assert message.text == "hi all"
        child.expect_exact("carol: hi all")

        child.sendline("/quit")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0
        before = child.before or ""
        assert "Traceback" not in before
    finally:
        if child.isalive():
            child.terminate(force=True)
    left = next_left(alice)
    assert (left.user, left.reason) == ("carol", "quit")


@pytest.mark.parametrize("key", ["ctrl-c", "ctrl-d", "error-then-ctrl-d"])
def test_interactive_ctrl_c_and_ctrl_d_leave_cleanly(
    server: Any, clients: Callable[[int, str], Client], key: str
) -> None:
    alice = clients(server.port, "alice")
    child = spawn_in_terminal("connect", "--port", str(server.port), "--user", "dave")
    try:
        child.expect_exact("dave has joined the chat!", timeout=RUN_TIMEOUT)
        wait_for_joined(alice, "dave")
        # A line typed and delivered shows the session is running (its feeder reads the keyboard).
        child.sendline("ready")
        [message] = messages_from(alice, "dave", lambda frame: True)
        assert message.text == "ready"
        child.expect_exact("dave: ready")  # and the echo is shown: nothing is in flight
        if key == "error-then-ctrl-d":
            # A refused request is shown, and leaving afterwards is still a clean exit.
            child.sendline("/msg nobody hi")
            child.expect_exact("error: no user named 'nobody' is online")
        if key == "ctrl-c":
            child.sendintr()
        else:
            child.sendeof()
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0
        assert "Traceback" not in (child.before or "")
    finally:
        if child.isalive():
            child.terminate(force=True)
    left = next_left(alice)
    assert (left.user, left.reason) == ("dave", "quit")


# ------------------------------------------------------------------------------------------------
# Prompts: Ctrl+C and Ctrl+D end the line and stop with status 0; an empty password is asked again
# ------------------------------------------------------------------------------------------------


def stop_at_prompt(child: pexpect.spawn, prompt: str, key: str) -> None:
    child.expect_exact(prompt, timeout=RUN_TIMEOUT)
    if key == "ctrl-c":
        child.sendintr()
    else:
        child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    # A newline, nothing else (the terminal itself may echo the ^C).
    assert (child.before or "").removeprefix("^C") == "\r\n", repr(child.before)


@pytest.mark.parametrize("key", ["ctrl-c", "ctrl-d"])
def test_stopping_at_the_username_prompt(server: Any, key: str) -> None:
    stop_at_prompt(spawn_in_terminal("connect", "--port", str(server.port)), "Enter your username: ", key)


@pytest.mark.parametrize("key", ["ctrl-c", "ctrl-d"])
def test_stopping_at_the_password_prompt(serve: Callable[..., ServeProcess], key: str) -> None:
    server = serve("--port", "0", "--password", "sesame")
    child = spawn_in_terminal("connect", "--port", str(server.port), "--user", "bot")
    stop_at_prompt(child, "Password for bot: ", key)


@pytest.mark.parametrize("prompt", ["New password for ann: ", "Again: "])
@pytest.mark.parametrize("key", ["ctrl-c", "ctrl-d"])
def test_stopping_at_the_users_add_prompts(tmp_path: Any, prompt: str, key: str) -> None:
    child = spawn_in_terminal("users", "add", "ann", "--db", str(tmp_path / "h.db"))
    if prompt == "Again: ":
        child.expect_exact("New password for ann: ", timeout=RUN_TIMEOUT)
        child.sendline("secret")
    stop_at_prompt(child, prompt, key)
    listed = run_cli("users", "list", "--db", str(tmp_path / "h.db"))
    assert "ann" not in listed.stdout  # nothing was changed


def test_an_empty_password_at_the_prompt_is_asked_again_not_sent(serve: Callable[..., ServeProcess]) -> None:
    server = serve("--port", "0", "--password", "sesame")
    child = spawn_in_terminal("connect", "--port", str(server.port), "--user", "bot")
    try:
        for _ in range(6):  # more than the failed logins that lock an address out
            child.expect_exact("Password for bot: ", timeout=RUN_TIMEOUT)
            child.sendline("")
            child.expect_exact("error: the password is empty")
        child.expect_exact("Password for bot: ")
        child.sendline("sesame")
        child.expect_exact("bot has joined the chat!")
        child.sendline("/quit")
        child.expect(pexpect.EOF)
    finally:
        if child.isalive():
            child.terminate(force=True)
    assert "too many" not in (child.before or "")

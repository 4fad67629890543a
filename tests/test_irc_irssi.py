"""A real IRC client on the IRC port: irssi (Debian's package, installed by
``make system-packages``) in a pseudo-terminal, its screen read through pyte.  It connects,
joins #lobby, and chats with a JSON client both ways."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pexpect
import pyte
import pytest

from messenger.server import ServerConfig

from .conftest import READ_TIMEOUT, RawClient
from .ircport import IRCServer

pytestmark = pytest.mark.timeout(25)

ROWS, COLUMNS = 40, 160
CONFIG = """servers = ( {{ address = "127.0.0.1"; chatnet = "messenger"; port = "{port}";
  cmd_queue_speed = "10"; max_cmds_at_once = "50"; }} );
chatnets = {{ messenger = {{ type = "IRC"; }}; }};
settings = {{ core = {{ real_name = "Ivy"; user_name = "ivy"; nick = "ivy"; }}; }};
"""


def irssi_path() -> str:
    path = shutil.which("irssi")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("irssi is missing (CI=true): make system-packages installs it")
        pytest.skip("irssi is not installed: run make system-packages (or make test) to install it")
    return path


class Irssi:
    """irssi in a pseudo-terminal; ``screen`` waits until its screen shows what is asked."""

    def __init__(self, home: Path, port: int) -> None:
        (home / "config").write_text(CONFIG.format(port=port))
        self.screen = pyte.Screen(COLUMNS, ROWS)
        self.stream = pyte.Stream(self.screen)
        args = ["--home", str(home), "-c", "127.0.0.1", "-p", str(port), "-n", "ivy"]
        env = {**os.environ, "TERM": "xterm", "LANG": "C.UTF-8"}
        self.proc = pexpect.spawn(irssi_path(), args, env=env, encoding="utf-8", dimensions=(ROWS, COLUMNS))

    def shows(self, predicate: Callable[[str], bool]) -> str:
        deadline = time.monotonic() + READ_TIMEOUT
        while time.monotonic() < deadline:
            with contextlib.suppress(pexpect.TIMEOUT):
                self.stream.feed(self.proc.read_nonblocking(65536, timeout=0.1))
            text = "\n".join(self.screen.display)
            if predicate(text):
                return text
        raise AssertionError("irssi's screen never showed it:\n" + "\n".join(self.screen.display))

    def type(self, line: str) -> None:
        self.proc.send(line + "\r")

    def close(self) -> None:
        if self.proc.isalive():
            self.type("/quit")
            try:
                self.proc.expect(pexpect.EOF, timeout=READ_TIMEOUT)
            except pexpect.TIMEOUT:
                self.proc.terminate(force=True)
        self.proc.close()


@pytest.fixture
def server() -> Iterator[IRCServer]:
    started = IRCServer(ServerConfig(max_rate=0))
    yield started
    started.stop()


def test_irssi_joins_the_lobby_and_chats_with_a_json_client(server: IRCServer, tmp_path: Path) -> None:
    irssi_path()
    jay = RawClient(server.port)
    jay.send_json({"type": "hello", "user": "jay", "history": 0})
    jay.line()  # welcome
    irssi = Irssi(tmp_path, server.irc_port)
    try:
        jay.until(lambda line: '"joined"' in line and '"ivy"' in line)  # registered, in the lobby
        irssi.type("/join #lobby")
        irssi.shows(lambda text: "ivy [~m@messenger] has joined #lobby" in text and "jay" in text)
        irssi.type("hello from irssi")
        said = jay.until(lambda line: "hello from irssi" in line)[-1]
        assert '"from":"ivy"' in said
        jay.send_json({"type": "say", "text": "hello irssi, from json"})
        irssi.shows(lambda text: "< jay> hello irssi, from json" in text)
        irssi.type("/me waves")
        assert '"action":true' in jay.until(lambda line: "waves" in line)[-1]
    finally:
        irssi.close()
        jay.close()

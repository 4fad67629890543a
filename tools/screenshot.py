"""Take the README's screenshot of the chat page from a real session.

Starts a real server (chat port and web port on loopback, history in a temporary database),
opens two pages in Debian's chromium (the browser the tests drive) and one netcat-like client,
lets them chat, and saves what the first page shows as docs/screenshot.png.

Run from the repository: `.venv/bin/python tools/screenshot.py [OUTPUT]` (needs the test extra
and Debian's chromium: `make test` installs both).
"""

from __future__ import annotations

import socket
import sys
import tempfile
import threading
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from messenger.core.accounts import Accounts  # noqa: E402
from messenger.core.moderation import Moderation  # noqa: E402
from messenger.core.store import SQLiteStore  # noqa: E402
from messenger.server import ChatServer, ServerConfig  # noqa: E402
from tests.browser.launch import HOW_TO_GET_IT, chromium_installed, launch_chromium  # noqa: E402

WAIT_MS = 10_000
SIZE = {"width": 1100, "height": 640}


def start_server(db: Path) -> ChatServer:
    """A chat server keeping its history in ``db``, with its web port open, serving in a thread."""
    server = ChatServer(
        ("127.0.0.1", 0),
        ServerConfig(max_rate=0),
        store=SQLiteStore(db),
        accounts=Accounts(db),
        moderation=Moderation(db),
    )
    server.open_web(("127.0.0.1", 0))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


class Netcat:
    """A text-mode client on the chat port, as `nc 127.0.0.1 5555` would be."""

    def __init__(self, port: int, name: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT_MS / 1000)
        self.file = self.sock.makefile("rw", encoding="utf-8", newline="\n")
        self.say(name)
        self.wait_for(f"{name} has joined the chat!")

    def say(self, line: str) -> None:
        self.file.write(line + "\n")
        self.file.flush()

    def wait_for(self, line: str) -> None:
        while self.file.readline().rstrip("\n") != line:
            pass

    def close(self) -> None:
        self.sock.close()


def log_in(page: Page, url: str, name: str) -> None:
    page.goto(url)
    page.fill("#login-name", name)
    page.press("#login-name", "Enter")
    expect(page.locator("#composer")).to_be_visible(timeout=WAIT_MS)


def type_line(page: Page, line: str) -> None:
    page.fill("#composer", line)
    page.press("#composer", "Enter")
    expect(page.locator("#composer")).to_have_value("", timeout=WAIT_MS)


def chat(alice: Page, bob: Page, carol: Netcat) -> None:
    """A short, ordinary conversation across the three, ending on alice's screen."""
    type_line(alice, "/join #dev")
    carol.say("/join #dev")
    carol.say("/topic #dev Release 2.0: what is left?")
    type_line(bob, "/join #dev")
    type_line(bob, "Morning! The web page works on my phone too.")
    carol.say("I'm on netcat, and I see you both.")
    type_line(alice, "Nice. bob: can you look at the docs before lunch?")
    type_line(bob, "/me gives a thumbs up")
    carol.say("/join #lobby")
    carol.say("Lunch at noon, anyone?")
    carol.say("/join #dev")
    carol.say("alice: the release notes are in the wiki")
    expect(alice.locator("#messages .message").last).to_contain_text("release notes", timeout=WAIT_MS)


def main(output: Path) -> int:
    if not chromium_installed():
        print(HOW_TO_GET_IT, file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        server = start_server(Path(folder) / "chat.db")
        browser = launch_chromium(playwright)
        try:
            alice = browser.new_context(viewport=SIZE, color_scheme="light").new_page()
            bob = browser.new_context(viewport=SIZE).new_page()
            url = server.web.url if server.web is not None else ""
            log_in(alice, url, "alice")
            log_in(bob, url, "bob")
            carol = Netcat(server.port, "carol")
            chat(alice, bob, carol)
            alice.locator("#composer").fill("Thanks carol, reading them now")
            alice.screenshot(path=str(output))
            carol.close()
        finally:
            browser.close()
            server.stop()
    print(f"saved {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshot.png"))

"""Try the web page in headless Chromium against a real server, and take screenshots.

    .venv/bin/python tools/web_smoke.py [OUTPUT_DIR]

Needs Playwright for Python in the venv and Debian's chromium (/usr/bin/chromium).  Starts
tools/web_dev_server.py, logs in two pages and a text-mode (netcat-like) client, chats across
them, and saves screenshots at desktop and phone width, light and dark, in OUTPUT_DIR
(default /tmp/messenger-web-shots).  Prints what the pages logged (errors, CSP refusals).
A helper for people working on the page, not a test: the browser tests live in tests/.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
HOSTILE = ["<img src=x onerror=alert(1)>", "abc\u202edcba", "x" * 16000]


def start_server(db: str, port: int = 0, web_port: int = 0) -> tuple[subprocess.Popen[str], int, str]:
    command = [sys.executable, str(ROOT / "tools" / "web_dev_server.py"), "--db", db]
    command += ["--port", str(port), "--web-port", str(web_port), "--user", "erin:secret-pw"]
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    chat = int(proc.stdout.readline().split()[1])
    url = proc.stdout.readline().split()[1]
    return proc, chat, url


class TextClient:
    """A netcat-like text-mode client."""

    def __init__(self, port: int, name: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.file = self.sock.makefile("r", encoding="utf-8")
        self.say(name)
        self.wait_for("Welcome")

    def say(self, line: str) -> None:
        self.sock.sendall((line + "\n").encode())

    def wait_for(self, text: str) -> str:
        while True:
            line = self.file.readline()
            if not line or text in line:
                return line


def log_in(page: Page, url: str, name: str, logs: list[str]) -> None:
    page.on("console", lambda msg: logs.append(f"{name} console {msg.type}: {msg.text}"))
    page.on("pageerror", lambda exc: logs.append(f"{name} pageerror: {exc}"))
    page.goto(url)
    page.fill("#login-name", name)
    page.click("#login-submit")
    page.wait_for_selector("#composer", state="visible")


def send(page: Page, text: str) -> None:
    page.fill("#composer", text)
    page.press("#composer", "Enter")


def texts(page: Page) -> list[str]:
    return page.eval_on_selector_all("#messages .message .text", "els => els.map(e => e.textContent)")


def ids(page: Page) -> list[int]:
    return page.eval_on_selector_all("#messages .message", "els => els.map(e => Number(e.dataset.id))")


def check_order(page: Page, what: str) -> None:
    got = ids(page)
    assert got == sorted(set(got)), f"{what}: ids out of order or repeated: {got}"


def resume_check(alice: Page, carol: TextClient, out: Path) -> None:
    """The page's socket drops; what was said meanwhile shows once, in order, after it is back."""
    alice.click('#rooms [data-room="#lobby"] button')
    alice.evaluate("messengerApp.link.socket.close()")
    alice.wait_for_selector("#status:has-text('offline')")
    alice.screenshot(path=str(out / "offline.png"))
    for n in range(5):
        carol.say(f"missed {n}")
    alice.wait_for_selector("#status:has-text('online')", timeout=10000)
    alice.wait_for_selector(".message .text:text-is('missed 4')")
    shown = texts(alice)
    for n in range(5):
        assert shown.count(f"missed {n}") == 1, f"missed {n} shown {shown.count(f'missed {n}')} times"
    check_order(alice, "after resuming")


def scrollback_check(browser, url: str, carol: TextClient, out: Path, logs: list[str]) -> None:
    """Scrolling to the top loads the older page without moving what is on screen."""
    for n in range(120):
        carol.say(f"old line {n}")
    carol.say("/ping done")
    carol.wait_for("pong done")
    dave = browser.new_context(viewport={"width": 1000, "height": 700}).new_page()
    log_in(dave, url, "dave", logs)
    dave.wait_for_selector(".message .text:text-is('old line 119')")
    before = len(ids(dave))
    first = ids(dave)[0]
    dave.eval_on_selector("#messages", "el => el.scrollTop = 0")
    for _ in range(100):  # wait_for_function would need eval, which the page's CSP forbids
        if len(ids(dave)) > before:
            break
        dave.wait_for_timeout(50)
    dave.wait_for_timeout(300)
    top = dave.evaluate(
        f"""() => {{ const list = document.getElementById('messages');
        const el = list.querySelector('[data-id="{first}"]');
        return el.getBoundingClientRect().top - list.getBoundingClientRect().top; }}"""
    )
    assert top >= -5, f"the view jumped: the old top message is at {top}px"
    check_order(dave, "after scrolling back")
    dave.screenshot(path=str(out / "scrollback.png"))


def new_lines_check(alice: Page, carol: TextClient, out: Path) -> None:
    """Scrolled up, arrivals show "N new ↓"; a room with unread messages shows the "new" line;
    Tab completes commands and names."""
    for n in range(30):
        carol.say(f"filler {n}")
    alice.wait_for_selector(".message .text:text-is('filler 29')")
    alice.eval_on_selector("#messages", "el => el.scrollTop = 0")
    carol.say("arrived while scrolled up")
    alice.wait_for_selector("#new-below:has-text('1 new ↓')")
    alice.screenshot(path=str(out / "new-below.png"))
    alice.click("#new-below")
    alice.wait_for_selector("#new-below", state="hidden")
    alice.click('#rooms [data-room="#ops"] button')
    alice.wait_for_selector("#messages .unread-line")
    assert alice.locator('#rooms [data-room="#ops"] .unread').count() == 0, "unread count kept"
    alice.screenshot(path=str(out / "unread-line.png"))
    alice.fill("#composer", "/jo")
    alice.press("#composer", "Tab")
    assert alice.input_value("#composer") == "/join ", alice.input_value("#composer")
    alice.fill("#composer", "hi ca")
    alice.press("#composer", "Tab")
    assert alice.input_value("#composer") == "hi carol ", alice.input_value("#composer")
    send(alice, "/help")
    alice.wait_for_selector("#messages .notice:has-text('/kick')")
    send(alice, "//etc/hosts is a file")
    alice.wait_for_selector(".message .text:text-is('/etc/hosts is a file')")


def refusal_check(browser, url: str, out: Path) -> None:
    """Login refusals are shown in place, and the same form tries again on the same socket."""
    page = browser.new_context(viewport={"width": 800, "height": 600}).new_page()
    page.goto(url)
    page.fill("#login-name", "alice")
    page.click("#login-submit")
    page.wait_for_selector("#login-error:has-text('taken')")
    page.fill("#login-name", "erin")
    page.click("#login-submit")
    page.wait_for_selector("#login-error:has-text('password')")
    page.screenshot(path=str(out / "login-refused.png"))
    page.fill("#login-password", "wrong")
    page.click("#login-submit")
    page.wait_for_selector("#login-error:has-text('wrong')")
    page.fill("#login-password", "secret-pw")
    page.click("#login-submit")
    page.wait_for_selector("#composer", state="visible")
    stored = page.evaluate("() => JSON.stringify(localStorage)")
    assert "secret-pw" not in stored, "the password was stored"
    page.context.close()


def scenario(browser, url: str, chat_port: int, out: Path, logs: list[str]) -> tuple[Page, TextClient]:
    alice = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    log_in(alice, url, "alice", logs)
    carol = TextClient(chat_port, "carol")
    bob_ctx = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme="dark")
    bob = bob_ctx.new_page()
    log_in(bob, url, "bob", logs)
    send(alice, "hello everyone, this is the web page")
    carol.say("hi @alice, from netcat")
    send(bob, "/me waves")
    alice.wait_for_selector(".message.action")
    bob.fill("#join-room", "ops")
    bob.press("#join-room", "Enter")
    bob.wait_for_selector('#rooms [data-room="#ops"]')
    send(bob, "/topic release at 5")
    send(bob, "ops only: alice, join us")
    send(alice, "/join #ops")
    alice.wait_for_selector('#rooms [data-room="#ops"] [aria-current="true"]')
    alice.click('#rooms [data-room="#lobby"] button')
    carol.say("lobby line while alice is here")
    send(bob, "a line in #ops for alice's unread count")
    send(bob, "@alice are you there?")
    alice.wait_for_selector('#rooms [data-room="#ops"] .unread')
    for text in HOSTILE:
        carol.say(text)
    alice.wait_for_timeout(500)
    assert alice.locator("#messages img").count() == 0, "an <img> was made from text"
    new_lines_check(alice, carol, out)
    alice.click('#people [data-user="bob"] button')
    send(alice, "a private word")
    bob.wait_for_selector('#rooms [data-room="@alice"]')
    alice.click('#rooms [data-room="#lobby"] button')
    alice.screenshot(path=str(out / "desktop-light.png"))
    bob.click('#rooms [data-room="#ops"] button')
    bob.screenshot(path=str(out / "desktop-dark.png"))
    for scheme in ("light", "dark"):
        phone = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme=scheme).new_page()
        log_in(phone, url, f"phone_{scheme}", logs)
        send(phone, "typing from a phone")
        phone.wait_for_timeout(300)
        phone.screenshot(path=str(out / f"phone-{scheme}.png"))
        phone.click("#sidebar-toggle")
        phone.screenshot(path=str(out / f"phone-{scheme}-sidebar.png"))
    refusal_check(browser, url, out)
    resume_check(alice, carol, out)
    scrollback_check(browser, url, carol, out, logs)
    return alice, carol


def restart_check(alice: Page, chat_port: int, out: Path) -> None:
    """After a server restart the page is back by itself, with no duplicate."""
    alice.wait_for_selector("#status:has-text('online')", timeout=15000)
    carol = TextClient(chat_port, "carol2")
    carol.say("after the restart")
    alice.wait_for_selector(".message .text:text-is('after the restart')")
    check_order(alice, "after the restart")
    alice.screenshot(path=str(out / "after-restart.png"))


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/messenger-web-shots")
    out.mkdir(parents=True, exist_ok=True)
    db = str(out / "smoke.db")
    Path(db).unlink(missing_ok=True)
    proc, chat_port, url = start_server(db)
    logs: list[str] = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            try:
                alice, _ = scenario(browser, url, chat_port, out, logs)
                stop(proc)
                web_port = int(url.rstrip("/").rsplit(":", 1)[1])
                proc, _, _ = start_server(db, chat_port, web_port)
                restart_check(alice, chat_port, out)
            finally:
                browser.close()
    finally:
        stop(proc)
        print("\n".join(logs) or "no console messages")
    print(f"screenshots in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

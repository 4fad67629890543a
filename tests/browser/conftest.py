"""The browser tests' fixtures: Debian's chromium driven by Playwright, one browser per worker and
a new context (cookies, storage, cache) per test.

The browser is the system's (/usr/bin/chromium, installed by tools/ensure-system-packages, which
`make test` runs); Playwright never downloads one. When it is missing the tests are skipped with a
line saying how to get it, but under CI=true a missing browser fails them: a green CI must mean
the page was tested.

Every wait is on an event with a deadline (Playwright's expect and wait_for with WAIT_MS), never
a sleep.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from messenger.server import ServerConfig
from messenger.server.webpages import Pages

from ..conftest import RawClient, ServerThread, stored_server
from .launch import HOW_TO_GET_IT, chromium_installed, launch_chromium

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

WAIT_MS = 5_000  # one expected event in the page (a message shown, a control enabled)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """All browser tests on one xdist worker when the whole suite runs with ``-n N --dist
    loadgroup``: one chromium instead of one per worker, which on 2 cores would starve the other
    tests' subprocesses and their deadlines (``make test`` runs the browser tests last, alone)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.xdist_group("browser"))


def browser_missing(reason: str) -> None:
    """Skip the test, or fail it under CI=true, where a skipped browser test would hide that the
    page was never tested."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless chromium per worker that runs browser tests (a session per worker); Playwright
    starts it with a new temporary profile (user-data dir) and removes that at the end."""
    if not chromium_installed():
        browser_missing(HOW_TO_GET_IT)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        browser_missing("Playwright is not installed: `make test` installs the test extra")
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh context for each test: no cookies, storage or cache from another test."""
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    context = browser.new_context(viewport={"width": 1100, "height": 720})
    context.set_default_timeout(WAIT_MS)
    context.set_default_navigation_timeout(WAIT_MS)
    yield context
    context.close()


class PageErrors:
    """What went wrong inside the pages of a test: uncaught exceptions and console errors (a
    Content-Security-Policy violation is one), to assert on at the end."""

    def __init__(self) -> None:
        self.uncaught: list[str] = []
        self.console: list[str] = []

    def watch(self, page: Page) -> Page:
        page.on("pageerror", lambda error: self.uncaught.append(f"{page.url}: {error}"))
        page.on("console", lambda msg: self._console(page, msg))
        return page

    def _console(self, page: Page, message: Any) -> None:
        if message.type == "error":
            self.console.append(f"{page.url}: {message.text}")

    def csp_violations(self) -> list[str]:
        return [line for line in self.console if "Content Security Policy" in line]


@pytest.fixture
def page_errors() -> PageErrors:
    return PageErrors()


@pytest.fixture
def new_page(context: BrowserContext, page_errors: PageErrors) -> Iterator[Callable[[], Page]]:
    """Open pages in the test's context (they share its storage, like tabs of one browser);
    after the test no page may have thrown an uncaught exception or broken the CSP."""

    def open_page() -> Page:
        return page_errors.watch(context.new_page())

    yield open_page
    assert not page_errors.uncaught, page_errors.uncaught
    assert not page_errors.csp_violations(), page_errors.csp_violations()


class WebChat:
    """A real ChatServer in a thread with its web port open: the page at ``url``, the chat port
    at ``port`` for netcat-like clients."""

    def __init__(
        self, thread: ServerThread, web_port: int, origins: tuple[str, ...], pages: Pages | None
    ) -> None:
        self.thread = thread
        self.web = thread.server.open_web(("127.0.0.1", web_port), origins, pages)

    @property
    def port(self) -> int:
        return self.thread.port

    @property
    def web_port(self) -> int:
        return self.web.port

    @property
    def url(self) -> str:
        return self.web.url

    def stop(self) -> None:
        self.thread.stop()


@pytest.fixture
def web_chat() -> Iterator[Callable[..., WebChat]]:
    """Start chat servers with their web port (flood control off unless asked for); with ``db``
    the history, accounts and moderation are kept in that file, so a server started again on
    the same file and ports is the same chat after a restart; ``pages`` serves other files than
    the package's page (a probe page), ``origins`` are --web-origin's."""
    started: list[WebChat] = []

    def start(
        db: Path | None = None,
        port: int = 0,
        web_port: int = 0,
        origins: tuple[str, ...] = (),
        pages: Pages | None = None,
        **config: Any,
    ) -> WebChat:
        config.setdefault("max_rate", 0)
        if db is not None:
            thread = stored_server(db, port, **config)
        else:
            thread = ServerThread(ServerConfig(**config), port)
        chat = WebChat(thread, web_port, origins, pages)
        started.append(chat)
        return chat

    yield start
    for chat in started:
        chat.stop()


@pytest.fixture
def text_client() -> Iterator[Callable[[int, str], RawClient]]:
    """Log in netcat-like clients (text mode: the first line is the name); closed at the end."""
    opened: list[RawClient] = []

    def open_client(port: int, name: str) -> RawClient:
        client = RawClient(port)
        opened.append(client)
        client.send(f"{name}\n")
        client.until(lambda line: line == f"{name} has joined the chat!")
        return client

    yield open_client
    for client in opened:
        client.close()

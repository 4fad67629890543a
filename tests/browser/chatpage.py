"""What a person does on the chat page, in the words of the page's test hooks (the element ids and
classes the page promises: #login-form, #composer, #messages, #rooms, #people, .message ...).

Every wait is Playwright's expect with WAIT_MS: an event with a deadline, never a sleep.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect

from ..conftest import RawClient
from .conftest import WAIT_MS, WebChat


class ChatPage:
    """One browser tab on the chat page."""

    def __init__(self, page: Page, url: str) -> None:
        self.page = page
        self.url = url

    def open(self) -> ChatPage:
        self.page.goto(self.url)
        expect(self.page.locator("#login-form")).to_be_visible(timeout=WAIT_MS)
        return self

    def submit_login(self, name: str, password: str | None = None) -> None:
        self.page.fill("#login-name", name)
        if password is not None:
            self.page.fill("#login-password", password)
        self.page.press("#login-name", "Enter")

    def login(self, name: str, password: str | None = None) -> ChatPage:
        """Log in and wait until the composer is there and the person is in the online list."""
        self.submit_login(name, password)
        expect(self.page.locator("#composer")).to_be_visible(timeout=WAIT_MS)
        expect(self.person(name)).to_be_visible(timeout=WAIT_MS)
        return self

    def type(self, line: str) -> None:
        """Type a line into the composer and send it with Enter."""
        self.page.fill("#composer", line)
        self.page.press("#composer", "Enter")
        expect(self.page.locator("#composer")).to_have_value("", timeout=WAIT_MS)

    # -- what is on the page ------------------------------------------------------------------

    @property
    def messages(self) -> Locator:
        return self.page.locator("#messages .message")

    def message(self, text: str, sender: str | None = None) -> Locator:
        """The message lines whose text is exactly ``text`` (and whose sender is ``sender``)."""
        lines = self.messages.filter(has=self.page.locator(".text", has_text=exactly(text)))
        if sender is not None:
            lines = lines.filter(has=self.page.locator(".sender", has_text=exactly(sender)))
        return lines

    def expect_message(self, text: str, sender: str | None = None) -> Locator:
        line = self.message(text, sender)
        expect(line).to_have_count(1, timeout=WAIT_MS)
        return line

    def room(self, name: str) -> Locator:
        """The sidebar item of a room (``#dev``) or of the private conversation with someone (a
        name: the page keys those ``@`` and the name's key, and shows the name)."""
        if name.startswith("#"):
            return self.page.locator(f'#rooms [data-room="{name}"]')
        private = self.page.locator('#rooms [data-room^="@"]')
        return private.filter(has=self.page.get_by_text(name, exact=True))

    def switch_to(self, name: str) -> None:
        """Show a room or private conversation, as a click in the sidebar does."""
        item = self.room(name)
        item.locator("button").first.click()
        current = item.locator("xpath=self::*[@aria-current] | .//*[@aria-current]")
        expect(current).to_have_attribute("aria-current", "true", timeout=WAIT_MS)

    def person(self, name: str) -> Locator:
        return self.page.locator(f'#people [data-user="{name}"]')

    def ids(self) -> list[int]:
        """The ids of the message lines shown, top to bottom."""
        return [int(value) for value in self.messages.evaluate_all("ls => ls.map(l => l.dataset.id)")]

    def texts(self) -> list[str]:
        return self.page.locator("#messages .message .text").all_text_contents()


def chat_page(new_page: Callable[[], Page], web: WebChat, name: str) -> ChatPage:
    """A new tab on ``web``'s page, logged in as ``name``."""
    return ChatPage(new_page(), web.url).open().login(name)


def said(client: RawClient, line: str) -> None:
    """Wait until the netcat client reads ``line`` (its own messages come back to it too)."""
    client.until(lambda seen: seen == line)


def exactly(text: str) -> re.Pattern[str]:
    """A pattern for Playwright's has_text that matches the whole text, nothing around it."""
    return re.compile("^" + re.escape(text) + "$")

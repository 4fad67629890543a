"""The web page in a crowded room: presence summaries keep its people list and count, and read as
one notice (docs/protocol.md, "Presence in a crowd")."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from ..conftest import RawClient
from .chatpage import chat_page
from .conftest import WAIT_MS, WebChat

Pages = Callable[[], Page]


def test_the_people_list_follows_the_summaries(
    web_chat: Callable[..., WebChat], new_page: Pages, text_client: Callable[[int, str], RawClient]
) -> None:
    web = web_chat(crowd=2, presence_interval=3600.0)  # the test says when an interval ends
    text_client(web.port, "ann")
    text_client(web.port, "bob")
    cat = chat_page(new_page, web, "cat")  # the third: a crowd
    # its welcome named two of three (the first in sort order and cat) and counted them
    expect(cat.person("ann")).to_be_visible(timeout=WAIT_MS)
    expect(cat.person("bob")).to_have_count(0)
    expect(cat.page.locator("#people .more")).to_have_text("and 1 more", timeout=WAIT_MS)

    dan = text_client(web.port, "dan")
    web.thread.server.registry.announce_presence()
    expect(cat.person("dan")).to_be_visible(timeout=WAIT_MS)
    notice = cat.page.locator("#messages", has_text="2 people joined the chat: cat, dan (4 online)")
    expect(notice).to_have_count(1, timeout=WAIT_MS)

    dan.send("/quit\n")
    dan.closed()
    for number in range(22):
        text_client(web.port, f"n{number:02}")
    web.thread.server.registry.announce_presence()
    expect(cat.person("dan")).to_have_count(0, timeout=WAIT_MS)
    expect(cat.person("n19")).to_be_visible(timeout=WAIT_MS)
    expect(cat.person("n20")).to_have_count(0)  # summaries name twenty; the rest are counted
    expect(cat.page.locator("#people .more")).to_have_text("and 3 more", timeout=WAIT_MS)
    cat.type("/who")  # everyone, on request
    expect(cat.page.locator("#messages", has_text="Online (25): ann, bob, cat, ")).to_have_count(1)

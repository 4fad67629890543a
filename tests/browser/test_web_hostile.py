"""What someone hostile can put on the page: markup, bidi controls and 16 KiB lines in messages,
topics and away texts are shown as text; refused logins are explained in place and the name (never
the password) is remembered.

A page that inserted any of this as HTML would also break its Content-Security-Policy (an inline
``onerror``): the ``new_page`` fixture fails the test on any CSP violation or uncaught error.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from ..conftest import RawClient
from .chatpage import ChatPage, said
from .conftest import WAIT_MS, WebChat

Pages = Callable[[], Page]

MARKUP = [
    "<img src=x onerror=window.__xss=1>",
    "<script>window.__xss=1</script>",
    "<b>bold</b> &lt;not an entity&gt; &amp;",
    '"><svg onload=window.__xss=1>',
]
RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: reverses what follows it, up to the end of its paragraph


def nothing_ran(page: Page) -> None:
    assert page.evaluate("window.__xss") is None
    assert page.locator("#messages img, #messages script, #messages svg, #messages b").count() == 0
    assert page.locator("#topic img, #topic svg, #people img, #people svg").count() == 0


def test_markup_in_messages_topics_and_away_texts_is_shown_as_text(
    web_chat: Callable[..., WebChat], new_page: Pages, text_client: Callable[[int, str], RawClient]
) -> None:
    web = web_chat()
    carol = text_client(web.port, "carol")
    # Away texts are not announced: a page learns them when it asks who is online (on login).
    carol.send(f"/topic {MARKUP[0]}\n/away {MARKUP[3]}\n")
    said(carol, f"carol is away: {MARKUP[3]}")
    alice = ChatPage(new_page(), web.url).open().login("alice")
    bob = ChatPage(new_page(), web.url).open().login("bob")
    expect(bob.page.locator("#topic")).to_contain_text(MARKUP[0], timeout=WAIT_MS)
    expect(bob.person("carol")).to_contain_text(MARKUP[3], timeout=WAIT_MS)
    for text in MARKUP:
        carol.send(f"{text}\n")
        alice.type(text)
    for text in MARKUP:
        bob.expect_message(text, "carol")
        bob.expect_message(text, "alice")
    for page in (alice, bob):
        nothing_ran(page.page)


def test_the_people_list_follows_away_and_back(
    web_chat: Callable[..., WebChat], new_page: Pages, text_client: Callable[[int, str], RawClient]
) -> None:
    """The page asks to follow presence: someone going away after it logged in shows in its
    list of people, and coming back clears it."""
    web = web_chat()
    alice = ChatPage(new_page(), web.url).open().login("alice")
    carol = text_client(web.port, "carol")
    expect(alice.person("carol")).to_be_visible(timeout=WAIT_MS)
    carol.send("/away at lunch\n")
    expect(alice.person("carol")).to_contain_text("at lunch", timeout=WAIT_MS)
    carol.send("/back\n")
    expect(alice.person("carol")).not_to_contain_text("at lunch", timeout=WAIT_MS)


def test_bidi_controls_stay_inside_their_message(
    web_chat: Callable[..., WebChat], new_page: Pages, text_client: Callable[[int, str], RawClient]
) -> None:
    web = web_chat()
    alice = ChatPage(new_page(), web.url).open().login("alice")
    carol = text_client(web.port, "carol")
    miriam = text_client(web.port, "מרים")
    carol.send(f"{RLO}gnp.exe and the rest\n")
    miriam.send("שלום hello\n")
    carol.send("plain after\n")
    line = alice.messages.filter(has_text="gnp.exe")
    expect(line).to_have_count(1, timeout=WAIT_MS)
    alice.expect_message("שלום hello", "מרים")
    alice.expect_message("plain after", "carol")
    shown = line.locator(".text").text_content() or ""
    assert shown.replace(RLO, "") == "gnp.exe and the rest"
    # The override reorders the message's own text, never the line around it: the sender still
    # comes first, on the left, and the next lines are laid out as usual.
    for message in (line, alice.message("plain after", "carol")):
        sender = message.locator(".sender").bounding_box()
        text = message.locator(".text").bounding_box()
        assert sender is not None and text is not None
        assert sender["x"] + sender["width"] <= text["x"] + 1, (sender, text)


def test_a_16_kib_line_wraps_inside_the_log(
    web_chat: Callable[..., WebChat], new_page: Pages, text_client: Callable[[int, str], RawClient]
) -> None:
    web = web_chat()
    alice = ChatPage(new_page(), web.url).open().login("alice")
    carol = text_client(web.port, "carol")
    long_word = "x" * (16 * 1024 - 200)
    carol.send(f"{long_word}\nafter the long one\n")
    alice.expect_message("after the long one", "carol")
    assert alice.texts()[-2:] == [long_word, "after the long one"]
    overflow = alice.page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth,"
        " document.querySelector('#messages').scrollWidth,"
        " document.querySelector('#messages').clientWidth]"
    )
    assert overflow[0] <= overflow[1] and overflow[2] <= overflow[3], overflow
    expect(alice.page.locator("#composer")).to_be_in_viewport(timeout=WAIT_MS)


# -- logins ---------------------------------------------------------------------------------------


def refused(page: ChatPage) -> str:
    """The error shown in place of a refused login (the form stays, the chat does not open)."""
    error = page.page.locator("#login-error")
    expect(error).to_be_visible(timeout=WAIT_MS)
    expect(error).not_to_have_text("", timeout=WAIT_MS)
    expect(page.page.locator("#login-form")).to_be_visible(timeout=WAIT_MS)
    return error.text_content() or ""


@pytest.mark.parametrize("name", ["<img src=x onerror=window.__xss=1>", f"{RLO}nimda", "two words"])
def test_a_refused_name_is_explained_in_place_and_can_be_corrected(
    web_chat: Callable[..., WebChat], new_page: Pages, name: str
) -> None:
    web = web_chat()
    alice = ChatPage(new_page(), web.url).open()
    alice.submit_login(name)
    refused(alice)
    nothing_ran(alice.page)
    assert alice.page.locator("#login-error img").count() == 0
    alice.login("alice")


def test_a_taken_name_is_refused_and_another_accepted(
    web_chat: Callable[..., WebChat], new_page: Pages, text_client: Callable[[int, str], RawClient]
) -> None:
    web = web_chat()
    text_client(web.port, "carol")
    page = ChatPage(new_page(), web.url).open()
    page.submit_login("CAROL")
    assert "taken" in refused(page)
    page.login("carol2")


def test_registered_names_need_their_password_which_is_never_stored(
    tmp_path: Path, web_chat: Callable[..., WebChat], new_page: Pages
) -> None:
    web = web_chat(db=tmp_path / "chat.db")
    assert web.thread.accounts is not None
    web.thread.accounts.add("dora", "correct horse battery")
    page = ChatPage(new_page(), web.url).open()
    page.submit_login("dora")
    refused(page)
    expect(page.page.locator("#login-password")).to_be_visible(timeout=WAIT_MS)
    page.submit_login("dora", "wrong horse")
    refused(page)
    page.login("dora", "correct horse battery")

    storage = page.page.evaluate("() => JSON.stringify({...localStorage, ...sessionStorage})")
    assert "dora" in storage
    assert "horse" not in storage
    again = ChatPage(new_page(), web.url).open()
    expect(again.page.locator("#login-name")).to_have_value("dora", timeout=WAIT_MS)
    expect(again.page.locator("#login-password")).to_have_value("", timeout=WAIT_MS)


def test_a_server_that_requires_accounts_refuses_other_names(
    tmp_path: Path, web_chat: Callable[..., WebChat], new_page: Pages
) -> None:
    web = web_chat(db=tmp_path / "chat.db", auth="required")
    page = ChatPage(new_page(), web.url).open()
    page.submit_login("stranger", "anything")
    refused(page)
    expect(page.page.locator("#composer")).not_to_be_visible(timeout=WAIT_MS)

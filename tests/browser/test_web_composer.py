"""The page as a person uses it beyond plain chat: pasting lines, completing with Tab, a phone's
width, the "N new ↓" button and the "new messages" line, and being kicked by an operator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from messenger.core.roles import Role

from ..conftest import RawClient
from .chatpage import ChatPage, chat_page, said
from .conftest import WAIT_MS, WebChat

Pages = Callable[[], Page]


def paste(page: Page, text: str) -> None:
    """Paste ``text`` into the composer as the browser does (a paste event with clipboard data)."""
    page.locator("#composer").evaluate(
        """(input, text) => {
            const data = new DataTransfer();
            data.setData("text/plain", text);
            input.focus();
            const init = {clipboardData: data, bubbles: true, cancelable: true};
            input.dispatchEvent(new ClipboardEvent("paste", init));
        }""",
        text,
    )


def test_pasted_lines_are_sent_one_by_one(
    web_chat: Callable[..., WebChat], new_page: Pages, text_client: Callable[[int, str], RawClient]
) -> None:
    web = web_chat()
    alice = chat_page(new_page, web, "alice")
    carol = text_client(web.port, "carol")
    paste(alice.page, "first line\nsecond line\r\nthird line\n")
    for line in ("first line", "second line", "third line"):
        said(carol, f"alice: {line}")
    alice.expect_message("third line", "alice")
    assert alice.texts()[-3:] == ["first line", "second line", "third line"]
    expect(alice.page.locator("#composer")).to_have_value("", timeout=WAIT_MS)


def test_tab_completes_commands_names_and_rooms(
    web_chat: Callable[..., WebChat], new_page: Pages, text_client: Callable[[int, str], RawClient]
) -> None:
    web = web_chat()
    carol = text_client(web.port, "caroline")
    carol.send("/join #development\n")
    said(carol, "caroline has joined #development")
    alice = chat_page(new_page, web, "alice")
    expect(alice.person("caroline")).to_be_visible(timeout=WAIT_MS)
    alice.type("/rooms")  # rooms are completed once heard of, as in the terminal
    alice.page.locator("#messages").get_by_text("#development").wait_for(timeout=WAIT_MS)
    composer = alice.page.locator("#composer")
    for typed, completed in (
        ("/whoi", "/whois "),
        ("hello caro", "hello caroline "),
        ("/join #devel", "/join #development "),
    ):
        composer.fill(typed)
        composer.press("Tab")
        expect(composer).to_have_value(completed, timeout=WAIT_MS)


def test_a_phone_sized_page_chats_without_scrolling_sideways(
    web_chat: Callable[..., WebChat], new_page: Pages, text_client: Callable[[int, str], RawClient]
) -> None:
    web = web_chat()
    page = new_page()
    page.set_viewport_size({"width": 375, "height": 740})
    alice = ChatPage(page, web.url).open()
    alice.submit_login("alice")
    expect(page.locator("#composer")).to_be_in_viewport(timeout=WAIT_MS)
    carol = text_client(web.port, "carol")
    carol.send("a fairly long line from netcat that has to wrap on a phone's narrow screen\n")
    alice.expect_message(
        "a fairly long line from netcat that has to wrap on a phone's narrow screen", "carol"
    )
    alice.type("short answer")
    said(carol, "alice: short answer")
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], widths
    expect(page.locator("#composer")).to_be_in_viewport(timeout=WAIT_MS)


def test_arrivals_while_scrolled_up_are_counted_not_scrolled_to(
    tmp_path: Path,
    web_chat: Callable[..., WebChat],
    new_page: Pages,
    text_client: Callable[[int, str], RawClient],
) -> None:
    web = web_chat(db=tmp_path / "chat.db")
    carol = text_client(web.port, "carol")
    carol.send("".join(f"earlier {n}\n" for n in range(60)))
    said(carol, "carol: earlier 59")
    alice = chat_page(new_page, web, "alice")
    alice.expect_message("earlier 59", "carol")
    log = alice.page.locator("#messages")
    position = log.evaluate("el => { el.scrollTop = 200; return el.scrollTop; }")
    carol.send("new 1\nnew 2\nnew 3\n")
    alice.expect_message("new 3", "carol")
    below = alice.page.locator("#new-below")
    expect(below).to_be_visible(timeout=WAIT_MS)
    expect(below).to_contain_text("3 new", timeout=WAIT_MS)
    assert log.evaluate("el => el.scrollTop") == position  # the view did not move
    below.click()
    expect(alice.message("new 3", "carol")).to_be_in_viewport(timeout=WAIT_MS)
    expect(below).to_be_hidden(timeout=WAIT_MS)


def test_a_new_messages_line_marks_the_first_unread(
    tmp_path: Path,
    web_chat: Callable[..., WebChat],
    new_page: Pages,
    text_client: Callable[[int, str], RawClient],
) -> None:
    web = web_chat(db=tmp_path / "chat.db")  # with history: joining #dev shows what was said
    alice = chat_page(new_page, web, "alice")
    carol = text_client(web.port, "carol")
    carol.send("/join #dev\nread before\n")
    said(carol, "carol: read before")
    alice.type("/join #dev")
    alice.switch_to("#dev")
    alice.expect_message("read before", "carol")
    alice.switch_to("#lobby")
    carol.send("unread one\nunread two\n")
    expect(alice.room("#dev").locator(".unread")).to_have_text("2", timeout=WAIT_MS)
    alice.switch_to("#dev")
    first_unread = alice.expect_message("unread one", "carol")
    line = alice.page.locator("#messages .unread-line")
    expect(line).to_be_visible(timeout=WAIT_MS)
    # The line sits right above the first unread message, below what was read.
    assert line.evaluate("el => el.nextElementSibling.dataset.id") == first_unread.get_attribute("data-id")


def test_a_kicked_person_is_told_why_and_not_reconnected(
    tmp_path: Path, web_chat: Callable[..., WebChat], new_page: Pages
) -> None:
    web = web_chat(db=tmp_path / "chat.db")
    assert web.thread.accounts is not None
    web.thread.accounts.add("root", "operator secret", Role.OP)
    op = RawClient(web.port)
    try:
        op.send_json({"type": "hello", "user": "root", "password": "operator secret"})
        assert op.frame()["type"] == "welcome"
        alice = chat_page(new_page, web, "alice")
        op.send_json({"type": "kick", "user": "alice", "reason": "spam & <b>eggs</b>"})
        expect(alice.page.locator("#login-error")).to_contain_text("spam & <b>eggs</b>", timeout=WAIT_MS)
        expect(alice.page.locator("#login-form")).to_be_visible(timeout=WAIT_MS)
        expect(alice.page.locator("#composer")).to_be_hidden(timeout=WAIT_MS)
        op.send_json({"type": "who"})
        users = op.until(lambda line: '"type":"users"' in line)[-1]
        assert '"alice"' not in users
    finally:
        op.close()

"""The chat page in a real browser, against a real server: people on the page and on netcat in
the same rooms, unread counts, scroll-back, a private conversation, a server restart."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from ..conftest import RawClient
from .chatpage import ChatPage, chat_page, said
from .conftest import WAIT_MS, WebChat

Pages = Callable[[], Page]


def test_two_pages_and_a_netcat_client_chat(
    web_chat: Callable[..., WebChat], new_page: Pages, text_client: Callable[[int, str], RawClient]
) -> None:
    web = web_chat()
    alice = chat_page(new_page, web, "alice")
    bob = chat_page(new_page, web, "bob")
    carol = text_client(web.port, "carol")
    for page in (alice, bob):
        expect(page.person("carol")).to_be_visible(timeout=WAIT_MS)
    expect(alice.person("bob")).to_be_visible(timeout=WAIT_MS)

    alice.type("hello from a browser")
    bob.expect_message("hello from a browser", "alice")
    said(carol, "alice: hello from a browser")
    carol.send("hello from netcat\n")
    bob.type("and from another browser")
    said(carol, "bob: and from another browser")
    for page in (alice, bob):
        page.expect_message("hello from netcat", "carol")
        page.expect_message("and from another browser", "bob")
        assert page.texts()[-3:] == ["hello from a browser", "hello from netcat", "and from another browser"]

    carol.send("/quit\n")
    for page in (alice, bob):
        expect(page.person("carol")).to_have_count(0, timeout=WAIT_MS)


def test_rooms_unread_counts_mentions_and_topics(
    web_chat: Callable[..., WebChat], new_page: Pages, text_client: Callable[[int, str], RawClient]
) -> None:
    web = web_chat()
    alice = chat_page(new_page, web, "alice")
    carol = text_client(web.port, "carol")
    alice.type("/join #dev")
    expect(alice.room("#dev")).to_be_visible(timeout=WAIT_MS)
    alice.switch_to("#lobby")

    carol.send("/join #dev\n/topic #dev release day\n")
    for n in range(3):
        carol.send(f"dev line {n}\n")
    said(carol, "carol: dev line 2")
    dev = alice.room("#dev")
    expect(dev.locator(".unread")).to_have_text("3", timeout=WAIT_MS)
    expect(dev.locator(".mention")).not_to_be_visible(timeout=WAIT_MS)
    assert alice.message("dev line 0").count() == 0  # counted, not shown in the lobby
    carol.send("alice: are you there?\n")
    expect(dev.locator(".unread")).to_have_text("4", timeout=WAIT_MS)
    expect(dev.locator(".mention")).to_be_visible(timeout=WAIT_MS)

    alice.switch_to("#dev")
    expect(alice.page.locator("#topic")).to_contain_text("release day", timeout=WAIT_MS)
    alice.expect_message("alice: are you there?", "carol")
    assert alice.texts()[-4:] == ["dev line 0", "dev line 1", "dev line 2", "alice: are you there?"]
    expect(dev.locator(".unread")).not_to_be_visible(timeout=WAIT_MS)
    expect(dev.locator(".mention")).not_to_be_visible(timeout=WAIT_MS)

    carol.send("/join #lobby\nback in the lobby\n")
    expect(alice.room("#lobby").locator(".unread")).to_have_text("1", timeout=WAIT_MS)
    alice.type("/part")
    expect(alice.room("#dev")).to_have_count(0, timeout=WAIT_MS)
    alice.expect_message("back in the lobby", "carol")


def test_scrolling_up_loads_older_pages_without_the_view_jumping(
    tmp_path: Path,
    web_chat: Callable[..., WebChat],
    new_page: Pages,
    text_client: Callable[[int, str], RawClient],
) -> None:
    web = web_chat(db=tmp_path / "chat.db", history=50)
    carol = text_client(web.port, "carol")
    lines = [f"line {n:03}" for n in range(1, 131)]
    carol.send("".join(f"{line}\n" for line in lines))
    said(carol, f"carol: {lines[-1]}")

    alice = chat_page(new_page, web, "alice")
    alice.expect_message(lines[-1], "carol")
    log = alice.page.locator("#messages")
    for _ in range(4):  # 50 on login, then a page per scroll: 130 needs three more at most
        if alice.message(lines[0]).count():
            break
        oldest_id = alice.messages.first.get_attribute("data-id")
        oldest = alice.page.locator(f"#messages .message[data-id='{oldest_id}']")
        # Scroll to the top and read where the oldest line is then, in one step of the page's
        # script: nothing the page does on scrolling or on older lines can run in between.
        top = log.evaluate(
            "(el, id) => { el.scrollTop = 0; return el.querySelector(`[data-id='${id}']`)"
            ".getBoundingClientRect().top; }",
            oldest_id,
        )
        expect(alice.messages.first).not_to_have_attribute("data-id", str(oldest_id), timeout=WAIT_MS)
        after = oldest.evaluate("el => el.getBoundingClientRect().top")
        # The line that was at the top stays where it was: older lines appear above it.
        assert abs(after - top) <= 2, (top, after)
    assert alice.texts() == lines
    ids = alice.ids()
    assert ids == sorted(set(ids))


def away_while_restarted(
    tmp_path: Path,
    web_chat: Callable[..., WebChat],
    new_page: Pages,
    text_client: Callable[[int, str], RawClient],
    before: int,
) -> tuple[ChatPage, RawClient]:
    """alice's page sees carol say ``before N`` (N < ``before``), then the server stops and starts
    again on the same ports and database while the page is offline; alice's page, and dave, a
    netcat client of the new server."""
    db = tmp_path / "chat.db"
    first = web_chat(db=db)
    alice = chat_page(new_page, first, "alice")
    carol = text_client(first.port, "carol")
    for n in range(before):
        carol.send(f"before {n}\n")
    alice.expect_message(f"before {before - 1}", "carol")
    first.stop()
    expect(alice.page.locator("#status")).to_contain_text("offline", timeout=WAIT_MS)
    second = web_chat(db=db, port=first.port, web_port=first.web_port)
    return alice, text_client(second.port, "dave")


def test_a_server_restart_is_resumed_without_gap_or_duplicate(
    tmp_path: Path,
    web_chat: Callable[..., WebChat],
    new_page: Pages,
    text_client: Callable[[int, str], RawClient],
) -> None:
    alice, dave = away_while_restarted(tmp_path, web_chat, new_page, text_client, 3)
    for n in range(3):
        dave.send(f"while away {n}\n")
    said(dave, "dave: while away 2")
    # The page's backoff starts at about a second, doubling: it comes back within a few.
    alice.expect_message("while away 2", "dave")
    expect(alice.page.locator("#status")).not_to_contain_text("offline", timeout=WAIT_MS)
    alice.type("back")
    said(dave, "alice: back")
    expected = [*(f"before {n}" for n in range(3)), *(f"while away {n}" for n in range(3)), "back"]
    alice.expect_message("back", "alice")
    assert [text for text in alice.texts() if text in expected] == expected
    ids = alice.ids()
    assert ids == sorted(set(ids))


def test_more_missed_than_one_history_page_is_resumed_without_gap(
    tmp_path: Path,
    web_chat: Callable[..., WebChat],
    new_page: Pages,
    text_client: Callable[[int, str], RawClient],
) -> None:
    """Away while 700 messages were said: more than the server gives in one page (500), so the
    page asks for the page before, until it reaches what it had seen; each shows once."""
    alice, dave = away_while_restarted(tmp_path, web_chat, new_page, text_client, 1)
    dave.send("".join(f"away {n}\n" for n in range(700)))
    said(dave, "dave: away 699")
    alice.expect_message("away 699", "dave")
    alice.expect_message("away 0", "dave")
    texts = alice.texts()
    missed = [text for text in texts if text.startswith("away ")]
    assert missed == [f"away {n}" for n in range(700)]
    ids = alice.ids()
    assert ids == sorted(set(ids))


def test_a_click_on_a_name_starts_a_private_conversation(
    web_chat: Callable[..., WebChat], new_page: Pages, text_client: Callable[[int, str], RawClient]
) -> None:
    web = web_chat()
    alice = chat_page(new_page, web, "alice")
    bob = chat_page(new_page, web, "bob")
    carol = text_client(web.port, "carol")
    alice.person("bob").click()
    expect(alice.room("bob")).to_be_visible(timeout=WAIT_MS)
    alice.type("just between us")
    expect(bob.room("alice")).to_be_visible(timeout=WAIT_MS)
    bob.switch_to("alice")
    bob.expect_message("just between us", "alice")
    bob.type("agreed")
    alice.expect_message("agreed", "bob")

    carol.send("/ping\n")  # everything sent before reaches carol before her pong
    seen = carol.until(lambda line: line.startswith("pong"))
    assert not [line for line in seen if "just between us" in line or "agreed" in line]
    alice.switch_to("#lobby")
    assert alice.message("just between us").count() == 0

"""Private actions from the chat page: ``/me`` typed in a private conversation goes to that
person alone (as IRC clients send it in a query), and ``/action NAME TEXT`` works anywhere."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from ..conftest import RawClient
from .chatpage import chat_page, said
from .conftest import WAIT_MS, WebChat

Pages = Callable[[], Page]


def test_me_in_a_private_conversation_and_action_are_private(
    web_chat: Callable[..., WebChat], new_page: Pages, text_client: Callable[[int, str], RawClient]
) -> None:
    web = web_chat()
    alice = chat_page(new_page, web, "alice")
    carol = text_client(web.port, "carol")
    dave = text_client(web.port, "dave")
    alice.person("carol").click()
    expect(alice.room("carol")).to_be_visible(timeout=WAIT_MS)
    alice.type("/me waves")
    said(carol, "[private to carol] * alice waves")
    alice.expect_message("waves", "alice")  # in the private conversation, shown as an action
    for mark in ("action", "private"):
        expect(alice.message("waves", "alice")).to_have_class(
            re.compile(rf"(^|\s){mark}(\s|$)"), timeout=WAIT_MS
        )
    alice.type("/action dave nods")
    said(dave, "[private to dave] * alice nods")
    carol.send("/ping\n")  # everything sent before reaches carol before her pong
    seen = carol.until(lambda line: line.startswith("pong"))
    assert not [line for line in seen if "nods" in line], seen
    alice.switch_to("#lobby")
    assert alice.message("waves").count() == 0

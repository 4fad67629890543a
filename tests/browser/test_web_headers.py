"""The web port's protections as a real browser applies them, with a probe page served by the
server in place of the chat page: the Content-Security-Policy blocks inline script and style, and
the WebSocket upgrade admits the page's own origin (and --web-origin's) but no other."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from messenger.server.webpages import Pages

from .conftest import WAIT_MS, PageErrors, WebChat

INDEX = """<!doctype html>
<meta charset="utf-8"><title>probe</title>
<p id="out" data-state="waiting">probe</p>
<p id="styled" style="color: rgb(255, 0, 0)">styled</p>
<script>window.inlineRan = 1;</script>
<script type="module" src="/static/probe.js"></script>
"""
# Connects to ?ws=URL, or to the page's own /ws; says in #out's data-state how that went.
PROBE = """
const out = document.getElementById("out");
const own = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
const socket = new WebSocket(new URLSearchParams(location.search).get("ws") || own);
socket.onopen = () => socket.send(JSON.stringify({type: "hello", user: "probe", history: 0}));
socket.onmessage = (event) => {
  const frame = JSON.parse(event.data);
  if (frame.type === "welcome") out.dataset.state = "welcome " + frame.user;
};
socket.onerror = () => { out.dataset.state = "refused"; };
document.body.dataset.module = "ran";
"""


@pytest.fixture
def probe_pages(tmp_path: Path) -> Pages:
    (tmp_path / "index.html").write_text(INDEX, encoding="utf-8")
    (tmp_path / "probe.js").write_text(PROBE, encoding="utf-8")
    return Pages(tmp_path)


def open_probe(context: BrowserContext, errors: PageErrors, url: str) -> Page:
    page = errors.watch(context.new_page())
    page.goto(url)
    expect(page.locator("body")).to_have_attribute("data-module", "ran", timeout=WAIT_MS)
    return page


def origin(web: WebChat) -> str:
    return web.url.rstrip("/")


def test_the_policy_blocks_inline_script_and_style_but_not_the_pages_own_files(
    web_chat: Callable[..., WebChat], context: BrowserContext, probe_pages: Pages
) -> None:
    errors = PageErrors()
    page = open_probe(context, errors, web_chat(pages=probe_pages).url)
    expect(page.locator("#out")).to_have_attribute("data-state", "welcome probe", timeout=WAIT_MS)
    assert page.evaluate("window.inlineRan") is None
    assert page.locator("#styled").evaluate("el => getComputedStyle(el).color") != "rgb(255, 0, 0)"
    assert len(errors.csp_violations()) >= 2, errors.console
    assert not errors.uncaught


def test_a_page_of_another_origin_cannot_open_the_chat(
    web_chat: Callable[..., WebChat], context: BrowserContext, probe_pages: Pages
) -> None:
    other = web_chat(pages=probe_pages)
    chat = web_chat(pages=probe_pages)
    page = open_probe(context, PageErrors(), f"{other.url}?ws=ws://127.0.0.1:{chat.web_port}/ws")
    expect(page.locator("#out")).to_have_attribute("data-state", "refused", timeout=WAIT_MS)

    trusting = web_chat(pages=probe_pages, origins=(origin(other),))
    page = open_probe(context, PageErrors(), f"{other.url}?ws=ws://127.0.0.1:{trusting.web_port}/ws")
    expect(page.locator("#out")).to_have_attribute("data-state", "welcome probe", timeout=WAIT_MS)

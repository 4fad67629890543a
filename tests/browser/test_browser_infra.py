"""The browser itself: Debian's chromium starts headless under Playwright and runs a page."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from .conftest import WAIT_MS


def test_chromium_renders_a_data_url_and_runs_its_script(new_page: Callable[[], Page]) -> None:
    page = new_page()
    page.goto(
        "data:text/html,<title>t</title><p id=out>waiting</p>"
        "<script>document.getElementById('out').textContent = 'ran'</script>"
    )
    expect(page.locator("#out")).to_have_text("ran", timeout=WAIT_MS)
    assert "Chrome/" in page.evaluate("navigator.userAgent")

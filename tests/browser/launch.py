"""How the browser tests and tools/screenshot.py start a browser: Debian's chromium (the system
package, never a downloaded browser) under Playwright, headless, reaching out to nothing."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_MS = 20_000  # starting the browser, on a busy 2-core machine
# Headless, and nothing that reaches out: the machine's network is closed, and a browser that
# keeps trying (sync, component updates, QUIC probes) only slows the tests down.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOW_TO_GET_IT = (
    "Debian's chromium is not installed: `make test` installs it (tools/ensure-system-packages, "
    "as root or with sudo), or run `sudo apt-get install chromium`"
)


def chromium_installed() -> bool:
    return CHROMIUM.is_file() and CHROMIUM.stat().st_mode & 0o111 != 0


def launch_chromium(playwright: Playwright) -> Browser:
    """Playwright starts it with a new temporary profile (user-data dir), removed on close."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, timeout=LAUNCH_MS
    )

"""What the web port answers over plain HTTP: the page's files, ``/commands.json``,
``/healthz``, ``/metrics`` (made by the caller), errors; and the headers every answer carries.
No sockets here: a request's method, path and headers in, an ``Answer`` (status, headers, body)
out.

The files come only from the package's ``web/static`` folder (or a folder given in tests): a
path names one file of that folder by its exact name, so nothing outside it can be reached.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ..protocol.textmode import TEXT_COMMANDS

# The page's own files and nothing else: no inline script or style, no other origin.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'none'"
)
SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-cache"),
)
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
}
# The largest file served (the page's files are small; this bounds a read).
MAX_FILE = 1 << 20


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def static_dir() -> Path:
    """The page's files as installed with the package."""
    return Path(str(resources.files("messenger"))) / "web" / "static"


def commands_json() -> bytes:
    """The one command table for the page: names, arguments and summaries, in /help's order."""
    rows = [{"name": row.name, "args": row.args, "summary": row.summary} for row in TEXT_COMMANDS]
    return json.dumps({"commands": rows}, ensure_ascii=False, separators=(",", ":")).encode()


def plain(status: int, text: str) -> Answer:
    return Answer(status, (text + "\n").encode(), (("Content-Type", "text/plain; charset=utf-8"),))


class Pages:
    """The answers of one web port: its files, read once at start (they are few and small)."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder if folder is not None else static_dir()
        self.files: dict[str, tuple[bytes, str]] = {}
        if self.folder.is_dir():
            for path in sorted(self.folder.iterdir()):
                kind = TYPES.get(path.suffix.lower())
                if kind is not None and path.is_file() and path.stat().st_size <= MAX_FILE:
                    self.files[path.name] = (path.read_bytes(), kind)
        self.commands = commands_json()

    def answer(self, method: str, target: str, metrics: Callable[[], Answer] | None = None) -> Answer:
        """The answer to ``method target`` (the WebSocket path is the caller's); ``metrics``
        answers ``/metrics`` (None: there are none, 404)."""
        if method not in ("GET", "HEAD"):
            refused = plain(405, "method not allowed")
            return Answer(405, refused.body, (*refused.headers, ("Allow", "GET, HEAD")))
        path = target.split("?", 1)[0]
        if path == "/healthz":
            return plain(200, "ok")
        if path == "/metrics" and metrics is not None:
            return metrics()
        if path == "/commands.json":
            return Answer(200, self.commands, (("Content-Type", "application/json"),))
        if path in ("/", "/index.html"):
            return self._file("index.html")
        if path.startswith("/static/"):
            return self._file(path[len("/static/") :])
        return plain(404, "not found")

    def _file(self, name: str) -> Answer:
        found = self.files.get(name)  # an exact name of the folder: no "..", no "/"
        if found is None:
            return plain(404, "not found")
        body, kind = found
        return Answer(200, body, (("Content-Type", kind),))


def http_answer(answer: Answer, head_only: bool = False) -> bytes:
    """An HTTP answer's bytes, with the security headers, ending the connection."""
    headers = [*SECURITY_HEADERS, *answer.headers, ("Content-Length", str(len(answer.body)))]
    lines = [f"HTTP/1.1 {answer.status} {REASONS.get(answer.status, 'Error')}"]
    lines += [f"{name}: {value}" for name, value in headers]
    lines += ["Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1") + (b"" if head_only else answer.body)


REASONS = {
    200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    408: "Request Timeout", 413: "Content Too Large", 431: "Request Header Fields Too Large",
}  # fmt: skip


def origin_allowed(origin: str | None, host: str | None, scheme: str, extra: tuple[str, ...]) -> bool:
    """Whether a WebSocket upgrade with this ``Origin`` may join: the page's own origin (the
    scheme and the ``Host`` it was asked for), or one given with ``--web-origin``.  A request
    without ``Origin`` (not a browser) is let through: Origin protects browsers' users from
    other sites' pages, and anything else could connect to the chat port directly."""
    if origin is None:
        return True
    if host is not None and origin == f"{scheme}://{host}":
        return True
    return origin in extra


def same_site(headers: dict[str, str], scheme: str, extra: tuple[str, ...]) -> bool:
    """Whether a request (lower-case header names) may read what only the server's own pages
    and tools should: not a fetch by another site's page.  A scraper or ``curl`` sends neither
    header; a browser says ``Sec-Fetch-Site``, and ``Origin`` on a cross-origin fetch."""
    if headers.get("sec-fetch-site", "none") not in ("none", "same-origin"):
        return False
    return origin_allowed(headers.get("origin"), headers.get("host"), scheme, extra)

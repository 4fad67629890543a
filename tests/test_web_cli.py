"""``messenger serve`` and its web port, as a user runs it: the banner names the page's URL,
``--no-web`` turns it off, a busy web port is one clear error."""

from __future__ import annotations

import socket
from collections.abc import Callable

from .clitools import ServeProcess, assert_one_error_line, run_cli
from .webclient import WsClient, http_get


def test_serve_prints_the_pages_url_and_serves_it(serve: Callable[..., ServeProcess]) -> None:
    server = serve("--port", "0")
    assert server.web_url is not None and server.web_url.startswith("http://127.0.0.1:")
    port = int(server.web_url.rstrip("/").rsplit(":", 1)[1])
    assert port not in (0, server.port)
    assert http_get(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")[0] == 200
    web = WsClient(port, origin=server.web_url.rstrip("/"))
    assert web.login("webby")["users"] == ["webby"]


def test_no_web_serves_no_page(serve: Callable[..., ServeProcess]) -> None:
    assert serve("--port", "0", "--no-web").web_url is None


def test_a_busy_web_port_is_one_clear_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("serve", "--port", "0", "--db", ":memory:", "--web-port", str(port))
    assert result.returncode == 1
    assert_one_error_line(result.stderr, f"127.0.0.1:{port}", "in use", "--web-port")

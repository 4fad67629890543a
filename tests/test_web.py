"""The web port over real sockets: HTTP (files, headers, errors, slow clients), the WebSocket
upgrade and its Origin check, web members chatting with TCP members under the same rules (bad
frames, limits, too_slow), TLS, bans."""

from __future__ import annotations

import json
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from messenger.client import Client
from messenger.protocol import Left, Message
from messenger.server import ServerConfig
from messenger.server.webpages import Pages
from messenger.tls import server_context

from .conftest import RawClient, ServerThread
from .test_tls import Certificates
from .webclient import WsClient, http_get

pytestmark = pytest.mark.timeout(30)

PAGE = b"<!doctype html><title>messenger</title><script type=module src=/static/app.js></script>"


@pytest.fixture
def static(tmp_path: Path) -> Path:
    folder = tmp_path / "static"
    folder.mkdir()
    (folder / "index.html").write_bytes(PAGE)
    (folder / "app.js").write_bytes(b"export const hello = 1;\n")
    (folder / "notes.unknown").write_bytes(b"never served: no known type\n")
    (tmp_path / "secret.txt").write_bytes(b"outside the folder\n")
    return folder


@pytest.fixture
def web(static: Path) -> Iterator[ServerThread]:
    started = ServerThread(ServerConfig(max_rate=0, handshake_timeout=1.0))
    started.server.open_web(("127.0.0.1", 0), origins=("https://chat.example.org",), pages=Pages(static))
    yield started
    started.stop()


@pytest.fixture
def ws(web: ServerThread) -> Iterator[Callable[..., WsClient]]:
    opened: list[WsClient] = []

    def open_ws(**options: Any) -> WsClient:
        client = WsClient(web_port(web), **options)
        opened.append(client)
        return client

    yield open_ws
    for client in opened:
        client.close()


def web_port(server: ServerThread) -> int:
    assert server.server.web is not None
    return server.server.web.port


def get(server: ServerThread, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    return http_get(web_port(server), f"{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())


# -- HTTP -------------------------------------------------------------------------------------


def test_the_page_its_files_and_health(web: ServerThread) -> None:
    status, headers, body = get(web, "/")
    assert (status, body) == (200, PAGE)
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    status, headers, body = get(web, "/static/app.js")
    assert (status, headers["content-type"]) == (200, "text/javascript; charset=utf-8")
    assert get(web, "/healthz")[:3:2] == (200, b"ok\n")
    status, _, body = get(web, "/commands.json")
    names = [row["name"] for row in json.loads(body)["commands"]]
    assert status == 200 and {"kick", "away", "join", "help"} <= set(names)
    status, headers, body = get(web, "/", method="HEAD")
    assert (status, body, headers["content-length"]) == (200, b"", str(len(PAGE)))


@pytest.mark.parametrize(
    "path",
    [
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/..%2fsecret.txt",
        "/static//etc/passwd",
        "/static/notes.unknown",
        "/static/",
        "/secret.txt",
        "/../../etc/passwd",
    ],
)
def test_nothing_outside_the_page_files_is_served(web: ServerThread, path: str) -> None:
    status, _, body = get(web, path)
    assert status == 404 and b"outside" not in body


def test_bad_requests_get_an_http_error_never_a_traceback(web: ServerThread, caplog: Any) -> None:
    assert get(web, "/", method="POST")[0] == 405
    for junk in (b"\x00\x01garbage\r\n\r\n", b"GET / HTTP/1.1\r\nno colon header\r\n\r\n", b"GET\r\n\r\n"):
        status, _, _ = http_get(web_port(web), junk)
        assert status == 400, junk
    huge = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"
    assert http_get(web_port(web), huge)[0] in (400, 431)
    assert "Traceback" not in caplog.text


def test_a_slow_client_is_closed_at_the_handshake_deadline(web: ServerThread) -> None:
    """A slow-loris sends part of a request and waits: closed after the handshake deadline (1 s
    here), costing one thread for that long."""
    sock = socket.create_connection(("127.0.0.1", web_port(web)), timeout=5)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    started = time.monotonic()
    assert sock.recv(100) == b""  # closed, with nothing said
    assert 0.8 < time.monotonic() - started < 4
    sock.close()


# -- WebSocket --------------------------------------------------------------------------------


def test_the_upgrade_checks_the_origin(ws: Callable[..., WsClient], web: ServerThread) -> None:
    own = f"http://127.0.0.1:{web_port(web)}"
    assert ws(origin=own).accepted
    assert ws(origin="https://chat.example.org").accepted  # given with --web-origin
    assert ws().accepted  # no Origin: not a browser
    assert ws(origin="http://evil.example").rejected == 403
    assert ws(origin=f"http://127.0.0.1:{web_port(web) + 1}").rejected == 403


def test_web_and_tcp_members_chat_in_one_order(ws: Callable[..., WsClient], web: ServerThread) -> None:
    alice = ws()
    welcome = alice.login("alice")
    assert welcome["type"] == "welcome" and welcome["users"] == ["alice"]
    tom = RawClient(web.port)
    tom.send("tom\n")
    tom.until(lambda line: line == "tom has joined the chat!")
    assert alice.until("joined")["user"] == "tom"
    tom.send("hello web\n")
    assert alice.until("message")["text"] == "hello web"
    alice.send_json({"type": "say", "text": "hello nc"})
    assert tom.until(lambda line: "alice: hello nc" in line)
    alice.send_json({"type": "command", "text": "/me waves", "room": "#lobby"})
    assert tom.until(lambda line: line == "* alice waves")
    alice.send_json({"type": "command", "text": "/join #web"})
    assert alice.until("joined")["room"] == "#web"
    alice.send_json({"type": "command", "text": "/help"})
    assert "/kick" in alice.until("notice")["text"]


def test_bad_and_oversized_messages_are_answered_one_error_each(ws: Callable[..., WsClient]) -> None:
    alice = ws()
    alice.login("alice")
    alice.send_text("{not json")
    assert alice.until("error")["code"] == "bad_json"
    alice.send_text("hello as text")  # a web connection never switches to text mode
    assert alice.until("error")["code"] == "bad_json"
    alice.send_bytes(b"\x00\x01")
    assert alice.until("error")["code"] == "bad_frame"
    alice.send_json({"type": "say", "text": "x" * 20000})
    assert alice.until("error")["code"] == "too_long"
    alice.send_json({"type": "command", "text": "/dance"})
    assert alice.until("error")["code"] == "unknown_command"
    alice.send_json({"type": "say", "text": "still here"})
    assert alice.until("message")["text"] == "still here"


def test_a_web_reader_that_stops_reading_is_cut_as_too_slow(web: ServerThread) -> None:
    """A web member that stops reading is cut off as ``too_slow`` once its queue passes the
    limit, and the others go on without waiting for it."""
    slow = WsClient(web_port(web), rcvbuf=4096)
    slow.login("slow")  # and never reads again
    with Client.connect("127.0.0.1", web.port, timeout=10) as alice:
        alice.login("alice")
        payload = "x" * 8000
        left = []
        # Up to 16 MB: far more than the sendq (1 MiB) plus what the kernel buffers (the server's
        # send buffer grows to 4 MiB on loopback); the loop ends at the first cut-off.
        for number in range(250):
            for index in range(8):
                alice.say(f"{number}.{index} {payload}")
            seen = 0
            while seen < 8:  # alice reads each batch before sending the next
                frame = alice.receive(timeout=10)
                seen += isinstance(frame, Message)
                if isinstance(frame, Left):
                    left.append((frame.user, frame.reason))
            if left:
                break
        assert left == [("slow", "too_slow")]
        alice.say("after")
        while not (isinstance(frame := alice.receive(timeout=10), Message) and frame.text == "after"):
            pass


def test_the_web_port_serves_tls_with_the_chat_certificate(tmp_path: Path, static: Path) -> None:
    certs = Certificates(tmp_path)
    server = ServerThread(
        ServerConfig(max_rate=0, handshake_timeout=1.0), tls=server_context(certs.certfile, certs.keyfile)
    )
    web = server.server.open_web(("127.0.0.1", 0), pages=Pages(static))
    try:
        assert web.url.startswith("https://")
        context = ssl.create_default_context(cafile=certs.cafile)
        request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        assert http_get(web.port, request, tls=context)[0] == 200
        secure = WsClient(web.port, origin=f"https://127.0.0.1:{web.port}", tls=context)
        assert secure.login("sam")["type"] == "welcome"
        status, _, body = http_get(web.port, request)  # plain HTTP on the HTTPS port
        assert status == 400 and b"https" in body
    finally:
        server.stop()


def test_a_banned_address_gets_403_and_no_thread(web: ServerThread) -> None:
    web.server.moderation.bans.ban(_target("127.0.0.5"), "test")
    sock = socket.create_connection(("127.0.0.1", web_port(web)), timeout=5, source_address=("127.0.0.5", 0))
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    assert data.startswith(b"HTTP/1.1 403 Forbidden") and b"banned" in data
    assert all(not h.address.startswith("127.0.0.5:") for h in web.server.connections())


def _target(text: str) -> Any:
    from messenger.core.bans import parse_target

    return parse_target(text)

"""The ten-thousand-client login, at a small scale: a few hundred clients connect and log in at
the same moment (text mode, JSON mode, a few on the web port), nobody is cut, and a message
from each kind of client reaches every one of them exactly once.  Counts only, never times."""

from __future__ import annotations

import json
import selectors
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .conftest import ServerThread
from .webclient import WsClient

TEXT_CLIENTS = 240
JSON_CLIENTS = 60
WEB_CLIENTS = 6
# For both phases together, far beyond what the storm takes (about 2 s) and within the 30 s
# test timeout, so that a lost client fails the assertions, which name it.
DEADLINE = 25.0
MARKERS = ("storm-from-text", "storm-from-json", "storm-from-web")


@dataclass(eq=False)
class StormClient:
    """One TCP client of the storm, driven by the test's selector."""

    name: str
    json_mode: bool
    sock: socket.socket = field(default_factory=socket.socket)
    buffer: bytes = b""
    logged_in: bool = False
    closed: bool = False
    seen: dict[str, int] = field(default_factory=dict)

    def login_line(self) -> bytes:
        if self.json_mode:
            return json.dumps({"type": "hello", "user": self.name, "history": 0}).encode() + b"\n"
        return self.name.encode() + b"\n"

    def feed(self, data: bytes) -> None:
        *lines, self.buffer = (self.buffer + data).split(b"\n")
        for raw in lines:
            line = raw.decode()
            if self.json_mode:
                frame = json.loads(line)
                if frame["type"] == "joined" and frame.get("user") == self.name:
                    self.logged_in = True
                text = frame.get("text", "") if frame["type"] == "message" else ""
            else:
                if line == f"{self.name} has joined the chat!":
                    self.logged_in = True
                text = line
            for marker in MARKERS:
                if marker in text:
                    self.seen[marker] = self.seen.get(marker, 0) + 1


def pump(selector: selectors.BaseSelector, done: Callable[[], bool], deadline: float) -> None:
    """Drive every client until ``done()`` or the ``deadline`` (monotonic)."""
    while not done() and time.monotonic() < deadline:
        for key, mask in selector.select(0.2):
            client: StormClient = key.data
            if mask & selectors.EVENT_WRITE:
                if client.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    client.closed = True
                    selector.unregister(client.sock)
                    continue
                client.sock.sendall(client.login_line())
                selector.modify(client.sock, selectors.EVENT_READ, client)
                continue
            try:
                data = client.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                client.closed = True
                selector.unregister(client.sock)
                continue
            client.feed(data)


def web_seen(web: WsClient, wanted: int) -> dict[str, int]:
    """Read the web client's frames until it saw ``wanted`` markers; what it saw."""
    seen: dict[str, int] = {}
    while sum(seen.values()) < wanted:
        frame = web.frame()
        for marker in MARKERS:
            if frame["type"] == "message" and marker in frame["text"]:
                seen[marker] = seen.get(marker, 0) + 1
    return seen


def test_hundreds_logging_in_at_once_all_get_in_and_get_everything(
    make_server: Callable[..., ServerThread],
) -> None:
    total = TEXT_CLIENTS + JSON_CLIENTS + WEB_CLIENTS
    server = make_server(max_clients=total, max_per_ip=0, conn_rate=0)
    web_port = server.server.open_web(("127.0.0.1", 0)).server_address[1]
    selector = selectors.DefaultSelector()
    clients = [StormClient(f"t{i}", json_mode=False) for i in range(TEXT_CLIENTS)]
    clients += [StormClient(f"j{i}", json_mode=True) for i in range(JSON_CLIENTS)]
    webs: list[WsClient] = []
    try:
        for client in clients:  # every connect at once, then every login as each completes
            client.sock.setblocking(False)
            client.sock.connect_ex(("127.0.0.1", server.port))
            selector.register(client.sock, selectors.EVENT_WRITE, client)
        for i in range(WEB_CLIENTS):
            webs.append(WsClient(web_port))
            webs[-1].send_json({"type": "hello", "user": f"w{i}", "history": 0})
        deadline = time.monotonic() + DEADLINE
        pump(selector, lambda: all(c.logged_in or c.closed for c in clients), deadline)
        assert [c.name for c in clients if c.closed] == []
        assert [c.name for c in clients if not c.logged_in] == []
        for web in webs:
            web.until("joined")
        assert len(server.server.registry) == total

        clients[0].sock.sendall(f"{MARKERS[0]}\n".encode())
        clients[-1].sock.sendall(json.dumps({"type": "say", "text": MARKERS[1]}).encode() + b"\n")
        webs[0].send_json({"type": "say", "text": MARKERS[2]})
        pump(selector, lambda: all(len(c.seen) == len(MARKERS) or c.closed for c in clients), deadline)

        expected = dict.fromkeys(MARKERS, 1)
        assert [c.name for c in clients if c.closed] == []
        assert [c.name for c in clients if c.seen != expected] == []
        assert [web_seen(web, len(MARKERS)) for web in webs] == [expected] * WEB_CLIENTS
    finally:
        selector.close()
        for client in clients:
            client.sock.close()
        for web in webs:
            web.close()

"""The web port read by the reader loop: web members cost no thread, a slow or stalled web client
(an HTTP head trickling in, a TLS handshake that stops, an answer nobody reads) holds up no one
else, answers bigger than the socket takes at once arrive whole, and the WebSocket's own frames
(ping, close, fragments) are answered in their place."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from wsproto.events import CloseConnection, Message, Ping, Pong

from messenger.client import Client
from messenger.server import ServerConfig
from messenger.server.webpages import Pages
from messenger.tls import client_context, server_context

from .conftest import RawClient, ServerThread, stored_server
from .metricstools import parse
from .test_tls import Certificates
from .webclient import WAIT, WsClient, http_get, open_socket

pytestmark = pytest.mark.timeout(30)

WEB_CLIENTS = 40
BIG = 900 * 1024  # a page file far larger than a socket takes at once (the limit is 1 MiB)


@pytest.fixture
def web(tmp_path: Path) -> Iterator[ServerThread]:
    folder = tmp_path / "static"
    folder.mkdir()
    (folder / "index.html").write_bytes(b"<!doctype html><title>messenger</title>")
    (folder / "big.txt").write_bytes(bytes(range(256)) * (BIG // 256))
    started = ServerThread(ServerConfig(max_rate=0, handshake_timeout=2.0))
    started.server.open_web(("127.0.0.1", 0), pages=Pages(folder))
    yield started
    started.stop()


def web_port(server: ServerThread) -> int:
    assert server.server.web is not None
    return server.server.web.port


def get(port: int, path: str, tls: ssl.SSLContext | None = None) -> tuple[int, dict[str, str], bytes]:
    return http_get(port, f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode(), tls=tls)


def test_web_members_cost_the_server_no_thread(web: ServerThread) -> None:
    """Forty web members logged in at once: the server runs as many threads as before (a thread
    per connection would add forty)."""
    before = threading.active_count()
    members = [WsClient(web_port(web)) for _ in range(WEB_CLIENTS)]
    for number, member in enumerate(members):
        assert member.login(f"w{number}")["type"] == "welcome"
    members[0].send_json({"type": "say", "text": "to everyone"})
    assert all(member.until("message")["text"] == "to everyone" for member in members)
    assert threading.active_count() <= before
    for member in members:
        member.close()


def test_metrics_answer_while_web_members_are_connected(web: ServerThread) -> None:
    members = [WsClient(web_port(web)) for _ in range(3)]
    for number, member in enumerate(members):
        member.login(f"m{number}")
    status, headers, body = get(web_port(web), "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    samples = parse(body)
    assert samples['messenger_connections{transport="web"}'] == 3 + 1  # the scrape's own
    assert samples["messenger_members"] == 3
    members[0].send_json({"type": "say", "text": "after the scrape"})
    assert members[2].until("message")["text"] == "after the scrape"
    for member in members:
        member.close()


def test_a_page_larger_than_the_socket_takes_arrives_whole(web: ServerThread) -> None:
    """The answer waits for the socket to take more (the loop watches it), in order, whole."""
    with narrow_socket(web_port(web)) as sock:
        sock.sendall(b"GET /static/big.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and f"Content-Length: {BIG}".encode() in head
    assert body == bytes(range(256)) * (BIG // 256)


def test_an_answer_nobody_reads_is_dropped_and_blocks_no_one(web: ServerThread) -> None:
    """A client asks for a big page and never reads it: others are served meanwhile, and the
    stalled one is dropped once the answer's time (the handshake deadline, 2 s here) is over,
    with the rest of its answer."""
    stalled = narrow_socket(web_port(web))
    stalled.sendall(b"GET /static/big.txt HTTP/1.1\r\nHost: x\r\n\r\n")
    assert get(web_port(web), "/healthz")[0] == 200
    member = WsClient(web_port(web))
    assert member.login("reader")["type"] == "welcome"
    with Client.connect("127.0.0.1", web.port, timeout=WAIT) as chat:
        chat.login("chat")
        chat.say("hello web")
        assert member.until("message")["text"] == "hello web"
    assert dropped(web, stalled)
    data = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := stalled.recv(65536):  # what the kernel had taken before, then the end
            data += chunk
    assert len(data) < BIG
    stalled.close()
    member.close()


def narrow_socket(port: int) -> socket.socket:
    """A connection the server can send little to at a time: a small receive buffer and small
    segments (on loopback, 64 KiB segments let the kernel take a whole megabyte at once)."""
    sock = socket.socket()
    sock.settimeout(WAIT)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 1024)
    sock.connect(("127.0.0.1", port))
    return sock


def dropped(server: ServerThread, sock: socket.socket) -> bool:
    """Wait until the server no longer tracks ``sock``'s connection (within twice the client's
    deadline: the answer's own is 2 s)."""
    address = f"127.0.0.1:{sock.getsockname()[1]}"
    return waited_for(lambda: all(handler.address != address for handler in server.server.connections()), 2)


def test_ping_close_and_fragments_over_the_websocket(web: ServerThread) -> None:
    client = WsClient(web_port(web))
    client.login("frag")
    client.sock.sendall(client.ws.send(Ping(payload=b"are you there")))
    assert client.event() == Pong(payload=b"are you there")
    text = '{"type":"say","text":"in three parts"}'
    for start, finished in ((0, False), (10, False), (20, True)):
        part = text[start : start + 10] if not finished else text[start:]
        client.sock.sendall(client.ws.send(Message(data=part, message_finished=finished)))
    assert client.until("message")["text"] == "in three parts"
    for _ in range(3):  # 3 × 8000 bytes in one message: past the line limit, one error
        client.sock.sendall(client.ws.send(Message(data="x" * 8000, message_finished=False)))
    client.sock.sendall(client.ws.send(Message(data="x", message_finished=True)))
    assert client.until("error")["code"] == "too_long"
    client.send_json({"type": "say", "text": "still here"})
    assert client.until("message")["text"] == "still here"
    client.sock.sendall(client.ws.send(CloseConnection(code=1000, reason="bye")))
    event = client.event()
    assert isinstance(event, CloseConnection) and event.code == 1000
    assert client.closed()


# -- slow and stalled clients on a TLS web port ---------------------------------------------------


@pytest.fixture
def certs(tmp_path: Path) -> Certificates:
    return Certificates(tmp_path)


def tls_web(certs: Certificates, handshake_timeout: float) -> ServerThread:
    context = server_context(certs.certfile, certs.keyfile)
    server = ServerThread(ServerConfig(max_rate=0, handshake_timeout=handshake_timeout), tls=context)
    server.server.open_web(("127.0.0.1", 0))
    return server


def client_hello(context: ssl.SSLContext) -> bytes:
    """The first flight of a TLS client (its ClientHello), made in memory."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def still_open(sock: socket.socket) -> bool:
    """Whether the server has neither closed ``sock`` nor sent it anything to read (TLS
    records without data, such as session tickets, do not count)."""
    sock.setblocking(False)
    try:
        sock.recv(1)
    except (BlockingIOError, ssl.SSLWantReadError):
        return True
    except OSError:
        return False
    finally:
        sock.setblocking(True)
    return False


def test_a_slow_head_and_a_stalled_handshake_hold_up_no_one(certs: Certificates) -> None:
    """With a slow-loris head and half a ClientHello waiting on the web port (their deadline is
    20 s), page loads, web logins and chat-port members go on as usual."""
    server = tls_web(certs, handshake_timeout=20.0)
    try:
        port, context = web_port(server), client_context(certs.cafile)
        hello = client_hello(context)
        stalled = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        stalled.sendall(hello[: len(hello) // 2])
        loris = open_socket(port, tls=context)
        loris.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: slow")
        assert get(port, "/healthz", tls=context)[0] == 200
        member = WsClient(port, tls=context)
        assert member.login("web")["type"] == "welcome"
        with Client.connect("127.0.0.1", server.port, timeout=WAIT, tls=context) as chat:
            chat.login("chat")
            chat.say("nobody waits")
            assert member.until("message")["text"] == "nobody waits"
        assert still_open(stalled) and still_open(loris)
        member.close()
        stalled.close()
        loris.close()
    finally:
        server.stop()


def test_a_stalled_tls_handshake_on_the_web_port_is_dropped_on_time(certs: Certificates) -> None:
    server = tls_web(certs, handshake_timeout=1.0)
    try:
        hello = client_hello(client_context(certs.cafile))
        stalled = RawClient(web_port(server))
        stalled.send(hello[:10])
        assert stalled.closed()
        assert server.server.connections() == []
    finally:
        server.stop()


# -- a member's limits on the loop ---------------------------------------------------------------


def test_a_flooding_web_member_is_paused_and_nobody_waits_for_it(tmp_path: Path) -> None:
    """Over the rate, a web member's messages wait for their time (a timer of the loop, not a
    sleep: the last of these pings is due 10 s on, past the chat client's deadline): a chat-port
    login is answered meanwhile, and the pongs come in order as their time comes."""
    server = ServerThread(ServerConfig(max_rate=1.0, burst=2))
    try:
        server.server.open_web(("127.0.0.1", 0))
        flooder = WsClient(web_port(server))
        flooder.login("flood")  # one of the burst's two
        for number in range(12):
            flooder.send_json({"type": "ping", "token": f"t{number}"})
        assert waited_for(lambda: server.server.reader_stats.flood_delays >= 1)
        with Client.connect("127.0.0.1", server.port, timeout=WAIT) as chat:
            assert list(chat.login("chat").users) == ["chat", "flood"]
        assert [flooder.until("pong")["token"] for _ in range(3)] == ["t0", "t1", "t2"]
        flooder.close()
    finally:
        server.stop()


def waited_for(condition: Callable[[], bool], deadlines: int = 1) -> bool:
    """Whether ``condition`` came true within the client's deadline (``deadlines`` of them)."""
    deadline = time.monotonic() + deadlines * WAIT
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_a_web_connection_that_never_logs_in_is_told_and_closed(tmp_path: Path) -> None:
    server = ServerThread(ServerConfig(max_rate=0, login_timeout=1.0))
    try:
        server.server.open_web(("127.0.0.1", 0))
        idle = WsClient(web_port(server))
        assert idle.frame()["code"] == "login_timeout"
        assert idle.closed()
    finally:
        server.stop()


def test_a_password_login_over_the_websocket(tmp_path: Path) -> None:
    """The check runs on a login worker, as a chat-port login's; the answers are the same."""
    server = stored_server(tmp_path / "chat.db")
    try:
        assert server.accounts is not None
        server.accounts.add("alice", "correct horse")
        server.server.open_web(("127.0.0.1", 0))
        wrong = WsClient(web_port(server))
        wrong.send_json({"type": "hello", "user": "alice", "password": "wrong", "history": 0})
        assert wrong.until("error")["code"] == "bad_password"
        right = WsClient(web_port(server))
        assert right.login("alice", password="correct horse")["type"] == "welcome"
        wrong.close()
        right.close()
    finally:
        server.stop()

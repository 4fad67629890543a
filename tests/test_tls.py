"""TLS: certificates made by trustme, real servers on loopback, the CLI as child processes."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from messenger.client import Client, ConnectError, LoginError, ProtocolViolation
from messenger.protocol import Message
from messenger.server import ServerConfig
from messenger.tls import client_context, server_context

from .clitools import RUN_TIMEOUT, WAIT, ServeProcess, assert_one_error_line, run_cli
from .conftest import ServerThread

pytestmark = pytest.mark.timeout(60)


class Certificates:
    """A private CA, a server certificate for 127.0.0.1 and localhost, and a stranger CA."""

    def __init__(self, directory: Path) -> None:
        self.ca = trustme.CA()
        self.cafile = str(directory / "ca.pem")
        self.ca.cert_pem.write_to_path(self.cafile)
        issued = self.ca.issue_cert("127.0.0.1", "localhost")
        self.certfile = str(directory / "server.crt")
        self.keyfile = str(directory / "server.key")
        issued.cert_chain_pems[0].write_to_path(self.certfile)
        issued.private_key_pem.write_to_path(self.keyfile)
        self.stranger_cafile = str(directory / "stranger.pem")
        trustme.CA().cert_pem.write_to_path(self.stranger_cafile)


@pytest.fixture
def certs(tmp_path: Path) -> Certificates:
    return Certificates(tmp_path)


@pytest.fixture
def tls_server(certs: Certificates) -> Iterator[ServerThread]:
    context = server_context(certs.certfile, certs.keyfile)
    server = ServerThread(ServerConfig(max_rate=0, handshake_timeout=1.0), tls=context)
    yield server
    server.stop()


def tls_client(port: int, certs: Certificates, user: str) -> Client:
    client = Client.connect("127.0.0.1", port, timeout=WAIT, tls=client_context(certs.cafile))
    client.login(user)
    return client


def next_message(client: Client) -> Message:
    while not isinstance(frame := client.receive(timeout=WAIT), Message):
        pass
    return frame


# ------------------------------------------------------------------------------------------------
# The library
# ------------------------------------------------------------------------------------------------


def test_chat_over_tls_end_to_end(tls_server: ServerThread, certs: Certificates) -> None:
    alice = tls_client(tls_server.port, certs, "alice")
    bob = tls_client(tls_server.port, certs, "bob")
    try:
        alice.say("over TLS")
        assert next_message(bob).text == "over TLS"
        long = "é" * 5000  # several TLS records
        for number in range(50):
            bob.say(f"{number} {long}")
        texts = [next_message(alice).text for _ in range(51)][1:]
        assert texts == [f"{number} {long}" for number in range(50)]
    finally:
        alice.close()
        bob.close()


def test_a_certificate_from_another_ca_is_refused(tls_server: ServerThread, certs: Certificates) -> None:
    with pytest.raises(ConnectError, match="not trusted"):
        Client.connect("127.0.0.1", tls_server.port, timeout=WAIT, tls=client_context(certs.stranger_cafile))
    # The server is unharmed.
    tls_client(tls_server.port, certs, "alice").close()


@pytest.fixture
def patient_tls_server(certs: Certificates) -> Iterator[ServerThread]:
    """A handshake timeout that five TLS logins fit in even on a busy machine (each costs a
    handshake and a login: on two cores shared with a parallel test run they took over 1 s)."""
    context = server_context(certs.certfile, certs.keyfile)
    server = ServerThread(ServerConfig(max_rate=0, handshake_timeout=3.0), tls=context)
    yield server
    server.stop()


def test_a_stalled_handshake_blocks_nobody(patient_tls_server: ServerThread, certs: Certificates) -> None:
    tls_server = patient_tls_server
    silent = socket.create_connection(("127.0.0.1", tls_server.port))
    half = socket.create_connection(("127.0.0.1", tls_server.port))
    half.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # the start of a ClientHello
    try:
        for number in range(5):
            tls_client(tls_server.port, certs, f"user{number}").close()
        # The five logins did not wait for the stalled handshake: it is still pending (had they
        # waited, the server would have given it up, and closed it, first).
        half.setblocking(False)
        with pytest.raises(BlockingIOError):
            half.recv(100)
        # And the half-finished handshake is given up after the timeout.
        half.settimeout(WAIT)
        assert half.recv(100) == b""
    finally:
        silent.close()
        half.close()


def client_hello() -> bytes:
    """The first flight of a real TLS client: its ClientHello."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = client_context(insecure=True).wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
    with contextlib.suppress(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


PACE = 0.2  # seconds between trickled bytes: far below the 1 s a per-read timeout would allow


def trickle_until_closed(port: int, data: bytes, give_up: float = 5.0) -> tuple[float, int]:
    """Send ``data`` one byte every PACE seconds; how long until the server closed the
    connection, and how many bytes had been sent by then."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
        for sent, byte in enumerate(data, start=1):
            try:
                sock.sendall(bytes([byte]))
                sock.settimeout(PACE)  # the pace of the trickle, and a watch for the close
                if sock.recv(100) == b"":
                    return time.monotonic() - started, sent
            except TimeoutError:
                pass
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - started, sent
            assert time.monotonic() - started < give_up, "the server still reads the trickle"
    raise AssertionError("the whole ClientHello went in, a byte at a time")


def test_the_handshake_timeout_is_a_deadline_not_per_read(tls_server: ServerThread) -> None:
    hello = client_hello()
    elapsed, sent = trickle_until_closed(tls_server.port, hello)
    # The fixture's handshake timeout is 1 s; the trickle would take len(hello) * PACE seconds.
    assert 0.9 <= elapsed < 2.5
    assert sent < len(hello) // 4


def test_the_login_timeout_covers_a_handshake_in_progress(certs: Certificates) -> None:
    context = server_context(certs.certfile, certs.keyfile)
    server = ServerThread(ServerConfig(max_rate=0, handshake_timeout=10.0, login_timeout=0.5), tls=context)
    try:
        elapsed, _ = trickle_until_closed(server.port, client_hello())
        assert elapsed < 2.0
    finally:
        server.stop()


class Trickler:
    """A peer that accepts one connection, reads what comes first (a ClientHello, a hello) and
    then sends ``data`` a byte every PACE seconds: a server too slow to ever finish."""

    def __init__(self, data: bytes) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.data = data
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.listener.settimeout(WAIT)
        with contextlib.suppress(OSError), self.listener.accept()[0] as peer:
            peer.recv(65536)
            for byte in self.data:
                peer.sendall(bytes([byte]))
                if self.done.wait(PACE):
                    return

    def close(self) -> None:
        self.done.set()
        self.thread.join(WAIT)
        self.listener.close()


def test_the_clients_handshake_timeout_is_a_deadline(certs: Certificates) -> None:
    # A record header that promises 16 KiB, then its body a byte at a time.
    peer = Trickler(b"\x16\x03\x03\x40\x00" + b"\x00" * 1000)
    try:
        started = time.monotonic()
        with pytest.raises(ConnectError, match="in time"):
            Client.connect("127.0.0.1", peer.port, timeout=1.0, tls=client_context(certs.cafile))
        assert time.monotonic() - started < 2.5
    finally:
        peer.close()


def test_the_clients_login_timeout_is_a_deadline() -> None:
    # Frames of a type the client skips, a byte at a time: each read is quick, the login never.
    peer = Trickler(b'{"type":"typing"}\n' * 100)
    try:
        client = Client.connect("127.0.0.1", peer.port, timeout=WAIT)
        started = time.monotonic()
        with client, pytest.raises(ProtocolViolation, match="no answer to the login within 1 s"):
            client.login("alice", timeout=1.0)
        assert time.monotonic() - started < 2.5
    finally:
        peer.close()


def test_plaintext_on_a_tls_port_gets_a_clear_answer(tls_server: ServerThread) -> None:
    with socket.create_connection(("127.0.0.1", tls_server.port), timeout=WAIT) as text:
        text.sendall(b"carol\n")
        assert text.makefile("rb").read() == (
            b"error: this server requires TLS; connect with a TLS client (messenger connect --tls)\n"
        )
    plain = Client.connect("127.0.0.1", tls_server.port, timeout=WAIT)
    with plain, pytest.raises(LoginError) as refused:
        plain.login("carol", timeout=WAIT)
    assert refused.value.code == "tls_required"


def test_tls_on_a_plain_port_fails_fast(server: Any, certs: Certificates) -> None:
    started = time.monotonic()
    with pytest.raises(ConnectError, match="serving TLS"):
        Client.connect("127.0.0.1", server.port, timeout=WAIT, tls=client_context(certs.cafile))
    assert time.monotonic() - started < 2.0


# ------------------------------------------------------------------------------------------------
# The command line
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def tls_serve(certs: Certificates) -> Iterator[ServeProcess]:
    process = ServeProcess("--port", "0", "--tls-cert", certs.certfile, "--tls-key", certs.keyfile)
    yield process
    process.stop()


def test_connect_and_send_with_tls(tls_serve: ServeProcess, certs: Certificates) -> None:
    port = str(tls_serve.port)
    trusted = client_context(certs.cafile)
    with Client.connect("127.0.0.1", tls_serve.port, timeout=WAIT, tls=trusted) as alice:
        alice.login("alice")
        result = run_cli(
            "send", "--port", port, "--user", "ci", "--cafile", certs.cafile, "built", input=None
        )
        assert result.returncode == 0, result.stderr
        assert next_message(alice).text == "built"
        result = run_cli("connect", "--port", port, "--user", "bot", "--cafile", certs.cafile, input="hi\n")
        assert result.returncode == 0, result.stderr
        assert "bot: hi" in result.stdout.splitlines()
        assert next_message(alice).text == "hi"


def test_connect_refuses_an_untrusted_server(tls_serve: ServeProcess, certs: Certificates) -> None:
    port = str(tls_serve.port)
    for trust in (("--tls",), ("--cafile", certs.stranger_cafile)):  # the system store, a stranger
        result = run_cli("connect", "--port", port, "--user", "bot", *trust, input="hi\n")
        assert result.returncode == 1
        assert_one_error_line(result.stderr, "not trusted")


def test_insecure_connects_and_says_so(tls_serve: ServeProcess) -> None:
    result = run_cli("connect", "--port", str(tls_serve.port), "--user", "bot", "--insecure", input="hi\n")
    assert result.returncode == 0, result.stderr
    assert "warning: --insecure" in result.stderr
    assert "bot: hi" in result.stdout.splitlines()


def test_connect_without_tls_to_a_tls_server(tls_serve: ServeProcess) -> None:
    result = run_cli("connect", "--port", str(tls_serve.port), "--user", "bot", input="hi\n")
    assert result.returncode == 1
    assert_one_error_line(result.stderr, "requires TLS", "--tls")


def test_connect_with_tls_to_a_plain_server(serve: Any, certs: Certificates) -> None:
    plain = serve("--port", "0")
    started = time.monotonic()
    result = run_cli(
        "connect", "--port", str(plain.port), "--user", "bot", "--cafile", certs.cafile, input="x\n"
    )
    assert result.returncode == 1
    assert_one_error_line(result.stderr, "serving TLS")
    assert time.monotonic() - started < RUN_TIMEOUT


@pytest.mark.parametrize(
    ("args", "status", "words"),
    [
        (("--tls-cert", "/nonexistent.crt", "--tls-key", "/nonexistent.key"), 1, ("no such file",)),
        (("--tls-cert", "CERT", "--tls-key", "CA"), 1, ("key",)),
        (("--tls-cert", "CERT"), 2, ()),
    ],
    ids=["missing-files", "key-does-not-match", "cert-without-key"],
)
def test_serve_with_bad_tls_files(
    certs: Certificates, args: tuple[str, ...], status: int, words: tuple
) -> None:
    args = tuple({"CERT": certs.certfile, "CA": certs.cafile}.get(arg, arg) for arg in args)
    result = run_cli("serve", "--port", "0", "--db", ":memory:", *args, input=None)
    assert result.returncode == status, result.stderr
    assert "Traceback" not in result.stderr
    if status == 1:
        assert_one_error_line(result.stderr, *words)

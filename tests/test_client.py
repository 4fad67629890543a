"""The client library against real servers, and against peers that are not messenger servers."""

from __future__ import annotations

import socket
import threading

import pytest

from messenger.client import Client, ConnectError, ConnectionClosed, ProtocolViolation
from messenger.protocol import Joined, Message, Pong, Shutdown


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_connection_refused_is_a_connect_error() -> None:
    port = free_port()
    with pytest.raises(ConnectError, match="refused"):
        Client.connect("127.0.0.1", port, timeout=2)


def test_receive_after_close_raises_connection_closed(connect) -> None:
    client = connect("alice")
    assert isinstance(client.receive(timeout=5), Joined)
    client.close()
    with pytest.raises(ConnectionClosed):
        client.receive(timeout=1)
    with pytest.raises(ConnectionClosed):
        client.say("after close")


def test_receive_timeout(connect) -> None:
    client = connect("alice")
    client.receive(timeout=5)
    with pytest.raises(TimeoutError):
        client.receive(timeout=0.05)
    client.ping("still")
    assert client.receive(timeout=5) == Pong("still")


def test_iteration_ends_after_shutdown(server, connect) -> None:
    client = connect("alice")
    client.say("hi")
    # The echo first: a server stopped before reading "hi" would rightly never send it.
    first = [client.receive(timeout=5), client.receive(timeout=5)]
    assert isinstance(first[0], Joined) and isinstance(first[1], Message)
    server.stop()
    assert list(client) == [Shutdown()]  # the goodbye, then the iteration ends


@pytest.fixture
def fake_peer():
    """A listening socket that runs ``behaviour(conn)`` for one connection."""
    listener = socket.create_server(("127.0.0.1", 0))
    threads = []

    def start(behaviour):
        def run() -> None:
            conn, _ = listener.accept()
            with conn:
                behaviour(conn)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        threads.append(thread)
        return listener.getsockname()[1]

    yield start
    listener.close()


def test_a_silent_peer_times_out_the_login(fake_peer) -> None:
    done = threading.Event()
    port = fake_peer(lambda conn: done.wait(5))
    with Client.connect("127.0.0.1", port) as client, pytest.raises(ProtocolViolation, match="no answer"):
        client.login("alice", timeout=0.2)
    done.set()


def test_a_peer_speaking_another_protocol_is_named(fake_peer) -> None:
    def http(conn: socket.socket) -> None:
        conn.recv(100)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

    port = fake_peer(http)
    with (
        Client.connect("127.0.0.1", port) as client,
        pytest.raises(ProtocolViolation, match="messenger server"),
    ):
        client.login("alice")


def test_frames_of_unknown_type_are_skipped(fake_peer) -> None:
    def future_server(conn: socket.socket) -> None:
        conn.recv(100)
        conn.sendall(
            b'{"type":"typing","user":"bob"}\n'
            b'{"type":"welcome","user":"alice","users":["alice"],"server":"x","protocol":1,"extra":1}\n'
        )

    port = fake_peer(future_server)
    with Client.connect("127.0.0.1", port) as client:
        assert client.login("alice").users == ("alice",)

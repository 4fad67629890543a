"""Peers that stall do not stall the reader loop: a TLS handshake left half-way, a client that
stops reading.  Real servers on loopback; the TLS certificates are made by trustme."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from messenger.client import Client
from messenger.protocol import Message
from messenger.server import ServerConfig
from messenger.tls import client_context, server_context

from .conftest import RawClient, ServerThread

WAIT = 5.0
# The start of a ClientHello: a handshake record announcing 512 bytes, of which 6 come.
HALF_A_CLIENT_HELLO = b"\x16\x03\x01\x02\x00" + b"\x01\x00\x01\xfc\x03\x03"


@pytest.fixture
def tls_setup(tmp_path: Path) -> Iterator[tuple[ServerThread, str]]:
    ca = trustme.CA()
    cafile, certfile, keyfile = (str(tmp_path / name) for name in ("ca.pem", "server.crt", "server.key"))
    ca.cert_pem.write_to_path(cafile)
    issued = ca.issue_cert("127.0.0.1")
    issued.cert_chain_pems[0].write_to_path(certfile)
    issued.private_key_pem.write_to_path(keyfile)
    context = server_context(certfile, keyfile)
    server = ServerThread(ServerConfig(max_rate=0), tls=context)  # a handshake may take 10 s
    yield server, cafile
    server.stop()


def next_message(client: Client) -> Message:
    while not isinstance(frame := client.receive(timeout=WAIT), Message):
        pass
    return frame


def test_a_stalled_tls_handshake_does_not_stop_others(tls_setup) -> None:
    server, cafile = tls_setup
    stalled = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
    stalled.sendall(HALF_A_CLIENT_HELLO)  # and waits: the server must not wait with it
    clients = [Client.connect("127.0.0.1", server.port, timeout=WAIT, tls=client_context(cafile))]
    clients.append(Client.connect("127.0.0.1", server.port, timeout=WAIT, tls=client_context(cafile)))
    try:
        clients[0].login("alice")
        clients[1].login("bob")
        clients[0].say("over TLS")
        assert next_message(clients[1]).text == "over TLS"
        # Nobody waited for the stalled handshake: it is still pending (test_tls.py checks that
        # it is given up when its time is over).
        stalled.setblocking(False)
        with pytest.raises(BlockingIOError):
            stalled.recv(1024)
    finally:
        stalled.close()
        for client in clients:
            client.close()


def test_a_client_that_stops_reading_is_cut_without_blocking_others(make_server) -> None:
    server = make_server(sendq=64 * 1024)
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: it fills soon
    stalled.connect(("127.0.0.1", server.port))
    stalled.sendall(b'{"type":"hello","user":"stalled","history":0}\n')  # and never reads again
    alice, bob = RawClient(server.port), RawClient(server.port)
    try:
        for client, name in ((alice, "alice"), (bob, "bob")):
            client.send_json({"type": "hello", "user": name, "history": 0})
            client.until(lambda line: '"welcome"' in line)
        payload = "x" * 8000
        cut = False
        for number in range(400):  # up to 3.2 MB; it ends at the cut-off
            alice.send_json({"type": "say", "text": f"{number} {payload}"})
            seen = bob.until(lambda line, number=number: f'"{number} x' in line)
            if any('"too_slow"' in line and '"stalled"' in line for line in seen):
                cut = True
                break
        assert cut, "the stalled reader was never cut off"
        bob.send_json({"type": "ping", "token": "after"})
        assert json.loads(bob.until(lambda line: '"pong"' in line)[-1])["token"] == "after"
        assert sorted(server.server.registry.users()) == ["alice", "bob"]
    finally:
        for client in (alice, bob):
            client.close()
        stalled.close()

"""The IRC port under the same limits as every front door, over real sockets: unsupported
commands answered (never a disconnect), long messages split at 512 bytes, flood control, the
bounded send queue (too_slow), the login timeout, per-address limits, moderation by KICK and
MODE, and IRC over TLS."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import pytest
import trustme

from messenger.client import Client
from messenger.core.accounts import Accounts
from messenger.core.moderation import Moderation
from messenger.core.roles import Role
from messenger.core.store import SQLiteStore
from messenger.protocol.frames import Left, Message
from messenger.server import ServerConfig
from messenger.tls import server_context

from .accountstools import PASSWORD
from .conftest import RawClient
from .ircport import IRCRaw, IRCServer, command_of

pytestmark = pytest.mark.timeout(25)


def start(started: list[IRCServer], **config: object) -> IRCServer:
    config.setdefault("max_rate", 0)
    server = IRCServer(ServerConfig(**config))  # type: ignore[arg-type]
    started.append(server)
    return server


def test_unsupported_commands_get_a_numeric_and_no_disconnect(started: list[IRCServer]) -> None:
    server = start(started)
    client = IRCRaw(server.irc_port)
    client.register("ned")
    for command in ("OPER x y", "USERHOST ned", "ISON ned", "MONITOR + ned", "FOOBAR", "KNOCK #x"):
        client.send(command)
        answer = client.line()
        assert command_of(answer).isdigit() and command_of(answer) >= "400", (command, answer)
    client.send("PING :still-here")
    assert client.command("PONG")[-1].endswith("still-here")
    before = IRCRaw(server.irc_port)
    before.send("PRIVMSG #lobby :not yet")  # before registration: 451
    assert command_of(before.line()) == "451"
    before.close()
    client.close()


def test_a_long_message_is_split_at_512_bytes_on_character_boundaries(started: list[IRCServer]) -> None:
    server = start(started)
    reader = IRCRaw(server.irc_port)
    reader.register("reader")
    text = "é€🙂 word " * 150  # 1,500 characters, most of them several bytes long
    with Client.connect("127.0.0.1", server.port) as writer:
        writer.login("writer")
        writer.say(text)
        pieces: list[str] = []
        while "".join(pieces).replace(" ", "") != text.replace(" ", ""):
            line = reader.command("PRIVMSG")[-1]
            assert len(line.encode()) + 2 <= 512  # with its CRLF
            pieces.append(line.split(" :", 1)[1])
    assert len(pieces) > 1
    reader.close()


def test_flood_control_paces_an_irc_client(started: list[IRCServer]) -> None:
    server = start(started, max_rate=50, burst=3)
    sender = IRCRaw(server.irc_port)
    sender.register("fast")
    with Client.connect("127.0.0.1", server.port) as reader:
        reader.login("reader")
        sender.send("".join(f"PRIVMSG #lobby :flood {i}\r\n" for i in range(20)))
        texts: list[str] = []
        while len(texts) < 20:
            frame = reader.receive(timeout=10)
            if isinstance(frame, Message):
                texts.append(frame.text)
    assert texts == [f"flood {i}" for i in range(20)]  # slowed, never dropped
    assert server.server.reader_stats.flood_delays > 0
    sender.close()


def test_a_stalled_irc_reader_is_cut_off_as_too_slow(started: list[IRCServer]) -> None:
    server = start(started, sendq=64 * 1024)
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(("127.0.0.1", server.irc_port))
    stalled.sendall(b"NICK stalled\r\nUSER s 0 * :S\r\n")  # and never reads again
    with Client.connect("127.0.0.1", server.port) as alice:
        alice.login("alice")
        left = None
        for batch in range(100):  # up to 8 MB: far more than the sendq and the kernel's buffers
            for number in range(batch * 20, batch * 20 + 20):  # 20 at a time: few round trips
                alice.say(f"{number} " + "x" * 4000)
            while (frame := alice.receive(timeout=10)) is not None:
                if isinstance(frame, Left):
                    left = frame
                if isinstance(frame, Message) and frame.text.startswith(f"{number} "):
                    break
            if left is not None:
                break
        assert left is not None and (left.user, left.reason) == ("stalled", "too_slow")
    stalled.close()


def test_the_login_timeout_closes_an_irc_client_that_does_not_register(started: list[IRCServer]) -> None:
    server = start(started, login_timeout=0.3)
    silent = IRCRaw(server.irc_port)
    assert silent.closed()
    halfway = IRCRaw(server.irc_port)
    halfway.send("NICK halfway")  # no USER: registration never ends
    assert halfway.closed()


def test_quit_before_registering_ends_the_connection(started: list[IRCServer]) -> None:
    server = start(started)
    client = IRCRaw(server.irc_port)
    client.send("NICK alice\r\nQUIT\r\nUSER a 0 * :A")  # the USER after QUIT must not register
    assert command_of(client.line()) == "ERROR"
    assert client.closed()


def test_per_address_limits_apply_to_the_irc_port(started: list[IRCServer]) -> None:
    server = start(started, max_per_ip=2)
    first, second = IRCRaw(server.irc_port), IRCRaw(server.irc_port)
    first.register("one")
    second.register("two")
    third = IRCRaw(server.irc_port)
    assert third.closed()
    for client in (first, second, third):
        client.close()


def test_moderation_through_kick_and_mode(tmp_path: Path, started: list[IRCServer]) -> None:
    path = tmp_path / "chat.db"
    stores = {"store": SQLiteStore(path), "accounts": Accounts(path), "moderation": Moderation(path)}
    server = IRCServer(ServerConfig(max_rate=0), **stores)  # type: ignore[arg-type]
    started.append(server)
    assert server.accounts is not None
    server.accounts.add("olive", PASSWORD, Role.OP)
    olive = IRCRaw(server.irc_port)
    olive.register("olive", f"PASS :{PASSWORD}")
    bob = IRCRaw(server.irc_port)
    bob.register("bob")
    bob.send("KICK #lobby olive :no")  # not an operator: refused with a numeric
    assert command_of(bob.line()) in ("481", "482")
    olive.send("MODE #lobby +m")
    assert bob.command("MODE")[-1] == ":olive!~m@messenger MODE #lobby +m-i"
    bob.send("PRIVMSG #lobby :can I speak?")
    assert command_of(bob.line()) == "404"
    olive.send("KICK #lobby bob :enough")
    kick = olive.command("KICK")[-1]
    assert kick == ":olive!~m@messenger KICK #lobby bob enough"
    assert bob.command("KICK")[-1] == kick
    olive.close()
    bob.close()


def test_irc_over_tls(tmp_path: Path, started: list[IRCServer]) -> None:
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1")
    cert, key = tmp_path / "server.crt", tmp_path / "server.key"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    server = IRCServer(ServerConfig(max_rate=0), tls=server_context(str(cert), str(key)))
    started.append(server)
    context = ssl.create_default_context()
    ca.configure_trust(context)
    raw = socket.create_connection(("127.0.0.1", server.irc_tls_port), timeout=5)
    with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        tls.sendall(b"NICK secure\r\nUSER s 0 * :S\r\n")
        received = b""
        while b" 366 secure " not in received:
            received += tls.recv(65536)
    plain = IRCRaw(server.irc_port)  # the plain IRC port stays plain beside it
    plain.register("plain")
    watcher = RawClient(server.port)  # the chat port itself needs TLS: a plaintext client is refused
    watcher.send_json({"type": "hello", "user": "w"})
    assert watcher.closed()
    plain.close()


def test_the_rooms_a_client_names_leave_nothing_behind(started: list[IRCServer]) -> None:
    """What the connection remembers to word an answer goes once it is answered: naming ever
    new rooms (NAMES, WHO, TOPIC, JOIN and PART) costs the server no memory that stays."""
    server = start(started)
    client = IRCRaw(server.irc_port)
    client.register("ivy")
    rooms = "".join(
        f"NAMES #r{i}\r\nWHO #r{i}\r\nTOPIC #r{i}\r\nJOIN #j{i}\r\nPART #j{i}\r\n" for i in range(200)
    )
    client.send(rooms + "PING :end")
    client.command("PONG")
    (connection,) = server.server.connections()
    assert connection.connection.expected == {}  # type: ignore[attr-defined]
    client.close()

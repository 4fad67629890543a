"""The web port's protocol without sockets (server/websession.py): bytes in, events out.  An
HTTP head however it is cut, its limits, the upgrade, WebSocket messages whole or in fragments,
control frames, and any bytes at all without an exception."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wsproto import ConnectionType, WSConnection
from wsproto.events import CloseConnection, Message, Ping
from wsproto.events import Request as WsRequest

from messenger.protocol.connection import Reply, Request, ServerConnection
from messenger.protocol.frames import Mode, Say
from messenger.protocol.lines import EOF, NEED_DATA
from messenger.server.websession import (
    ASKED,
    DONE,
    MAX_HEAD,
    WEBSOCKET,
    Broken,
    Control,
    Head,
    HttpError,
    WebSession,
)

GET = b"GET /static/app.js?v=1 HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n"


def session() -> WebSession:
    return WebSession(ServerConnection(16384, mode=Mode.JSON))


def events(web: WebSession) -> list[Any]:
    """Every event until NEED_DATA or EOF (included)."""
    out = []
    while True:
        out.append(web.next_event())
        if out[-1] is NEED_DATA or out[-1] is EOF:
            return out


def upgraded() -> tuple[WebSession, WSConnection]:
    """A session past the upgrade, logged in, and the client's side of it."""
    client = WSConnection(ConnectionType.CLIENT)
    web = session()
    web.receive_data(client.send(WsRequest(host="x", target="/ws")))
    head = web.next_event()
    assert isinstance(head, Head)
    accepted = web.upgrade(head.raw)
    assert isinstance(accepted, bytes) and web.state is WEBSOCKET
    client.receive_data(accepted)
    list(client.events())
    web.accept_login()
    return web, client


@pytest.mark.parametrize("cut", [1, 7, len(GET) - 1])
def test_a_head_cut_anywhere_is_one_head(cut: int) -> None:
    web = session()
    web.receive_data(GET[:cut])
    assert web.next_event() is NEED_DATA
    web.receive_data(GET[cut:])
    head = web.next_event()
    assert isinstance(head, Head) and not head.charge
    assert (head.method, head.path, head.target) == ("GET", "/static/app.js", "/static/app.js?v=1")
    assert head.headers()["accept"] == "*/*" and web.state is ASKED
    web.receive_data(b"GET / HTTP/1.1\r\n\r\n")  # nothing more is read while it is answered
    assert web.next_event() is NEED_DATA


def test_heads_too_large_bad_or_cut_off() -> None:
    big = session()
    for _ in range(MAX_HEAD // 1000 + 1):
        big.receive_data(b"X-Filler: " + b"a" * 990 + b"\r\n")
    event = big.next_event()
    assert isinstance(event, HttpError) and event.answer.status == 431 and big.state is DONE
    bad = session()
    bad.receive_data(b"\x00\x01 not http\r\n\r\n")
    event = bad.next_event()
    assert isinstance(event, HttpError) and event.answer.status == 400
    cut = session()
    cut.receive_data(b"GET / HTT")
    cut.receive_data(b"")
    assert cut.next_event() is EOF


def test_a_bad_upgrade_is_answered_in_http() -> None:
    web = session()
    web.receive_data(b"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n")  # no Upgrade headers
    head = web.next_event()
    assert isinstance(head, Head)
    refused = web.upgrade(head.raw)
    assert not isinstance(refused, bytes) and refused.status == 400


def test_messages_whole_and_in_fragments_are_lines() -> None:
    web, client = upgraded()
    web.receive_data(client.send(Message(data='{"type":"say","text":"one"}')))
    web.receive_data(client.send(Message(data='{"type":"say",', message_finished=False)))
    assert [type(e) for e in events(web)] == [Request, type(NEED_DATA)]
    web.receive_data(client.send(Message(data='"text":"two"}')))
    got = events(web)
    assert isinstance(got[0], Request) and got[0].frame == Say(text="two")
    web.receive_data(client.send(Message(data=b"\x00")))
    reply = web.next_event()
    assert isinstance(reply, Reply) and reply.frame.code == "bad_frame"  # type: ignore[union-attr]


def test_ping_and_close_are_control_bytes() -> None:
    web, client = upgraded()
    web.receive_data(client.send(Ping(payload=b"p")))
    pong = web.next_event()
    assert isinstance(pong, Control) and pong.charge and not pong.end
    web.receive_data(client.send(CloseConnection(code=1000)))
    close = web.next_event()
    assert isinstance(close, Control) and close.end and not close.charge and web.state is DONE
    client.receive_data(pong.data + close.data)
    assert [type(e).__name__ for e in client.events()] == ["Pong", "CloseConnection"]


def test_an_unmasked_frame_breaks_the_protocol_and_is_closed() -> None:
    web, _ = upgraded()
    web.receive_data(b"\x81\x02hi")  # a client's frame must be masked
    event = web.next_event()
    assert isinstance(event, Control) and event.end  # wsproto closes it (1002)


@given(st.lists(st.binary(max_size=300), max_size=8))
def test_any_bytes_before_the_head_raise_nothing(chunks: list[bytes]) -> None:
    web = session()
    for chunk in chunks:
        web.receive_data(chunk)
        events(web)


@given(st.lists(st.binary(max_size=300), max_size=8))
def test_any_bytes_after_the_upgrade_raise_nothing(chunks: list[bytes]) -> None:
    web, _ = upgraded()
    for chunk in chunks:
        web.receive_data(chunk)
        for event in events(web):
            assert event is NEED_DATA or event is EOF or isinstance(event, (Request, Reply, Control, Broken))

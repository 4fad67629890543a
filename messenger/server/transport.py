"""The transport under a ChatHandler: reading (decrypting TLS) without holding a buffer while
idle, the TLS handshake or the refusal of the wrong kind of client, and the socket's options.
A mixin of ChatHandler (handler.py); WebHandler (web.py) reads through it too."""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import time
from typing import TYPE_CHECKING

from ..protocol.codec import encode
from ..protocol.frames import Error, ErrorCode
from ..tls import TLS_HANDSHAKE_BYTE, TLSChannel, TLSError, looks_like_tls
from .counters import READ_TIME

if TYPE_CHECKING:
    from .tcp import ChatServer

log = logging.getLogger("messenger.server.handler")

# One recv() reads at most this much; with the line limit it bounds a connection's input buffer.
# recv() allocates all of it before it blocks, so a connection waits in poll() first (below).
RECV_SIZE = 64 * 1024


class TransportSteps:
    """ChatHandler's reading and its start: the fields are the handler's (handler.py)."""

    server: ChatServer
    request: socket.socket
    address: str
    channel: TLSChannel | None
    _poller: select.poll

    def _receive(self) -> bytes | None:
        """The next bytes from the peer, decrypted: b"" when it closed or the socket failed,
        None for TLS records that held no application data (read again)."""
        try:
            if not self._wait_readable():
                return b""
            data = self.request.recv(RECV_SIZE)
            READ_TIME.at = time.monotonic()  # metrics: a message's fan-out latency starts here
            if self.channel is not None:
                plain = self.channel.decrypt(data)
                if data and not plain:
                    return None
                data = plain
        except (OSError, TLSError):
            return b""
        return data

    def _wait_readable(self) -> bool:
        """Block until the peer sent something, closed, or failed (True), or until the timeout
        set on the socket passed (False), holding no buffer meanwhile: ``recv(RECV_SIZE)``
        allocates its whole buffer before it blocks, and at thousands of idle connections those
        64 KiB buffers were most of the server's memory (docs/performance.md)."""
        timeout = self.request.gettimeout()
        return bool(self._poller.poll(None if timeout is None else timeout * 1000))

    def _start_transport(self) -> bool:
        """On a TLS server, check the client speaks TLS and do the handshake, here in this
        connection's thread (with a timeout), so a stalled handshake blocks nobody.  On a plain
        server, turn away a TLS handshake.  False: the connection is over."""
        start = self._peek_start()
        if not start:
            return False
        context = self.server.tls
        if context is None:
            if looks_like_tls(start):
                log.info("%s tried TLS on a plain port; closed", self.address)
                return False
            return True
        if not looks_like_tls(start):
            self._refuse_plaintext(start[0])
            return False
        channel = TLSChannel(context, server_side=True)
        try:
            channel.handshake(self.request, self.server.config.handshake_timeout)
        except (TLSError, OSError) as exc:
            log.info("TLS handshake with %s failed: %s", self.address, exc)
            return False
        self.channel = channel
        log.debug("TLS with %s: %s", self.address, channel.version)
        return True

    def _peek_start(self) -> bytes:
        """The first byte the peer sent, and the second when the first may begin TLS, left
        unread (none on an error or an immediate close).  A TLS client sends its whole
        ClientHello at once; a peer that sends 0x16 and stops is closed by the login timeout
        like any silent one."""
        try:
            start = self.request.recv(1, socket.MSG_PEEK)
            if start == bytes((TLS_HANDSHAKE_BYTE,)):
                start = self.request.recv(2, socket.MSG_PEEK | socket.MSG_WAITALL)
        except OSError:
            return b""
        return start

    def _refuse_plaintext(self, first: int) -> None:
        """A plaintext client on a TLS port gets one clear line, in its own mode, then the
        connection closes (a TLS server must not read its lines)."""
        with contextlib.suppress(OSError):
            self.request.settimeout(1.0)
            self.request.sendall(plaintext_refusal(first))
        log.info("%s spoke plaintext to the TLS port; closed", self.address)


def plaintext_refusal(first: int) -> bytes:
    """The line a plaintext client on a TLS port gets, in the mode its first byte shows."""
    message = "this server requires TLS; connect with a TLS client (messenger connect --tls)"
    if first == ord("{"):
        return encode(Error(code=ErrorCode.TLS_REQUIRED.value, message=message))
    return f"error: {message}\n".encode()


def tune_socket(sock: socket.socket) -> None:
    """Small chat lines go out at once; dead peers are noticed by keepalive probes."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        if hasattr(socket, "TCP_KEEPIDLE"):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 60)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 10)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 6)
    except OSError:
        pass

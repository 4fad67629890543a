"""What every connection's transport shares: the read size, the line a plaintext client on a TLS
port gets, and the socket's options."""

from __future__ import annotations

import socket

from ..protocol.codec import encode
from ..protocol.frames import Error, ErrorCode

# One recv() reads at most this much; with the line limit it bounds a connection's input buffer.
# The loop calls recv() only when epoll says there is input, so an idle connection holds none.
RECV_SIZE = 64 * 1024


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

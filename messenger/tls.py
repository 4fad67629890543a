"""TLS for both ends, on plain sockets: an SSLObject over memory buffers.

Why not ``ssl.SSLSocket``: each connection is read by one thread and written by another (the
server's handler and Flusher, the client's reader and senders), and one OpenSSL connection must
not be used by two threads at once; an SSLSocket also cannot do the Flusher's non-blocking
``send(..., MSG_DONTWAIT)``.  A ``TLSChannel`` turns ciphertext into plaintext and back under
its own lock and never touches the socket after the handshake, so the socket stays an ordinary
one and the delivery code does not change.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time

# How every TLS connection starts: a handshake record (ClientHello), whose version's first
# byte is 3 in every TLS and SSL 3 release.  Two bytes, not one: a text-mode line may start with
# the control character 0x16 (Ctrl+V), and must be answered as text, not closed as TLS.
TLS_HANDSHAKE_BYTE = 0x16
TLS_RECORD_MAJOR = 0x03


def looks_like_tls(start: bytes) -> bool:
    """Whether the first bytes a peer sent begin a TLS handshake."""
    return start[:2] == bytes((TLS_HANDSHAKE_BYTE, TLS_RECORD_MAJOR))


# A client that connects and never finishes its handshake is given up after this long; until
# then it blocks nobody else (the server's reader loop steps the handshake as bytes come).
HANDSHAKE_TIMEOUT = 10.0
RECV_SIZE = 64 * 1024


class TLSError(Exception):
    """A TLS problem, as one sentence for a person."""


class TLSPeerClosed(TLSError):
    """The other end closed the connection in the middle of the handshake (it does not speak
    TLS, or refused ours)."""


def server_context(certfile: str, keyfile: str) -> ssl.SSLContext:
    """TLS 1.2 or later with the ``ssl`` module's secure defaults.  Raises TLSError."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(certfile, keyfile)
    except FileNotFoundError as exc:
        raise TLSError(f"cannot read {exc.filename}: no such file") from None
    except PermissionError as exc:
        raise TLSError(f"cannot read {exc.filename}: permission denied") from None
    except (ssl.SSLError, OSError) as exc:
        raise TLSError(
            f"cannot use the certificate {certfile} with the key {keyfile}: {_reason(exc)} "
            "(both must be PEM files, and the key must belong to the certificate)"
        ) from None
    return context


def client_context(cafile: str | None = None, insecure: bool = False) -> ssl.SSLContext:
    """Verify the server against the system's trusted certificates, or ``cafile``; with
    ``insecure``, do not verify at all.  Raises TLSError."""
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cafile is not None:
        try:
            context.load_verify_locations(cafile)
        except FileNotFoundError:
            raise TLSError(f"cannot read {cafile}: no such file") from None
        except (ssl.SSLError, OSError) as exc:
            raise TLSError(f"cannot use {cafile} as a CA file: {_reason(exc)}") from None
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class TLSChannel:
    """One TLS connection's crypto: ``handshake`` on the socket (blocking) or ``handshake_step``
    (driven by the caller), then ``encrypt`` and ``decrypt`` from any thread (one at a time,
    under the channel's lock)."""

    def __init__(
        self, context: ssl.SSLContext, server_side: bool, server_hostname: str | None = None
    ) -> None:
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(
            self._incoming, self._outgoing, server_side=server_side, server_hostname=server_hostname
        )
        self._lock = threading.Lock()
        self.version: str | None = None

    def handshake(self, sock: socket.socket, timeout: float = HANDSHAKE_TIMEOUT) -> None:
        """Complete the handshake over ``sock`` (blocking, at most ``timeout`` seconds in all:
        a deadline for the whole handshake, not for each read, so a peer that trickles its
        ClientHello a byte at a time is dropped on time).  Raises TLSError, or
        OSError/TimeoutError from the socket."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    with self._lock:
                        self._tls.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    self._flush(sock, deadline)
                    _wait_until(sock, deadline)
                    data = sock.recv(RECV_SIZE)
                    if not data:
                        raise TLSPeerClosed(
                            "the other end closed the connection during the TLS handshake"
                        ) from None
                    with self._lock:
                        self._incoming.write(data)
                except ssl.SSLCertVerificationError as exc:
                    raise TLSError(f"the server's certificate is not trusted: {exc.verify_message}") from None
                except ssl.SSLError as exc:
                    raise TLSError(f"the TLS handshake failed: {_reason(exc)}") from None
            self._flush(sock, deadline)  # the last handshake bytes (and TLS 1.3 session tickets)
            self.version = self._tls.version()
        finally:
            sock.settimeout(None)

    def handshake_step(self, data: bytes) -> tuple[bool, bytes]:
        """One step of a handshake driven by the caller (the server's reader loop, which
        never blocks): feed the ciphertext that came (``b""``: the peer closed); returns
        whether the handshake is complete and the bytes to send the peer now.  Raises
        TLSError (TLSPeerClosed when the peer closed).  The caller keeps the deadline."""
        if not data:
            raise TLSPeerClosed("the other end closed the connection during the TLS handshake")
        with self._lock:
            self._incoming.write(data)
            try:
                self._tls.do_handshake()
                done = True
            except ssl.SSLWantReadError:
                done = False
            except ssl.SSLError as exc:
                raise TLSError(f"the TLS handshake failed: {_reason(exc)}") from None
            if done:
                self.version = self._tls.version()
            return done, self._outgoing.read()

    def _flush(self, sock: socket.socket, deadline: float) -> None:
        with self._lock:
            data = self._outgoing.read()
        if data:
            _wait_until(sock, deadline)
            sock.sendall(data)  # the timeout bounds the whole sendall, not each send

    def decrypt(self, data: bytes | None) -> bytes:
        """Feed received ciphertext; return the plaintext it completes (maybe ``b""``).  The end
        of the ciphertext stream (``b""``) gives ``b""``; ``None`` only collects what earlier
        data completed (application data that came with the end of the handshake).  Raises
        TLSError for a broken stream."""
        with self._lock:
            if data:
                self._incoming.write(data)
            elif data is not None:
                self._incoming.write_eof()
            chunks = []
            while True:
                try:
                    chunk = self._tls.read(RECV_SIZE)
                except (ssl.SSLWantReadError, ssl.SSLZeroReturnError, ssl.SSLEOFError):
                    break
                except ssl.SSLError as exc:
                    raise TLSError(f"the TLS stream is broken: {_reason(exc)}") from None
                if not chunk:
                    break
                chunks.append(chunk)
            return b"".join(chunks)

    def encrypt(self, data: bytes) -> bytes:
        """Plaintext in, the ciphertext to send out (with any TLS records the channel owes its
        peer, such as a key update, in front)."""
        with self._lock:
            self._tls.write(data)
            return self._outgoing.read()


def _wait_until(sock: socket.socket, deadline: float) -> None:
    """Give the socket's next operation the time left until ``deadline``; TimeoutError if none."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the TLS handshake took too long")
    sock.settimeout(left)


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    if reason:
        return str(reason).replace("_", " ").lower()
    return str(exc) or type(exc).__name__


__all__ = [
    "HANDSHAKE_TIMEOUT",
    "TLS_HANDSHAKE_BYTE",
    "TLSChannel",
    "TLSError",
    "client_context",
    "looks_like_tls",
    "server_context",
]

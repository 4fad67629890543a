"""The Flusher's sockets (delivery.py): handing a connection's next chunk to the kernel without
blocking, and waiting for the sockets whose kernel buffers were full, or for a wake-up.
Touched by the Flusher thread only, except ``wake``."""

from __future__ import annotations

import contextlib
import selectors
import socket

from .counters import DeliveryStats
from .outbox import Outbox

# The most bytes handed to one send(): enough to fill a socket buffer in one call, small enough
# that one connection's backlog does not hold up the round for everyone else.
MAX_SEND = 256 * 1024


class Sockets:
    """The selector the Flusher sleeps in: a wake-up socket pair, and the connections that wait
    for their socket to take more (``waiters``)."""

    def __init__(self, stats: DeliveryStats) -> None:
        self.stats = stats
        self.waiters: set[Outbox] = set()  # their cursors are the only ones that hold back trimming
        self._selector = selectors.DefaultSelector()
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._wake_reader.setblocking(False)
        self._wake_writer.setblocking(False)
        self._selector.register(self._wake_reader, selectors.EVENT_READ, None)

    def wake(self) -> None:
        """End a ``wait`` now (any thread; the ChatLog calls it under its lock)."""
        with contextlib.suppress(BlockingIOError):
            self._wake_writer.send(b"\0")

    def wait(self, timeout: float | None) -> list[Outbox]:
        """Wait up to ``timeout`` for a wake-up or writable sockets; return the latter."""
        writable = []
        for key, _ in self._selector.select(timeout):
            if key.data is None:
                with contextlib.suppress(BlockingIOError):
                    while self._wake_reader.recv(4096):
                        pass
            else:
                key.data.waiting = False
                writable.append(key.data)
        return writable

    def send(self, outbox: Outbox) -> None:
        """Hand the kernel as much of ``outbox.rest`` as it takes now; wait for the socket when
        it did not take it all; mark the outbox dead when the socket failed."""
        data = outbox.rest
        try:
            sent = self._send_all(outbox.sock, data)
        except OSError:
            outbox.dead = True
            outbox.rest = b""
            return
        self.stats.bytes_sent += sent  # metrics
        outbox.rest = data[sent:] if sent < len(data) else b""
        if outbox.rest:
            outbox.waiting = True
            if not outbox.registered:
                try:
                    self._selector.register(outbox.sock, selectors.EVENT_WRITE, outbox)
                    outbox.registered = True
                    self.waiters.add(outbox)
                except (ValueError, KeyError, OSError):
                    # The socket was closed under us (its handler gave up waiting): nothing
                    # more can be sent on it.
                    outbox.dead = True
                    outbox.rest = b""
        elif outbox.registered:
            self.forget(outbox)

    @staticmethod
    def _send_all(sock: socket.socket, data: bytes) -> int:
        """How much of ``data`` the kernel took now, in calls of at most MAX_SEND bytes (one
        call, without a memoryview, for the usual small chunk: this runs once per connection
        per round)."""
        if len(data) <= MAX_SEND:
            try:
                return sock.send(data, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return 0
        sent = 0
        try:
            while sent < len(data):
                view = memoryview(data)[sent : sent + MAX_SEND]
                count = sock.send(view, socket.MSG_DONTWAIT)
                sent += count
                if count < len(view):
                    break
        except BlockingIOError:
            pass
        return sent

    def forget(self, outbox: Outbox) -> None:
        """Stop waiting for ``outbox``'s socket."""
        if outbox.registered:
            with contextlib.suppress(KeyError, ValueError, OSError):
                self._selector.unregister(outbox.sock)
            outbox.registered = False
        self.waiters.discard(outbox)

    def close(self) -> None:
        self._selector.close()
        self._wake_reader.close()
        self._wake_writer.close()

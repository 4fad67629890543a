"""ReaderLoop: one thread that accepts the chat port's connections (and the IRC ports', each a
``Listener``) and reads all of them (plain TCP and TLS, JSON, text mode and IRC) with
``selectors`` (epoll on Linux), instead of a thread per connection.

A thread per connection cost 12 KiB of touched stack and a share of malloc's per-thread arenas
each, an accept thread that had to start a thread for every login of a storm, and a thread
wake-up with a GIL hand-over for every line read (docs/performance.md).  The loop wakes once
for whatever is ready and acts on each connection's lines in turn; nothing in it blocks for
long: flood control pauses a connection with a timer, password checks run on login workers,
the TLS handshake goes step by step, and closing connections are finished when the Flusher has
released them.  The registry lock is taken as by the threads (never during socket I/O).

The loop's fields are its own thread's; ``call_soon``, ``stop_accepting`` and ``stop`` may be
called from any thread (they queue a call and wake the loop through a socket pair)."""

from __future__ import annotations

import collections
import contextlib
import heapq
import itertools
import logging
import selectors
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from .looped import LoopConnection

if TYPE_CHECKING:
    from .tcp import ChatServer

log = logging.getLogger(__name__)

# Connections accepted at a time (the backlog drained), and how many connections' input is read
# between two looks at the backlog: in a storm of logins, acting on the lines of those already
# in must not leave the kernel's backlog (4,096) to overflow, which resets clients.
ACCEPT_BATCH = 1024
ACCEPT_EVERY = 32
# Login workers: each acts on one password login at a time, most of it waiting for the check
# gate (limits.CheckGate, 3 checks at once); one more than the gate keeps it busy.
LOGIN_WORKERS = 4
# How often closing connections are looked at (whether the Flusher has released them).
CLOSING_TICK = 0.01
# After the listening socket failed (out of descriptors), accepting resumes after this long.
ACCEPT_PAUSE = 0.1


class Timer:
    """A call the loop makes at ``when`` unless ``cancelled``."""

    __slots__ = ("call", "cancelled", "connection", "when")

    def __init__(self, when: float, call: Callable[[], None], connection: LoopConnection | None) -> None:
        self.when = when
        self.call = call
        self.connection = connection
        self.cancelled = False


class Listener:
    """A listening socket the loop accepts from, and how it makes a connection of a socket
    (the chat port's LoopConnection, the IRC port's IRC connection, the web port's);
    ``verify``: who may connect, when the port answers a refusal its own way (the server's
    ``verify_request`` when None)."""

    __slots__ = ("make", "sock", "verify")

    def __init__(
        self,
        sock: socket.socket,
        make: Callable[[socket.socket, tuple[str, int]], LoopConnection],
        verify: Callable[[socket.socket, tuple[str, int]], bool] | None = None,
    ) -> None:
        self.sock = sock
        self.make = make
        self.verify = verify


class ReaderLoop:
    """The chat port's accept-and-read loop; ``run`` is ChatServer.serve_forever."""

    def __init__(self, server: ChatServer) -> None:
        self.server = server
        self.selector = selectors.DefaultSelector()
        self._timers: list[tuple[float, int, Timer]] = []
        self._order = itertools.count()
        self._calls: collections.deque[tuple[Callable[[], None], LoopConnection | None]] = collections.deque()
        self._wake_in, self._wake_out = socket.socketpair()
        self._wake_in.setblocking(False)
        self._wake_out.setblocking(False)
        self.selector.register(self._wake_in, selectors.EVENT_READ, None)
        self.live: set[LoopConnection] = set()  # open and not ending
        self._closing: dict[LoopConnection, tuple[float, bool]] = {}  # -> (deadline, aborted)
        self._closing_checked = 0.0
        self._workers = ThreadPoolExecutor(max_workers=LOGIN_WORKERS, thread_name_prefix="login")
        self._listening = False
        # The chat port's, then any other (add_listener, before run): fixed once running.
        self.listeners = [
            Listener(server.socket, lambda s, a: LoopConnection(s, a, server, self, server.tls))
        ]
        self._stop = False
        self.not_accepting = threading.Event()  # set once the listening socket left the loop
        self.finished = threading.Event()
        self.finished.set()  # until run starts

    # -- from any thread --------------------------------------------------------------------------

    def call_soon(self, call: Callable[[], None], connection: LoopConnection | None = None) -> None:
        """Run ``call`` in the loop thread soon (guarded as a step of ``connection``)."""
        self._calls.append((call, connection))
        with contextlib.suppress(OSError):  # full: a wake-up is pending anyway
            self._wake_out.send(b"\0")

    def add_listener(self, listener: Listener) -> None:
        """Accept from ``listener`` too (before ``run``, or while it runs: registered in the loop)."""
        listener.sock.setblocking(False)  # the loop may try it before registering it
        self.listeners.append(listener)
        self.call_soon(self._listen)

    def stop_accepting(self) -> None:
        self.call_soon(self._unlisten)

    def stop(self) -> None:
        self._stop = True
        self.call_soon(lambda: None)

    # -- for connections (loop thread) ------------------------------------------------------------

    def watch(self, connection: LoopConnection, wanted: bool, events: int = selectors.EVENT_READ) -> None:
        """Read ``connection`` (or stop reading it: paused, or ending); ``events``
        EVENT_WRITE: wait until it can be written to instead (its ``on_readable`` is called)."""
        if wanted:
            self.selector.register(connection.request, events, connection)
        else:
            with contextlib.suppress(KeyError, ValueError, OSError):
                self.selector.unregister(connection.request)

    def call_later(self, delay: float, call: Callable[[], None], connection: LoopConnection) -> Timer:
        timer = Timer(time.monotonic() + delay, call, connection)
        heapq.heappush(self._timers, (timer.when, next(self._order), timer))
        return timer

    def submit(self, connection: LoopConnection, work: Callable[[], None], done: Callable[[], None]) -> None:
        """Run ``work`` on a login worker, then ``done`` in the loop."""
        try:
            future = self._workers.submit(work)
        except RuntimeError:  # the server is stopping
            connection.working = False
            connection.end()
            return
        future.add_done_callback(lambda _: self.call_soon(done, connection))

    def closing(self, connection: LoopConnection) -> None:
        """``connection`` ended: let its outbox send what is queued, finish it once released."""
        self.live.discard(connection)
        outbox = connection.outbox
        if outbox is None:
            self._finish(connection)
            return
        self.server.chat_log.close(outbox)
        self._closing[connection] = (time.monotonic() + self.server.config.shutdown_grace, False)

    # -- the loop ---------------------------------------------------------------------------------

    def run(self, poll_interval: float) -> None:
        """Accept, read and act until ``stop``; then close whatever is left."""
        self.finished.clear()
        try:
            if not self._stop:
                self._listen()
            tick = time.monotonic()
            while not self._stop:
                for count, (key, _) in enumerate(self.selector.select(self._timeout(tick)), 1):
                    self._ready(key.data)
                    if count % ACCEPT_EVERY == 0 and self._listening:
                        for listener in self.listeners:
                            self._accept(listener)
                self._run_calls()
                self._run_timers()
                now = time.monotonic()
                if self._closing and now - self._closing_checked >= CLOSING_TICK:
                    self._closing_checked = now
                    self._check_closing(now)
                if now >= tick:
                    tick = now + poll_interval
                    self._housekeeping()
        finally:
            self._close_everything()
            self.finished.set()

    def _timeout(self, tick: float) -> float:
        wake = tick
        if self._timers:
            wake = min(wake, self._timers[0][0])
        if self._closing:
            wake = min(wake, self._closing_checked + CLOSING_TICK)
        return 0.0 if self._calls else max(0.0, wake - time.monotonic())

    def _ready(self, what: object) -> None:
        if isinstance(what, LoopConnection):
            self._guard(what, what.on_readable)
        elif what is None:
            with contextlib.suppress(OSError):
                self._wake_in.recv(4096)
        else:
            assert isinstance(what, Listener)
            self._accept(what)

    def _guard(self, connection: LoopConnection | None, step: Callable[[], None]) -> None:
        """Run a step; a bug in it costs only its connection (never the loop), and is logged
        without a traceback unless debugging (client input never raises: the protocol layer
        answers bad bytes)."""
        try:
            step()
        except Exception:
            who = connection.address if connection is not None else "the reader loop"
            log.error("internal error with %s", who, exc_info=log.isEnabledFor(logging.DEBUG))
            if connection is not None:
                with contextlib.suppress(Exception):
                    connection.fail()

    def _run_calls(self) -> None:
        for _ in range(len(self._calls)):
            call, connection = self._calls.popleft()
            self._guard(connection, call)

    def _run_timers(self) -> None:
        now = time.monotonic()
        while self._timers and self._timers[0][0] <= now:
            timer = heapq.heappop(self._timers)[2]
            if not timer.cancelled:
                self._guard(timer.connection, timer.call)

    def _housekeeping(self) -> None:
        """The server's periodic duties (login time-outs, crowd summaries...); then the
        connections someone else asked to close while they were paused."""
        self._guard(None, self.server.service_actions)
        for connection in self.server.watched():  # not O(everyone): see ChatServer._watched
            if not isinstance(connection, LoopConnection) or connection not in self.live:
                continue
            if connection.closing_at is not None and not connection.working:
                self._guard(connection, connection.end)

    # -- accepting --------------------------------------------------------------------------------

    def _listen(self) -> None:
        """Register the listening sockets not registered yet (again after a pause)."""
        if self.not_accepting.is_set():
            return
        registered = self.selector.get_map()
        for listener in self.listeners:
            if listener.sock.fileno() >= 0 and listener.sock not in registered:
                listener.sock.setblocking(False)
                self.selector.register(listener.sock, selectors.EVENT_READ, listener)
                self._listening = True

    def _unlisten(self) -> None:
        if self._listening:
            for listener in self.listeners:
                with contextlib.suppress(KeyError, ValueError, OSError):
                    self.selector.unregister(listener.sock)
            self._listening = False
        self.not_accepting.set()

    def _accept(self, listener: Listener) -> None:
        """Accept what the backlog holds (up to a batch), without a thread for anyone."""
        for _ in range(ACCEPT_BATCH):
            try:
                sock, address = listener.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # out of descriptors: let the backlog wait a moment
                log.warning("cannot accept connections: %s", exc)
                self._unlisten()
                self.not_accepting.clear()
                pause = Timer(time.monotonic() + ACCEPT_PAUSE, self._listen, None)
                heapq.heappush(self._timers, (pause.when, next(self._order), pause))
                return
            self._admit(sock, address, listener)

    def _admit(self, sock: socket.socket, address: tuple[str, int], listener: Listener) -> None:
        server = self.server
        try:
            verify = listener.verify or server.verify_request
            if server.stopping.is_set() or not verify(sock, address):
                server.shutdown_request(sock)
                return
            connection = listener.make(sock, address)
        except Exception:
            log.error("internal error with %s", address, exc_info=log.isEnabledFor(logging.DEBUG))
            server.shutdown_request(sock)
            return
        self.live.add(connection)

    # -- closing ----------------------------------------------------------------------------------

    def _check_closing(self, now: float) -> None:
        """Finish the closing connections the Flusher released; abort those past the grace (a
        stalled peer keeps nothing waiting), and finish them after one more."""
        grace = self.server.config.shutdown_grace
        for connection, (deadline, aborted) in list(self._closing.items()):
            outbox = connection.outbox
            if outbox is None or outbox.released.is_set() or (aborted and now > deadline):
                self._finish(connection)
            elif now > deadline:
                self.server.chat_log.abort(outbox)
                self._closing[connection] = (now + grace, True)

    def _finish(self, connection: LoopConnection) -> None:
        """Release the address's count and the descriptor."""
        self._closing.pop(connection, None)
        self.live.discard(connection)
        self.server.shutdown_request(connection.request)
        log.debug("connection from %s closed", connection.address)

    def _close_everything(self) -> None:
        """The loop is over (the server stopped): end and close every connection left."""
        self._unlisten()
        for connection in list(self.live):
            self._guard(connection, connection.end)
        for connection in list(self._closing):
            if connection.outbox is not None and not connection.outbox.released.is_set():
                self.server.chat_log.abort(connection.outbox)
            self._finish(connection)
        self._workers.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Free the loop's own descriptors (after ``run`` returned, or if it never ran)."""
        self._workers.shutdown(wait=False, cancel_futures=True)
        self.selector.close()
        self._wake_in.close()
        self._wake_out.close()

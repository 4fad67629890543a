"""The generator's clients: they run inside the worker processes."""

from __future__ import annotations

import contextlib
import errno
import os
import selectors
import socket
import time

from wsclients import WEB_MARKER, FrameReader, LoginRefused, WebLogin, json_frame

from fanbench.config import (
    HOST,
    LOGIN_BUFFER_LIMIT,
    MARKER,
    NS,
    PADDING_BYTE,
    PROBE,
    RECV_SIZE,
    SEND_BATCH,
    SENDER,
    ClientSpec,
    Config,
)


class LoginFailed(Exception):
    """A client could not log in (refused, closed, or the server sent an error)."""


class Client:
    """One non-blocking connection: connects, logs in, then counts message lines.

    This base class only counts occurrences of MARKER in the byte stream (cheap, so the generator
    is not the bottleneck); Parser subclasses look at every line.
    """

    marker = MARKER

    def __init__(self, spec: ClientSpec, port: int, owed: int) -> None:
        self.spec = spec
        self.port = port
        self.owed = owed  # deliveries this client should receive
        self.sock: socket.socket | None = None
        self.logged_in = False
        self.delivered = 0
        self._tail = b""
        self._login_buffer = bytearray()
        self._join_line = b"\n" + spec.name + b" has joined the chat!\n"

    # login

    def start_connect(self) -> socket.socket:
        """Begin a non-blocking connect to the server; the socket becomes writable when done."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        err = sock.connect_ex((HOST, self.port))
        if err not in (0, errno.EINPROGRESS):
            raise LoginFailed(f"connect: {os.strerror(err)}")
        return sock

    def finish_connect(self) -> None:
        """The connect completed: check it worked and send the name line."""
        assert self.sock is not None
        err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            raise LoginFailed(f"connect: {os.strerror(err)}")
        # A few bytes into an empty send buffer.  An ignore names someone never online: the
        # cost measured is that of ignores being in place, on every message's path.
        ignore = b"/ignore ghost" + self.spec.name + b"\n" if self.spec.ignores else b""
        self.sock.sendall(self.spec.name + b"\n" + ignore)

    def read_login(self) -> bool:
        """Read while waiting for our own join line; True once it has arrived."""
        assert self.sock is not None
        data = self.sock.recv(RECV_SIZE)
        if not data:
            raise LoginFailed("closed by the server before the join line")
        start = max(0, len(self._login_buffer) - len(self._join_line))
        self._login_buffer += data
        found = (b"\n" + self._login_buffer).find(self._join_line, start)
        if found < 0:
            if b"\nerror:" in b"\n" + self._login_buffer:
                line = bytes(self._login_buffer).split(b"error:", 1)[1].split(b"\n", 1)[0]
                raise LoginFailed("server said: error:" + line.decode("utf-8", "replace"))
            if len(self._login_buffer) > LOGIN_BUFFER_LIMIT:
                raise LoginFailed("no join line")
            return False
        rest = bytes(self._login_buffer[found + len(self._join_line) - 1 :])
        self._login_buffer = bytearray()
        self.logged_in = True
        self.feed(rest, time.monotonic_ns())
        return True

    # messages

    def receive(self) -> int:
        """Read what is available; return how many deliveries it contained."""
        assert self.sock is not None
        data = self.sock.recv(RECV_SIZE)
        if not data:
            raise ConnectionResetError("closed by the server")
        return self.feed(data, 0)

    def feed(self, data: bytes, now_ns: int) -> int:
        """Count the markers in ``data``, including one split across the previous chunk."""
        marker, carry = self.marker, len(self.marker) - 1
        found = data.count(marker) + (self._tail + data[:carry]).count(marker)
        self._tail = data[-carry:] if len(data) >= carry else (self._tail + data)[-carry:]
        self.delivered += found
        return found

    @property
    def complete(self) -> bool:
        """Whether everything owed to this client has arrived."""
        return self.delivered >= self.owed

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()


class Parser(Client):
    """A client that parses every message line: for senders (to tell their own echoes apart) and
    probes (to record latency).  Both check that each sender's messages arrive in order."""

    def __init__(self, spec: ClientSpec, port: int, owed: int) -> None:
        super().__init__(spec, port, owed)
        self.record_latency = spec.role == PROBE
        self.latencies: list[int] = []
        self.echoes = 0
        self.order_errors = 0
        self._last_seq: dict[int, int] = {}
        self._partial = b""

    def receive(self) -> int:
        assert self.sock is not None
        data = self.sock.recv(RECV_SIZE)
        if not data:
            raise ConnectionResetError("closed by the server")
        return self.feed(data, time.monotonic_ns())

    def records(self, data: bytes) -> list[bytes]:
        """The complete lines in ``data``; the unfinished one is kept for the next chunk."""
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        return lines

    def feed(self, data: bytes, now_ns: int) -> int:
        """Parse the complete records (lines, or frames) in ``data``."""
        delivered = 0
        marker = self.marker
        for line in self.records(data):
            at = line.find(marker)
            if at < 0:
                continue
            send_ns, sender, seq = (int(part) for part in line[at + len(marker) :].split(b" ", 3)[:3])
            if self._last_seq.get(sender, -1) + 1 != seq:
                self.order_errors += 1
            self._last_seq[sender] = seq
            if sender == self.spec.index:
                self.echoes += 1
                continue
            delivered += 1
            if self.record_latency:
                self.latencies.append(now_ns - send_ns)
        self.delivered += delivered
        return delivered


class Sender(Parser):
    """A parser that also sends ``messages`` lines: flat out, or ``rate`` a second on a fixed
    schedule; the senders' schedules are staggered evenly over one interval."""

    def __init__(self, spec: ClientSpec, port: int, config: Config) -> None:
        super().__init__(spec, port, (config.senders - 1) * config.messages)
        self.total = config.messages
        self.size = config.size
        self.interval_ns = int(NS / config.rate) if config.rate > 0 else 0
        self.offset_ns = self.interval_ns * spec.rank // config.senders
        self.sent = 0
        self.first_send_ns = 0
        self.next_due_ns = 0
        self.watched = selectors.EVENT_READ  # the events the selector currently watches
        self._out = bytearray()

    @property
    def complete(self) -> bool:
        return self.delivered >= self.owed and self.echoes >= self.total

    @property
    def wanted(self) -> int:
        """The events to watch: writability only while there is something to write."""
        writing = bool(self._out) or (self.interval_ns == 0 and self.sent < self.total)
        return selectors.EVENT_READ | (selectors.EVENT_WRITE if writing else 0)

    def start(self, now_ns: int) -> None:
        self.next_due_ns = now_ns + self.offset_ns

    def next_wakeup_ns(self) -> int | None:
        """When this sender next has a message due (rate mode only)."""
        if self.interval_ns == 0 or self.sent >= self.total:
            return None
        return self.next_due_ns

    def message(self, now_ns: int) -> bytes:
        head = f"m {now_ns} {self.spec.index} {self.sent} "
        return (head + PADDING_BYTE * max(0, self.size - len(head) - 1) + "\n").encode()

    def produce(self, now_ns: int) -> None:
        """Queue the messages that are due: at a fixed rate, or (flat out) a batch whenever the
        previous one has been handed to the kernel."""
        if self.interval_ns:
            while self.sent < self.total and self.next_due_ns <= now_ns:
                self._queue(now_ns)
                self.next_due_ns += self.interval_ns
        elif not self._out:
            while self.sent < self.total and len(self._out) < SEND_BATCH:
                self._queue(now_ns)

    def _queue(self, now_ns: int) -> None:
        self._out += self.message(now_ns)
        self.sent += 1
        if not self.first_send_ns:
            self.first_send_ns = now_ns

    def flush(self) -> None:
        """Hand as much queued output to the kernel as it takes."""
        assert self.sock is not None
        if self._out:
            with contextlib.suppress(BlockingIOError):
                del self._out[: self.sock.send(self._out)]


class WebTransport(Client):
    """A client on the web port: the WebSocket upgrade and a hello frame to log in
    (wsclients.WebLogin), the web marker to count, frames instead of lines to parse."""

    marker = WEB_MARKER
    _login: WebLogin
    _frames: FrameReader | None = None

    def finish_connect(self) -> None:
        assert self.sock is not None
        err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            raise LoginFailed(f"connect: {os.strerror(err)}")
        then = (json_frame({"type": "command", "text": f"/ignore ghostc{self.spec.index}"}),)
        self._login = WebLogin(HOST, self.port, self.spec.name, then if self.spec.ignores else ())
        self.sock.sendall(self._login.request)

    def read_login(self) -> bool:
        assert self.sock is not None
        data = self.sock.recv(RECV_SIZE)
        if not data:
            raise LoginFailed("closed by the server before the joined frame")
        try:
            to_send, rest = self._login.feed(data)
        except LoginRefused as exc:
            raise LoginFailed(str(exc)) from exc
        if to_send:
            self.sock.sendall(to_send)  # the hello: a few bytes into an empty send buffer
        if rest is None:
            return False
        self.logged_in = True
        self.feed(rest, time.monotonic_ns())
        return True

    def records(self, data: bytes) -> list[bytes]:
        """The payloads of the frames completed by ``data`` (for the parsers)."""
        if self._frames is None:
            self._frames = FrameReader()
        try:
            return self._frames.feed(data)
        except LoginRefused as exc:
            raise ConnectionResetError(str(exc)) from exc


class WebClient(WebTransport, Client):
    """A counting receiver on the web port."""


class WebParser(WebTransport, Parser):
    """A probe on the web port."""


class WebSender(WebTransport, Sender):
    """A sender on the web port: each message line, without its newline, as a ``say`` frame."""

    def message(self, now_ns: int) -> bytes:
        line = super().message(now_ns)
        return json_frame({"type": "say", "text": line[:-1].decode()})


def make_client(spec: ClientSpec, port: int, config: Config, transport: str = "tcp") -> Client:
    """The right Client class for the spec's role and the transport (irc: ngircd's clients)."""
    if transport == "irc":
        from fanbench.irc import make_irc_client  # irc.py builds on this module's classes

        return make_irc_client(spec, port, config)
    web = transport == "web"
    if spec.role == SENDER:
        return (WebSender if web else Sender)(spec, port, config)
    owed = config.expected_echoes  # every other client receives all S × M messages
    if spec.role == PROBE:
        return (WebParser if web else Parser)(spec, port, owed)
    return (WebClient if web else Client)(spec, port, owed)

"""The chat server: a ThreadingTCPServer whose handlers speak the protocol to one client each.

ChatServer owns the listening socket, the Registry of logged-in members, the set of open
connections (for login time-outs and shutdown), the ChatLog whose Flusher thread writes every
connection's output, and the configuration.  ChatHandler runs in one thread per connection:
``handle`` reads bytes, cuts them into lines and dispatches each to ``on_<type>`` (the first line
fixes the mode and gives the connection its Outbox), ``finish`` (which runs even when ``handle``
raises) announces the departure and closes the outbox.  The server knows no
terminal: it logs through ``logging`` and never prints.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import socket
import socketserver
import ssl
import threading
import time
from dataclasses import dataclass

from .. import __version__
from ..core.accounts import Account, Accounts, check_password
from ..core.registry import Answered, Member, NameTaken, Registry, ServerFull
from ..core.store import MessageStore
from ..protocol.codec import encode, parse_client_frame
from ..protocol.frames import (
    Bye,
    ClientFrame,
    Error,
    ErrorCode,
    FrameError,
    Hello,
    HistoryRequest,
    Join,
    LeaveReason,
    Me,
    Mode,
    Nick,
    Part,
    Ping,
    Pong,
    Rooms,
    Say,
    ServerFrame,
    Shutdown,
    Who,
    detect_mode,
)
from ..protocol.lines import (
    DEFAULT_MAX_LINE,
    EOF,
    NEED_DATA,
    BadEncoding,
    Line,
    LineDecoder,
    LineEvent,
    LineTooLong,
)
from ..protocol.names import BadName, is_blank, normalize_name, sanitize_text
from ..protocol.textmode import TEXT_HELP, encode_for, in_room, parse_text_command
from ..tls import HANDSHAKE_TIMEOUT, TLS_HANDSHAKE_BYTE, TLSChannel, TLSError, looks_like_tls
from .delivery import ChatLog, Outbox
from .limits import AddressLimits, CheckGate, TokenBucket

log = logging.getLogger(__name__)

# Messages replayed on login by default: a screenful and a bit, enough to see what a
# conversation is about without flooding a terminal.
DEFAULT_HISTORY = 50
# The most a client may ask for at once (on login or per history page).  A page is also cut to
# half of --sendq in bytes (see Registry), so a page of long lines never gets a reader cut off.
HISTORY_MAX = 500

# One recv() reads at most this much; with the line limit it bounds a connection's input buffer.
RECV_SIZE = 64 * 1024


@dataclass(frozen=True)
class ServerConfig:
    """Limits and defaults; each is a ``messenger serve`` option."""

    max_line: int = DEFAULT_MAX_LINE
    # 1 MiB of unsent output is about 10,000 typical chat lines: a client that far behind is
    # not reading, and holding more only costs memory.  (ngircd cuts at 32 KB.)
    sendq: int = 1024 * 1024
    # Messages per second per client, and how many may come at once: a pasted screenful of 50
    # lines never waits, a script sending thousands is slowed to 20 lines a second.
    max_rate: float = 20.0
    burst: int = 50
    max_clients: int = 1000
    login_timeout: float = 30.0
    # How long a closing connection may take to flush its last frames (the shutdown frame,
    # an error) before its socket is cut; with the
    # rest of shutdown it keeps the whole stop under 2 seconds.
    shutdown_grace: float = 1.0
    # Past messages replayed on login unless the client asks otherwise (with a store).
    history: int = DEFAULT_HISTORY
    handshake_timeout: float = HANDSHAKE_TIMEOUT
    # Connections from one address: at most this many open at once (0 = no limit), and new ones
    # at most ``conn_rate`` a second once a burst of ``max_per_ip`` is used.  An office of 64
    # people behind one NAT address, all reconnecting at once after a restart, still gets in.
    max_per_ip: int = 64
    conn_rate: float = 10.0
    # Accounts: "open" lets unregistered names in (registered ones need their password),
    # "required" only accounts.  ``password``: a password every unregistered login must give.
    auth: str = "open"
    password: str | None = None


class ChatHandler(socketserver.BaseRequestHandler):
    """One client connection.

    Reads with ``recv`` into a LineDecoder rather than through ``rfile`` so that no line is
    ever buffered past the limit.  Dispatches JSON frames and text-mode commands alike to
    ``on_<type>`` methods; writes only by appending to the server's ChatLog.
    """

    server: ChatServer
    request: socket.socket

    def setup(self) -> None:
        config = self.server.config
        # Which thread owns each field: "handler" is this connection's thread; "others" are the
        # accept thread (service_actions, stop), the Flusher (too_slow) and the main thread (stop).
        # Fixed here, read by any thread:
        self.address = "{}:{}".format(*self.client_address[:2])
        self.opened_at = time.monotonic()
        # Handler only:
        self.decoder = LineDecoder(config.max_line)
        self.bucket = TokenBucket(config.max_rate, config.burst)
        self.leave_reason = LeaveReason.DISCONNECTED
        self.history_wanted = 0
        self.awaiting_password: str | None = None  # text mode: a registered name awaiting its password
        self.account: Account | None = None  # the account whose password this connection gave
        # Set once by the handler (on the first line; the TLS channel before it); others read
        # them and find None until then (the outbox is set a moment before the member).
        self.channel: TLSChannel | None = None
        self.outbox: Outbox | None = None
        self.member: Member | None = None
        # Written by the handler (True once Registry.join returned); others read it to decide
        # whether there is a member to cut off or a login to time out.
        self.logged_in = False
        # Set by whoever closes or aborts the connection (the handler on bye, others on a time-out,
        # a cut-off or shutdown); the handler's loop stops once it is set.  Any value means
        # "closing", so two writers racing is harmless.
        self.closing_at: float | None = None
        _tune_socket(self.request)
        self.server.track(self)
        log.info("connection from %s", self.address)

    def handle(self) -> None:
        if not self._start_transport():
            return
        if self.channel is not None:
            # Lines that came with the end of the handshake are already in the channel.
            early = self.channel.decrypt(None)
            if early:
                self.decoder.receive_data(early)
                if not self._handle_events():
                    return
        while self.closing_at is None:
            try:
                data = self.request.recv(RECV_SIZE)
                if self.channel is not None:
                    plain = self.channel.decrypt(data)
                    if data and not plain:
                        continue  # TLS records without application data
                    data = plain
            except (OSError, TLSError):
                return
            self.decoder.receive_data(data)
            if not self._handle_events():
                return

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
        message = "this server requires TLS; connect with a TLS client (messenger connect --tls)"
        if first == ord("{"):
            line = encode(Error(code=ErrorCode.TLS_REQUIRED.value, message=message))
        else:
            line = f"error: {message}\n".encode()
        with contextlib.suppress(OSError):
            self.request.settimeout(1.0)
            self.request.sendall(line)
        log.info("%s spoke plaintext to the TLS port; closed", self.address)

    def finish(self) -> None:
        self.server.untrack(self)
        self._announce_departure()
        if self.outbox is not None:
            # Let a last error or goodbye go out; a stalled peer cannot keep us here.
            self.server.chat_log.close(self.outbox)
            if not self.outbox.released.wait(self.server.config.shutdown_grace):
                self.server.chat_log.abort(self.outbox)
                self.outbox.released.wait(self.server.config.shutdown_grace)
        log.debug("connection from %s closed", self.address)

    # -- input --------------------------------------------------------------------------------

    def _handle_events(self) -> bool:
        """Process every complete line; False once the connection should end."""
        while self.closing_at is None:
            event = self.decoder.next_event()
            if event is NEED_DATA:
                return True
            if event is EOF:
                return False
            delay = self.bucket.delay()
            if delay and self.server.stopping.wait(delay):
                return False
            self._handle_line(event)
        return False

    def _handle_line(self, event: LineEvent) -> None:
        assert isinstance(event, (Line, LineTooLong, BadEncoding))
        if self.member is None:
            mode = detect_mode(event.first_byte)
            encrypt = self.channel.encrypt if self.channel is not None else None
            self.outbox = Outbox(
                self.request, mode, self.server.config.sendq, on_overflow=self.too_slow, encrypt=encrypt
            )
            self.server.chat_log.attach(self.outbox)
            self.member = Member(outbox=self.outbox, address=self.address)
        if isinstance(event, LineTooLong):
            limit = self.server.config.max_line
            self.error(ErrorCode.TOO_LONG, f"line longer than {limit} bytes; it was discarded")
        elif isinstance(event, BadEncoding):
            self.error(ErrorCode.BAD_ENCODING, "line is not valid UTF-8; it was discarded")
        elif self.member.mode is Mode.JSON:
            self._handle_json(event.text)
        else:
            self._handle_text(event.text)

    def _handle_json(self, text: str) -> None:
        try:
            frame = parse_client_frame(text)
        except FrameError as exc:
            self.send(exc.to_frame())
            return
        self.dispatch(frame)

    def _handle_text(self, text: str) -> None:
        if not self.logged_in:
            if self.awaiting_password is not None:
                # The line after a registered name is its password.
                name, self.awaiting_password = self.awaiting_password, None
                self.dispatch(Hello(user=name, password=text))
                return
            # "NAME PASSWORD" where a password is expected; otherwise the whole line is the name,
            # as it always was (so "bob smith" is still refused as a bad name).
            name, _, password = text.strip().partition(" ")
            if password.strip() and self.server.expects_password(name):
                self.dispatch(Hello(user=name, password=password.strip()))
            else:
                self.dispatch(Hello(user=text))
            return
        try:
            command = parse_text_command(text)
        except FrameError as exc:
            self.send(exc.to_frame())
            return
        if command.help:
            self.send_raw("".join(f"{line}\n" for line in TEXT_HELP).encode())
        elif command.frame is not None:
            assert self.member is not None
            # Text mode has a current room (the one joined last): lines go there.
            self.dispatch(in_room(command.frame, self.member.current_room))

    def dispatch(self, frame: ClientFrame) -> None:
        if not self.logged_in and not isinstance(frame, (Hello, Bye)):
            self.error(ErrorCode.NOT_LOGGED_IN, "log in first with a 'hello' frame", frame.TYPE)
            return
        try:
            getattr(self, "on_" + frame.TYPE)(frame)
        except Answered:
            pass  # the registry answered it under its lock, in its place among the state changes
        except FrameError as exc:
            self.send(exc.to_frame())

    # -- requests -----------------------------------------------------------------------------

    def on_hello(self, frame: Hello) -> None:
        assert self.member is not None
        if self.logged_in:
            self.error(ErrorCode.ALREADY_LOGGED_IN, f"already logged in as {self.member.name}", "hello")
            return
        try:
            name = normalize_name(frame.user)
        except BadName as exc:
            self.error(ErrorCode.BAD_NAME, f"bad name: {exc}; try another", "hello")
            return
        verdict = self._authenticate(name, frame.password)
        if verdict is None:
            return
        name, account = verdict
        wanted = self.server.config.history if frame.history is None else frame.history
        # What the client asked for on login also applies when it joins a room.
        self.history_wanted = min(wanted, HISTORY_MAX)
        self.member.account = account.name if account is not None else None
        if account is not None:
            self.member.history_key = account.key  # its private history is the account's
        try:
            self.server.registry.join(
                self.member, name, history=self.history_wanted, replace=account is not None
            )
        except NameTaken:
            self.error(ErrorCode.NAME_TAKEN, f"the name {name} is taken; try another", "hello")
            return
        except ServerFull:
            self.error(ErrorCode.SERVER_FULL, "the server is full; try again later", "hello")
            self.close()
            return
        self.account = account
        self.logged_in = True
        log.info("%s logged in from %s (%s mode)", name, self.address, self.member.mode.value)

    def _authenticate(self, name: str, password: str | None) -> tuple[str, Account | None] | None:
        """Check a login.  Returns the name to log in as (a registered name as it was registered,
        however it was typed) and the account whose password was given (it may then take the
        name over), or None when refused (the error is sent).  An attempt with a password is
        counted against the address's limit before it is checked, and given back if right.
        Passwords are never logged or echoed."""
        limits, address = self.server.limits, self.client_address[0]
        exceeded = limits.failures_exceeded(address)
        if exceeded or (password is not None and not limits.reserve_attempt(address)):
            self.error(
                ErrorCode.RATE_LIMITED, "too many failed logins from your address; wait a minute", "hello"
            )
            return None
        if password is None:
            return self._without_password(name)
        checked, verdict = self.server.password_checks.run(lambda: self._check_password(name, password))
        if not checked:
            limits.give_back(address)
            self.error(ErrorCode.RATE_LIMITED, "the server is busy with other logins; try again", "hello")
            return None
        if verdict is None:
            return self._refuse_login(name)
        limits.give_back(address)
        return verdict

    def _check_password(self, name: str, password: str) -> tuple[str, Account | None] | None:
        """The login ``password`` allows as ``name``, or None.  A registered name needs its own
        password; under ``--auth required`` an unknown name costs the same check, against a
        hash nothing matches."""
        server, config = self.server, self.server.config
        accounts = server.accounts
        account = accounts.lookup(name) if accounts is not None else None
        if account is not None or config.auth == "required":
            if accounts is None:  # nobody can log in, but the refusal costs the same
                check_password(password, None)
                return None
            right = accounts.verify(name, password)
            return (account.name, account) if right and account is not None else None
        if config.password is not None and hmac.compare_digest(
            password.encode("utf-8"), config.password.encode("utf-8")
        ):
            return name, None
        return None

    def _without_password(self, name: str) -> tuple[str, Account | None] | None:
        """A login that gave no password: accepted for an unregistered name on an open server;
        otherwise the password is asked for, in words that under ``--auth required`` are the
        same whether the name exists or not."""
        server, config = self.server, self.server.config
        if config.auth == "required":
            return self._ask_password(name, "this server needs an account: log in with your password")
        if server.accounts is not None and server.accounts.lookup(name) is not None:
            return self._ask_password(name, f"{name} is a registered name: log in with its password")
        if config.password is not None:
            return self._ask_password(name, "this server needs a password")
        return name, None

    def _ask_password(self, name: str, why: str) -> None:
        assert self.member is not None
        if self.member.mode is Mode.TEXT:
            self.awaiting_password = name
            self.send_raw(f"{why}; type it on the next line (it is shown as you type):\n".encode())
        else:
            self.error(ErrorCode.PASSWORD_REQUIRED, why, "hello")
        return None

    def _refuse_login(self, name: str) -> None:
        """A wrong password (already counted).  Under ``--auth required`` the words do not say
        whether the name exists."""
        server, config = self.server, self.server.config
        if config.auth == "required":
            why = "wrong name or password"
        elif server.accounts is not None and server.accounts.lookup(name) is not None:
            why = "wrong password"
        elif config.password is None:
            why = f"there is no account named {name}; log in without a password"
        else:
            why = "wrong password"
        log.info("failed login from %s", self.address)
        self.error(ErrorCode.BAD_PASSWORD, f"{why}; try again", "hello")
        return None

    def on_say(self, frame: Say) -> None:
        self._chat(frame.text, to=frame.to, action=False, re="say", room=frame.room)

    def on_me(self, frame: Me) -> None:
        self._chat(frame.text, to=None, action=True, re="me", room=frame.room)

    def _chat(self, text: str, to: str | None, action: bool, re: str, room: str | None) -> None:
        assert self.member is not None
        text = sanitize_text(text)
        if is_blank(text):
            # Text mode ignores an empty line; JSON mode answers so a client awaiting its echo
            # is not left waiting.
            if self.member.mode is Mode.JSON:
                self.error(ErrorCode.EMPTY, "empty message not sent", re)
            return
        self.server.registry.say(self.member, text, to=to, action=action, room=room, re=re)

    def on_who(self, frame: Who) -> None:
        assert self.member is not None
        self.server.registry.who(self.member, frame.room)  # answered under the registry's lock

    def on_join(self, frame: Join) -> None:
        assert self.member is not None
        self.server.registry.join_room(self.member, frame.room, history=self.history_wanted)

    def on_part(self, frame: Part) -> None:
        assert self.member is not None
        self.server.registry.part_room(self.member, frame.room)

    def on_rooms(self, frame: Rooms) -> None:
        assert self.member is not None
        self.server.registry.room_list(self.member)  # answered under the registry's lock

    def on_nick(self, frame: Nick) -> None:
        assert self.member is not None
        try:
            name = normalize_name(frame.user)
        except BadName as exc:
            self.error(ErrorCode.BAD_NAME, f"bad name: {exc}", "nick")
            return
        name = self._name_allowed(name)
        if name is None:
            return
        old = self.member.name
        self.server.registry.rename(self.member, name)  # name_taken is answered under its lock
        log.info("%s is now known as %s", old, name)

    def _name_allowed(self, name: str) -> str | None:
        """The name a ``nick`` may take (a registered one as registered), or None (refused with
        ``name_registered``, sent): a registered name is held only by a connection that gave
        its password (compared as the registry compares names, so case and lookalikes count),
        and under ``--auth required`` no name but one's account's is held at all."""
        accounts = self.server.accounts
        account = accounts.lookup(name) if accounts is not None else None
        if account is not None and account == self.account:  # the same key and registration
            return account.name
        if account is not None:
            why = f"{account.name} is a registered name; log in with its password to use it"
        elif self.server.config.auth == "required":
            why = f"only registered names are used here; {name} is not one"
        else:
            return name
        self.error(ErrorCode.NAME_REGISTERED, why, "nick")
        return None

    def on_history(self, frame: HistoryRequest) -> None:
        assert self.member is not None
        limit = self.server.config.history if frame.limit is None else frame.limit
        self.server.registry.history(self.member, min(limit, HISTORY_MAX), frame.before, frame.room)

    def on_ping(self, frame: Ping) -> None:
        self.send(Pong(token=frame.token))

    def on_bye(self, frame: Bye) -> None:
        self.leave_reason = LeaveReason.QUIT
        # Announced before the connection closes, so that a client which sees it end may log in
        # again under the same name at once (``finish`` then finds nothing left to announce).
        self._announce_departure()
        self.close()

    def _announce_departure(self) -> None:
        announce = self.member is not None and self.logged_in and not self.server.stopping.is_set()
        if announce and self.server.registry.leave(self.member, self.leave_reason):
            log.info("%s left (%s)", self.member.name, self.leave_reason.value)

    # -- output -------------------------------------------------------------------------------

    def send(self, frame: ServerFrame) -> None:
        """Queue a frame for this connection, in its mode (its outbox's: the outbox exists from
        the first line on, a moment before the member does).  Not under the registry's lock:
        only for frames that say nothing about the registry's state (those are answered by the
        registry itself), so their place among other clients' state changes does not matter."""
        outbox = self.outbox
        assert outbox is not None
        self.server.registry.reply(outbox, encode_for(outbox.mode, frame))

    def send_raw(self, data: bytes) -> None:
        assert self.outbox is not None
        self.server.registry.reply(self.outbox, data)

    def error(self, code: ErrorCode, message: str, re: str | None = None) -> None:
        self.send(Error(code=code.value, message=message, re=re))

    def close(self) -> None:
        """End the connection gracefully: what is queued is sent, then the socket closes."""
        if self.closing_at is None:
            self.closing_at = time.monotonic()
        if self.outbox is not None:
            self.server.chat_log.close(self.outbox)
        else:
            self._shut_socket()

    def abort(self) -> None:
        """Cut the connection at once (too slow, or shutdown grace over); never blocks."""
        self.closing_at = self.closing_at or time.monotonic()
        if self.outbox is not None:
            self.server.chat_log.abort(self.outbox)
        else:
            self._shut_socket()

    def too_slow(self) -> None:
        """Called by the Flusher when this connection's unsent output passed ``--sendq``."""
        if self.member is not None and self.logged_in:
            self.server.registry.cut(self.member)
        self.abort()

    def _shut_socket(self) -> None:
        with contextlib.suppress(OSError):
            self.request.shutdown(socket.SHUT_RDWR)


def _tune_socket(sock: socket.socket) -> None:
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


class ChatServer(socketserver.ThreadingTCPServer):
    """A chat server: every connection gets a ChatHandler thread; one Flusher thread writes.

    Callers use ``serve_forever`` (in any thread), ``stop`` (from another thread), ``port``
    and ``registry``.  Subclasses may override ``handler_class`` hooks as socketserver allows.
    """

    allow_reuse_address = True  # restart on the same port at once (SO_REUSEADDR)
    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024  # a burst of a thousand logins must not overflow the backlog

    def __init__(
        self,
        address: tuple[str, int],
        config: ServerConfig | None = None,
        bind_and_activate: bool = True,
        store: MessageStore | None = None,
        tls: ssl.SSLContext | None = None,
        accounts: Accounts | None = None,
    ) -> None:
        self.config = config or ServerConfig()
        self.tls = tls
        self.accounts = accounts
        self.chat_log = ChatLog()
        self.store = store
        self.registry = Registry(
            f"messenger/{__version__}", self.chat_log, max_members=self.config.max_clients, store=store
        )
        self.stopping = threading.Event()
        self._connections: set[ChatHandler] = set()
        self._connections_lock = threading.Lock()
        self.limits = AddressLimits(self.config.max_per_ip, self.config.conn_rate)
        self.password_checks = CheckGate()
        self._serving = False
        try:
            super().__init__(address, ChatHandler, bind_and_activate)
        except BaseException:
            self.chat_log.stop()
            raise

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        self._serving = True
        super().serve_forever(poll_interval)

    @property
    def host(self) -> str:
        return str(self.server_address[0])

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    # -- connection tracking ------------------------------------------------------------------

    def track(self, handler: ChatHandler) -> None:
        with self._connections_lock:
            self._connections.add(handler)
        if self.stopping.is_set():
            handler.abort()

    def untrack(self, handler: ChatHandler) -> None:
        with self._connections_lock:
            self._connections.discard(handler)

    def connections(self) -> list[ChatHandler]:
        with self._connections_lock:
            return list(self._connections)

    # -- socketserver hooks -------------------------------------------------------------------

    def verify_request(self, request: object, client_address: object) -> bool:
        """Turn away a connection over the per-address limits: closed at once, before any
        thread is started for it (and, as the protocol says, without a word before its first
        line)."""
        address = client_address[0] if isinstance(client_address, tuple) else client_address
        return self.limits.admit(request, str(address))

    def shutdown_request(self, request: object) -> None:
        self.limits.release(request)
        super().shutdown_request(request)  # type: ignore[arg-type]

    def expects_password(self, name: str) -> bool:
        """Whether a login as ``name`` needs a password: a registered name, ``--auth required``
        or a server password."""
        if self.config.password is not None or self.config.auth == "required":
            return True
        return self.accounts is not None and self.accounts.lookup(name) is not None

    def service_actions(self) -> None:
        """Runs in the serve_forever loop once per poll interval: close logins that took too long
        and connections that were asked to close but whose peer does not read."""
        now = time.monotonic()
        self.limits.forget_quiet()
        for handler in self.connections():
            if handler.closing_at is not None:
                if now - handler.closing_at > self.config.shutdown_grace:
                    handler.abort()
            elif not handler.logged_in and now - handler.opened_at > self.config.login_timeout:
                log.info("closing %s: no login within %g s", handler.address, self.config.login_timeout)
                if handler.member is not None:
                    handler.error(ErrorCode.LOGIN_TIMEOUT, "no login within the time allowed; goodbye")
                handler.close()

    def handle_error(self, request: object, client_address: object) -> None:
        """A bug in a handler: log it (traceback at debug level) instead of printing it."""
        log.error("internal error with %s", client_address, exc_info=log.isEnabledFor(logging.DEBUG))

    # -- stopping -----------------------------------------------------------------------------

    def stop(self, message: str = Shutdown.message) -> None:
        """Stop accepting, send every client the shutdown frame, close every socket.

        Call from a thread other than the one running serve_forever.  Returns within about
        ``shutdown_grace`` seconds however the clients behave.
        """
        self.stopping.set()
        if self._serving:
            self.shutdown()
        self.server_close()
        self.registry.close_all()
        handlers = self.connections()
        frame = Shutdown(message=message)
        for handler in handlers:
            if handler.outbox is not None:  # it said something, so it gets a goodbye
                handler.send(frame)
            handler.close()
        deadline = time.monotonic() + self.config.shutdown_grace
        outboxes = [h.outbox for h in handlers if h.outbox is not None]
        for handler in handlers:
            if handler.outbox is not None:
                handler.outbox.released.wait(max(0.0, deadline - time.monotonic()))
            handler.abort()
        for outbox in outboxes:
            outbox.released.wait(max(0.0, deadline + 0.5 - time.monotonic()))
        self.chat_log.stop()
        self.password_checks.close()
        log.info("server stopped")

"""One client connection: what it is (``ChatConnection``: its fields, its login and request
steps, its output) apart from what drives it: the reader loop (``LoopConnection`` in looped.py,
run by readers.ReaderLoop; the IRC and web ports' connections are subclasses of it).  The driver
feeds bytes to a sans-I/O protocol object (``protocol.ServerConnection``, or the port's own),
charges flood control per line, and hands each line's event to ``_act``: every request has one
implementation.  What a line means (mode, login gate, text
commands, password prompt) is the connection's; the login steps that need the server
(``hello``, passwords, who may hold a name) are in ``login.LoginSteps``."""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from typing import TYPE_CHECKING

from ..core.accounts import Account
from ..core.members import Answered, Member
from ..protocol.connection import Answer, Event, Ignored, RawText, Reply, Request, ServerConnection
from ..protocol.frames import (
    Bye,
    ClientFrame,
    Error,
    ErrorCode,
    FrameError,
    HistoryRequest,
    Join,
    LeaveReason,
    Me,
    Mode,
    Nick,
    Part,
    Pong,
    Rooms,
    Say,
    ServerFrame,
    Who,
)
from ..protocol.lines import LineDecoder
from ..protocol.names import BadName, normalize_name
from ..tls import TLSChannel
from .config import HISTORY_MAX
from .delivery import Outbox
from .limits import TokenBucket
from .login import LoginSteps
from .moderation_requests import ModerationRequests
from .outlet import encode_as
from .pending import ACTING
from .presence_requests import PresenceRequests
from .transport import tune_socket

if TYPE_CHECKING:
    from .tcp import ChatServer

log = logging.getLogger(__name__)


class ChatConnection(LoginSteps, PresenceRequests, ModerationRequests):
    """What one client connection is, whatever drives it: its fields, its login steps, its
    request handlers and its output (``send``, ``close``, ``abort``).

    A driver feeds bytes to its ServerConnection (whose LineDecoder is the only input buffer),
    charges flood control per line and calls ``_act`` for each line, in order: the reader loop's
    ``LoopConnection`` (looped.py) and its subclasses.  Requests (JSON frames and text-mode
    commands alike) go to ``on_<type>`` methods; output goes only to the server's ChatLog.
    """

    server: ChatServer
    request: socket.socket
    client_address: tuple[str, int]

    def setup(self) -> None:
        config = self.server.config
        # Which thread owns each field: "handler" is this connection's driver (the reader loop,
        # or a login worker while the loop has paused the connection); "others" are the loop's
        # service_actions, the Flusher (too_slow) and the main thread (stop).
        # Fixed here, read by any thread:
        self.address = "{}:{}".format(*self.client_address[:2])
        self.opened_at = time.monotonic()
        # The login timeout: written by the handler, read by the accept thread.  It measures the
        # time spent waiting for the client, so the time the server takes to act on a login line
        # (a queue for the registry's lock in a storm of logins, a password check) is added to
        # the deadline, and the clock is stopped meanwhile (``acting_since`` is set).
        self.login_deadline = self.opened_at + config.login_timeout
        self.acting_since: float | None = None
        # Handler only (the connection's ``logged_in`` is read by others, below):
        self.connection = ServerConnection(config.max_line, self.server.expects_password, self._current_room)
        self.bucket = TokenBucket(config.max_rate, config.burst)
        self.leave_reason = LeaveReason.DISCONNECTED
        self.history_wanted = 0
        self.account: Account | None = None  # the account whose password this connection gave
        # When the line that needs a password check was read (the reader loop's login workers:
        # the check gate's wait counts from then); None: now.
        self.check_since: float | None = None
        # Set once by the handler (on the first line; the TLS channel before it); others read
        # them and find None until then (the outbox is set a moment before the member).
        self.channel: TLSChannel | None = None
        self.outbox: Outbox | None = None
        self.member: Member | None = None
        # Set by whoever closes or aborts the connection (the handler on bye, others on a time-out,
        # a cut-off or shutdown); the handler's loop stops once it is set.  Any value means
        # "closing", so two writers racing is harmless.
        self.closing_at: float | None = None
        tune_socket(self.request)
        self.server.track(self)
        log.info("connection from %s", self.address)

    @property
    def logged_in(self) -> bool:
        """Written by the handler (True once Registry.join returned); others read it to decide
        whether there is a member to cut off or a login to time out."""
        return self.connection.logged_in

    @property
    def decoder(self) -> LineDecoder:
        """The connection's line decoder: its buffer is this connection's whole input buffer."""
        return self.connection.decoder

    # -- input --------------------------------------------------------------------------------

    def _act_before_login(self, event: Event) -> None:
        """Act on a line with the login clock stopped: the server's own delays must not close a
        client that has done its part (at thousands of logins at once, the wait for the
        registry's lock alone passed the login timeout)."""
        self.acting_since = started = time.monotonic()
        try:
            self._perform(event)
        finally:
            self.login_deadline += time.monotonic() - started  # first the deadline, then:
            self.acting_since = None

    def login_overdue(self, now: float) -> bool:
        """Whether the client has had its time to log in (read by the accept thread)."""
        return not self.logged_in and self.acting_since is None and now > self.login_deadline

    def _act(self, event: Event) -> None:
        if self.logged_in:
            self._perform(event)
        else:
            self._act_before_login(event)

    def _perform(self, event: Event) -> None:
        if self.outbox is None:
            self._open()
        ACTING.outbox = self.outbox  # the outlet's actor: who a frame's own copy and account are for
        try:
            if isinstance(event, Request):
                self.dispatch(event.frame)
            elif isinstance(event, (Reply, RawText)):
                self.answer(event)
            else:
                assert isinstance(event, Ignored)
        finally:
            ACTING.outbox = None

    def _open(self) -> None:
        """The first line fixed the mode: the connection gets its Outbox and Member."""
        assert self.connection.mode is not None
        encrypt = self.channel.encrypt if self.channel is not None else None
        self.outbox = Outbox(
            self.request,
            self.connection.mode,
            self.server.config.sendq,
            on_overflow=self.too_slow,
            encrypt=encrypt,
        )
        self.server.chat_log.attach(self.outbox)
        mode = self.connection.mode
        self.member = Member(link=self.outbox, address=self.address, shows_current_room=mode is Mode.TEXT)
        self.outbox.member = self.member

    def _current_room(self) -> str:
        """The room a text-mode line is about (asked by the connection once logged in)."""
        assert self.member is not None
        return self.member.current_room

    def dispatch(self, frame: ClientFrame) -> None:
        """A request the connection let through (logged in, or ``hello``/``bye``)."""
        try:
            getattr(self, "on_" + frame.TYPE)(frame)  # each client frame has one (test_layers)
        except Answered:
            pass  # the registry answered it under its lock, in its place among the state changes
        except FrameError as exc:
            self.send(exc.to_frame())

    # -- requests -----------------------------------------------------------------------------

    # The connection has sanitised a message's text and answered a blank one.
    def on_say(self, frame: Say) -> None:
        assert self.member is not None
        registry = self.server.registry
        registry.say(self.member, frame.text, to=frame.to, action=False, room=frame.room, re="say")

    def on_me(self, frame: Me) -> None:
        assert self.member is not None
        self.server.registry.say(self.member, frame.text, to=frame.to, action=True, room=frame.room, re="me")

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
        name = self._name_allowed(name, self.account, "nick")
        if name is None:
            return
        old = self.member.name
        self.server.registry.rename(self.member, name)  # name_taken is answered under its lock
        log.info("%s is now known as %s", old, name)

    def on_history(self, frame: HistoryRequest) -> None:
        assert self.member is not None
        limit = self.server.config.history if frame.limit is None else frame.limit
        self.server.registry.history(self.member, min(limit, HISTORY_MAX), frame.before, frame.room)

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
        self.server.chat_log.append({outbox.mode: encode_as(outbox.mode, frame)}, [outbox])

    def send_raw(self, data: bytes) -> None:
        assert self.outbox is not None
        self.server.chat_log.append({self.outbox.mode: data}, [self.outbox])

    def answer(self, answer: Answer) -> None:
        """Send what the connection answered by itself (an error, ``pong``, text-mode lines)."""
        if isinstance(answer, Reply):
            frame, member = answer.frame, self.member
            held = isinstance(frame, Pong) and member is not None
            if held and self.server.registry.hold_pong(member, frame):  # type: ignore[arg-type]
                return  # answered by the registry once what came before it was delivered
            self.send(frame)
        else:
            self.send_raw(answer.text.encode("utf-8"))

    def error(self, code: ErrorCode, message: str, re: str | None = None) -> None:
        if re == "hello":  # a refused login (a password asked for is not refused)
            self.server.reader_stats.refuse(code.value)
        self.send(Error(code=code.value, message=message, re=re))

    def close(self) -> None:
        """End the connection gracefully: what is queued is sent, then the socket closes."""
        if self.closing_at is None:
            self.closing_at = time.monotonic()
            self.server.watch(self)
        if self.outbox is not None:
            self.server.chat_log.close(self.outbox)
        else:
            self._shut_socket()

    def abort(self) -> None:
        """Cut the connection at once (too slow, or shutdown grace over); never blocks."""
        if self.closing_at is None:
            self.closing_at = time.monotonic()
            self.server.watch(self)
        if self.outbox is not None:
            self.server.chat_log.abort(self.outbox)
        else:
            self._shut_socket()

    def too_slow(self) -> None:
        """Called by the Flusher when this connection's unsent output passed ``--sendq``."""
        self.server.chat_log.stats.too_slow += 1  # the Flusher's figure
        if self.member is not None and self.logged_in:
            self.server.registry.cut(self.member)
        self.abort()

    def _shut_socket(self) -> None:
        with contextlib.suppress(OSError):
            self.request.shutdown(socket.SHUT_RDWR)

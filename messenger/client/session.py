"""One user's link to a server, shared by every front end (line editor, pipe, listener, ``send``).

``ChatLink`` owns the logged-in ``Client`` and a reader thread that hands every incoming line
to a ``View``; it keeps the list of online users (for completion), answers "has the server
handled everything I sent?" with a ping barrier, and, when asked to, reconnects after a lost
connection or a server restart with backoff and logs in again under the same name.  No
terminal code here: what to show is the view's business.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ..protocol.frames import (
    LOBBY,
    ClientFrame,
    Error,
    Joined,
    LeaveReason,
    Left,
    Message,
    Pong,
    Presence,
    Renamed,
    RoomList,
    Shutdown,
    Users,
    Welcome,
    room_of,
)
from ..protocol.names import name_key
from .backoff import Backoff
from .client import Client, ConnectionClosed, Incoming, LoginError, MessengerError

log = logging.getLogger(__name__)


class View(Protocol):
    """Where a link's output goes."""

    def show(self, incoming: Incoming) -> None:
        """A line from the server (``incoming.frame`` is None for frame types newer than us)."""

    def notice(self, message: str) -> None:
        """A message about the program itself: connected, reconnecting…"""

    def status_changed(self) -> None:
        """The link went online or offline (a prompt may show it)."""


@dataclass(frozen=True)
class LinkOptions:
    """Where to connect and how: ``reconnect`` keeps the link up across drops and restarts."""

    host: str
    port: int
    timeout: float = 10.0
    max_line: int = 16 * 1024
    reconnect: bool = False
    history: int | None = None  # past messages to replay on login (None: the server's default)
    tls: ssl.SSLContext | None = None  # TLS with this context (see tls.client_context)
    password: str | None = field(default=None, repr=False)  # kept for logging in again


def open_client(options: LinkOptions, name: str, account: str | None = None) -> tuple[Client, Welcome]:
    """Connect and log in (to ``account`` under ``name``, when given).  Raises ConnectError,
    LoginError (and its kinds), ConnectionClosed or ProtocolViolation; closes on failure."""
    client = Client.connect(
        options.host, options.port, timeout=options.timeout, max_line=options.max_line, tls=options.tls
    )
    try:
        return client, client.login(
            name, history=options.history, password=options.password, timeout=options.timeout, account=account
        )
    except BaseException:
        client.close()
        raise


class ChatLink:
    """A logged-in session that outlives its connections when ``options.reconnect`` is set.

    Use: ``start(client, welcome)``, then ``send`` frames from any thread; ``ended`` is set when
    the link is over for good, with ``shutdown`` (the server's goodbye), ``lost`` (why the
    connection ended), ``refused`` (a login refused on reconnect), ``replaced`` (our registered
    name was logged into elsewhere) or ``output_closed`` (the view could not write: stdout was
    closed) saying why.  ``leave`` says goodbye."""

    def __init__(self, options: LinkOptions, view: View) -> None:
        self.options = options
        self.view = view
        self.name = ""
        self.account: str | None = None  # the registered name our password proved, if any
        self._restoring: str | None = None  # the name asked back after logging in again
        self.errors = 0
        self.shutdown: Shutdown | None = None
        self.lost: str | None = None
        self.refused: LoginError | None = None
        self.output_closed: OSError | None = None
        self.replaced: Error | None = None  # the server gave our name to a new login elsewhere
        self.removed: Left | None = None  # an operator kicked or banned us: no coming back
        self.ended = threading.Event()
        self._client: Client | None = None
        self._users: dict[str, str] = {}
        self._lock = threading.Lock()
        self._leaving = threading.Event()
        self._tokens = itertools.count(1)
        self._awaited: str | None = None
        self._answered = threading.Event()
        self._backoff = Backoff()
        self._rooms: list[str] = [LOBBY]  # the rooms we are in, in the order joined
        self._known_rooms: set[str] = {LOBBY}  # every room we have heard of (for completion)
        self.last_id = 0  # the newest message seen: a replay after reconnecting starts past it
        self._replay_floor = 0
        self._end_listeners: list[Callable[[], None]] = []

    # -- state ---------------------------------------------------------------------------------

    @property
    def online(self) -> bool:
        return self._client is not None

    def users(self) -> list[str]:
        """Who is online, as last reported by the server."""
        with self._lock:
            return list(self._users.values())

    @property
    def current_room(self) -> str:
        """The room typed lines go to: the one joined (or switched to) last."""
        return self._rooms[-1]

    def rooms(self) -> list[str]:
        """The rooms we are in, in the order joined."""
        with self._lock:
            return list(self._rooms)

    def known_rooms(self) -> list[str]:
        """Every room we are in or have seen in a room list."""
        with self._lock:
            return sorted(self._known_rooms)

    def switch_to(self, room: str) -> None:
        """Make ``room`` current at once, when its ``join`` is sent, so that lines typed or piped
        right after go there (the server's ``joined`` comes later)."""
        with self._lock:
            self._rooms = [r for r in self._rooms if r != room] + [room]
            self._known_rooms.add(room)
        self.view.status_changed()

    def _is_me(self, name: str) -> bool:
        return name_key(name) == name_key(self.name)

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self, client: Client, welcome: Welcome) -> None:
        """Take over a logged-in client and start reading from it."""
        self._attach(client, welcome)
        threading.Thread(target=self._run, name="link", daemon=True).start()

    def on_end(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` when the link ends for good (from the link's thread), or now if it
        already has: a link can end before its front end gets round to listening."""
        with self._lock:
            ended = self.ended.is_set()
            if not ended:
                self._end_listeners.append(listener)
        if ended:
            listener()

    def leave(self) -> None:
        """Say goodbye and stop; no reconnecting after this."""
        self._leaving.set()
        client = self._client
        if client is not None:
            with contextlib.suppress(MessengerError):
                client.bye()

    # -- sending --------------------------------------------------------------------------------

    def send(self, frame: ClientFrame) -> bool:
        """Send ``frame``; False when there is no connection right now (nothing was sent)."""
        client = self._client
        if client is None:
            return False
        try:
            client.send(frame)
        except ConnectionClosed:
            return False
        return True

    def flush(self) -> bool:
        """Wait until the server has answered everything sent so far (it answers in order, so a
        ping's pong comes after every echo); False if the connection ended first."""
        client = self._client
        if client is None:
            return False
        token = f"messenger-flush-{next(self._tokens)}"
        self._answered.clear()
        self._awaited = token
        try:
            client.ping(token)
        except ConnectionClosed:
            return False
        while not self._answered.wait(0.5):
            pass
        return self._client is client

    # -- reading and reconnecting ---------------------------------------------------------------

    def _attach(self, client: Client, welcome: Welcome) -> None:
        self.name = welcome.user
        self.account = welcome.account
        with self._lock:
            self._users = {name_key(user): user for user in welcome.users}
            self._rooms = [LOBBY]  # a login starts in the lobby
        self._client = client
        self.view.status_changed()

    def _detach(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()
        self._answered.set()  # nobody waits for a pong that cannot come
        self.view.status_changed()

    def _run(self) -> None:
        try:
            while True:
                client = self._client
                assert client is not None
                self._read(client)
                self._detach()
                if (
                    self._leaving.is_set()
                    or self.replaced
                    or self.removed
                    or not self.options.reconnect
                    or not self._reconnect()
                ):
                    return
        except Exception as exc:  # a bug must end the session with a clear line, not a traceback
            log.debug("link failed", exc_info=True)
            self.lost = f"internal error: {exc!r}"
        finally:
            self._detach()
            with self._lock:
                self.ended.set()
                listeners = list(self._end_listeners)
            for listener in listeners:
                listener()

    def _read(self, client: Client) -> None:
        """Show frames until the connection ends; record why it did."""
        self.shutdown = None
        self.lost = None
        try:
            while True:
                incoming = client.receive_line()
                frame = incoming.frame
                if isinstance(frame, Pong) and self._awaited is not None and frame.token == self._awaited:
                    self._answered.set()  # our own flush marker: nothing to show
                    continue
                if isinstance(frame, Message):
                    if frame.history and frame.id <= self._replay_floor:
                        continue  # shown before the connection dropped
                    self.last_id = max(self.last_id, frame.id)
                self._track(frame)
                try:
                    self.view.show(incoming)
                except OSError as exc:  # our output is gone (``| head`` has what it wanted)
                    self.output_closed = exc
                    self.leave()
                    return
                if isinstance(frame, Shutdown):
                    self.shutdown = frame
                    return
                if isinstance(frame, Left) and frame.by is not None and self._is_me(frame.user):
                    self.removed = frame  # kicked or banned: reconnecting would undo an operator
                    return
                if isinstance(frame, Error) and frame.code == "replaced":
                    # Reconnecting would take the name back, and the other session would then
                    # take it again: whoever logged in last keeps it.
                    self.replaced = frame
                    return
        except MessengerError as exc:
            if not self._leaving.is_set():
                self.lost = str(exc)

    def _track(self, frame: object) -> None:
        """Keep the list of online users, our rooms and our own name current."""
        with self._lock:
            if isinstance(frame, Error):
                self.errors += 1
            elif isinstance(frame, Users):
                if frame.room is None:
                    self._users = {name_key(user): user for user in frame.users}
            elif isinstance(frame, Joined):
                self._users[name_key(frame.user)] = frame.user
                if self._is_me(frame.user):
                    room = room_of(frame)
                    if room not in self._rooms:  # a switch was already made when it was asked for
                        self._rooms.append(room)
                    self._known_rooms.add(room)
            elif isinstance(frame, Left):
                if frame.reason != LeaveReason.PART.value:
                    self._users.pop(name_key(frame.user), None)
                elif self._is_me(frame.user):
                    self._rooms = [r for r in self._rooms if r != room_of(frame)] or [LOBBY]
            elif isinstance(frame, Presence):  # a crowd's summary: names here now, names gone
                self._users.update((name_key(user), user) for user in frame.joined)
                if frame.room is None:  # gone from another room may be a part, still online
                    for user in frame.left:
                        self._users.pop(name_key(user), None)
            elif isinstance(frame, RoomList):
                self._known_rooms.update(info.room for info in frame.rooms)
            elif isinstance(frame, Renamed):
                self._users.pop(name_key(frame.old), None)
                self._users[name_key(frame.new)] = frame.new
                if self._is_me(frame.old):
                    self.name = frame.new
                    self._restoring = None
        if isinstance(frame, Error) and frame.re == "nick" and self._restoring is not None:
            wanted, self._restoring = self._restoring, None
            self.view.notice(f"Could not take back the name {wanted}; you are {self.name}.")

    def _reconnect(self) -> bool:
        """Log in again, with backoff, until it works (True), is refused, or we leave (False)."""
        if self.lost is not None:
            self.view.notice(f"Connection lost ({self.lost}).")
        host, port = self.options.host, self.options.port
        wanted = self.name
        while True:
            delay = self._backoff.next_delay()
            self.view.notice(f"Reconnecting to {host}:{port} in {delay:g} s (Ctrl+C to quit)…")
            if self._leaving.wait(delay):
                return False
            try:
                client, welcome = self._log_in_again(wanted)
            except LoginError as exc:
                if exc.code == "rate_limited":  # a busy server or a wait: not a refusal of us
                    self.view.notice(f"Not back yet: {exc}")
                    continue
                self.refused = exc
                return False
            except MessengerError as exc:
                self.view.notice(f"Not back yet: {exc}")
                continue
            if self._leaving.is_set():
                client.close()
                return False
            self._resume(client, welcome, wanted)
            return True

    def _log_in_again(self, wanted: str) -> tuple[Client, Welcome]:
        """Log in to our account under our current name (taking over only our own ghost); if
        that is refused (or the server predates ``account``), as the account, asking it back."""
        try:
            return open_client(self.options, wanted, account=self.account)
        except LoginError as exc:
            if self.account is None or exc.code not in ("name_taken", "name_registered", "bad_password"):
                raise
        return open_client(self.options, self.account)

    def _resume(self, client: Client, welcome: Welcome, wanted: str) -> None:
        """Carry on over a new login: show its welcome, ask for our name back if the account's
        name is not it, and go back into our rooms (the current one last)."""
        self._backoff.reset()
        self._replay_floor = self.last_id
        rooms = self.rooms()
        self.view.notice("Connected to the server!")
        self._attach(client, welcome)
        self.view.show(Incoming(client.welcome_line, welcome))
        with contextlib.suppress(ConnectionClosed):
            if name_key(wanted) != name_key(welcome.user):
                self._restoring = wanted
                client.nick(wanted)
            for room in rooms:
                if room != LOBBY:
                    client.join(room)

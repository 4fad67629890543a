"""The IRC port's connection: a LoopConnection (looped.py) whose protocol is the sans-I/O
``IRCConnection`` (protocol/irc/) instead of a ServerConnection.  The reader loop drives it as
any other (TLS step by step, flood control's pauses, a password check on a login worker, the
close); its events go to the same steps: a ``Request`` carries a client frame for the same
``on_<type>`` handlers as every front door (limits, moderation, accounts), ``Lines`` are the
layer's own answers, a ``SaslCheck`` is checked on a login worker like a password.  Only the
events the layer marks ``charge`` cost flood control's tokens.

Output goes through the ChatLog like everyone's: the outbox's mode is its variant's key
(ircout.IRCMode), kept up to date when the client changes its capabilities; a frame for this
connection alone is worded by ``IRCConnection.send``.  Every method runs in the loop thread,
except ``_perform`` of a login line or a SASL check (a login worker, the connection paused)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..core.accounts import Account
from ..core.members import Member
from ..protocol.connection import Event as LineEvent
from ..protocol.connection import Reply
from ..protocol.frames import LOBBY, Hello, Ping, Pong, ServerFrame
from ..protocol.irc import IRCConnection, Lines, Request, SaslCheck, variant_of
from ..protocol.moderation import Notice
from ..protocol.names import BadName, normalize_name
from . import ircout
from .delivery import Outbox
from .looped import DATABASE_STEPS, LoopConnection
from .pending import ACTING

if TYPE_CHECKING:
    from collections.abc import Sequence

log = logging.getLogger("messenger.server.handler")


class IRCLoopConnection(LoopConnection):
    """One IRC client in the reader loop (see the module's docstring)."""

    def setup(self) -> None:
        super().setup()
        config = self.server.config
        self.connection = IRCConnection(  # type: ignore[assignment]  # the same steps, IRC's words
            ircout.SERVER_NAME,
            ircout.NETWORK,
            history=config.history,
            motd=self.server.registry.motd,
            password_needed=config.password is not None or config.auth == "required",
            name=self._name,
            rooms=self._rooms,
            room_exists=self.server.registry.room_exists,
        )

    @property
    def irc(self) -> IRCConnection:
        return self.connection  # type: ignore[return-value]

    def _name(self) -> str | None:
        return self.member.name if self.member is not None else None

    def _rooms(self) -> Sequence[str]:
        return tuple(self.member.rooms) if self.member is not None else (LOBBY,)

    # -- input ------------------------------------------------------------------------------------

    def _needs_check(self, event: LineEvent) -> bool:  # type: ignore[override]
        """A SASL check, a login with a password, or a request whose step uses the database
        (looped.DATABASE_STEPS): on a login worker."""
        if isinstance(event, SaslCheck):
            return True
        if not isinstance(event, Request):
            return False
        if isinstance(event.frame, Hello):
            return event.frame.password is not None and not self.logged_in
        return type(event.frame) in DATABASE_STEPS and self.has_account()

    def _authenticate(
        self, name: str, password: str | None, account_only: bool = False
    ) -> tuple[str, Account | None] | None:
        """A login's check (login.LoginSteps), but a PASS that could only be refused is not used:
        on an open server without a password, for a name without an account.  Clients that
        always send PASS (bouncers) cannot take it back; the login goes as one without PASS
        would (``_without_password``, which looks the name up again), so a PASS never opens
        anything that no PASS would not."""
        if password is not None and not account_only and self._pass_unused(name):
            why = f"there is no account named {name}: your PASS is not used (you log in as a guest)"
            self.send(Notice(text=why))
            password = None
        return super()._authenticate(name, password, account_only)  # type: ignore[misc, no-any-return]

    def _pass_unused(self, name: str) -> bool:
        """Only on an open server with no password at all (any other setting: PASS counts)."""
        config, accounts = self.server.config, self.server.accounts
        if config.password is not None or config.auth != "open":
            return False
        return accounts is None or accounts.lookup(name) is None

    def _open(self) -> None:
        """The first line: the connection gets its Outbox (its mode: its variant's key) and Member."""
        encrypt = self.channel.encrypt if self.channel is not None else None
        outbox = Outbox(
            self.request, None, self.server.config.sendq, on_overflow=self.too_slow, encrypt=encrypt
        )
        outbox.irc = self.irc  # read by the outlet (ircout.py)
        self.server.chat_log.set_mode(outbox, ircout.IRCMode(variant_of(self.irc.caps)))
        self.server.chat_log.attach(outbox)
        self.outbox = outbox
        self.member = Member(link=outbox, address=self.address, shows_current_room=False)
        outbox.member = self.member

    def _perform(self, event: LineEvent) -> None:  # type: ignore[override]
        if self.outbox is None:
            self._open()
        ACTING.outbox = self.outbox  # the outlet's actor: who a frame's own copy and account are for
        try:
            if isinstance(event, Request) and isinstance(event.frame, Ping):
                self.answer(Reply(Pong(token=event.frame.token)))  # after what came before it
            elif isinstance(event, Request):
                self.dispatch(event.frame)
            elif isinstance(event, Lines):
                self.send_raw(event.data)
            elif isinstance(event, SaslCheck):
                self._sasl(event)
        finally:
            ACTING.outbox = None
        self._follow_caps()

    def _follow_caps(self) -> None:
        """The client changed its capabilities: its outbox takes its new variant's bytes."""
        assert self.outbox is not None
        mode = ircout.IRCMode(variant_of(self.irc.caps))
        if mode != self.outbox.mode:
            self.server.chat_log.set_mode(self.outbox, mode)

    def _sasl(self, event: SaslCheck) -> None:
        """SASL PLAIN: the account's password, under the address's limit on failed logins and
        the check gate, as a login's (login.LoginSteps._authenticate).  The one check: the
        account proved is kept (``proved``), and the login names it without its password."""
        limits, address = self.server.limits, self.client_address[0]
        account: str | None = None
        try:
            name = normalize_name(event.account)
        except BadName:
            name = None
        if name is not None and not limits.failures_exceeded(address) and limits.reserve_attempt(address):
            checked, verdict = self.server.password_checks.run(
                lambda: self._check_password(name, event.password, account_only=True), since=self.check_since
            )
            if not checked or verdict is not None:
                limits.give_back(address)
            if verdict is not None and verdict[1] is not None:
                account = verdict[1].name
                self.proved = verdict[1]  # the login that follows checks it no more
        if account is None:
            log.info("failed SASL login from %s", self.address)
        self.send_raw(self.irc.sasl_outcome(account).data)

    # -- output -----------------------------------------------------------------------------------

    def send(self, frame: ServerFrame) -> None:
        outbox = self.outbox
        assert outbox is not None
        self.server.chat_log.append(ircout.direct(outbox, frame), [outbox])

    def send_raw(self, data: bytes) -> None:
        outbox = self.outbox
        assert outbox is not None
        if data:
            self.server.chat_log.append(ircout.raw(outbox, data), [outbox])

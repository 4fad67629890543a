"""The login steps of a connection: ``hello``, the password checks (accounts, ``--auth``, the
server password, the per-address limit on failures) and who may take which name with
``nick``.  A mixin of ChatConnection; it uses the handler's fields (declared below) and its
``error``, ``answer`` and ``close``; it tells the handler's ServerConnection how a login went."""

from __future__ import annotations

import hmac
import logging
from typing import TYPE_CHECKING

from ..core.accounts import Account, check_password
from ..core.members import Member, NameTaken, ServerFull
from ..core.moderating import Banned
from ..protocol.connection import ServerConnection
from ..protocol.frames import ErrorCode, Hello
from ..protocol.names import BadName, name_key, normalize_name
from .config import HISTORY_MAX

if TYPE_CHECKING:
    from .tcp import ChatServer

log = logging.getLogger(__name__)


class LoginSteps:
    """ChatConnection's login methods."""

    server: ChatServer
    client_address: tuple[str, int]
    member: Member | None
    account: Account | None
    connection: ServerConnection
    history_wanted: int
    address: str
    check_since: float | None
    # An account whose password this connection has already proved (SASL, checked on a login
    # worker by the IRC port): its login needs no second check.  Set by the transport only.
    proved: Account | None = None

    def on_hello(self, frame: Hello) -> None:
        assert self.member is not None
        if self.connection.logged_in:
            self.error(ErrorCode.ALREADY_LOGGED_IN, f"already logged in as {self.member.name}", "hello")
            return
        verdict = self._login_verdict(frame)
        if verdict is None:
            return
        name, account, replace = verdict
        wanted = self.server.config.history if frame.history is None else frame.history
        # What the client asked for on login also applies when it joins a room.
        self.history_wanted = min(wanted, HISTORY_MAX)
        self.member.account = account.name if account is not None else None
        self.member.wants_presence = frame.presence is True
        if account is not None:
            self.member.history_key = account.key  # its private history is the account's
            self.member.role = account.role.value
            # The names it ignores, kept for its account; taken up under the registry's lock.
            ignored = self.server.moderation.ignores.ignored(account.key)
            self.member.ignoring = {name_key(ignored_name) for ignored_name in ignored}
        try:
            self.server.registry.join(
                self.member,
                name,
                history=self.history_wanted,
                replace=replace,
                replace_account=self.member.account,
            )
        except NameTaken:
            self.error(ErrorCode.NAME_TAKEN, f"the name {name} is taken; try another", "hello")
            return
        except Banned as exc:
            log.info("banned login as %s from %s refused", name, self.address)
            self.error(ErrorCode.BANNED, f"{exc}; log in under another name", "hello")
            return
        except ServerFull:
            self.error(ErrorCode.SERVER_FULL, "the server is full; try again later", "hello")
            self.close()
            return
        self.account = account
        self.connection.accept_login()
        self.server.settled(self)  # type: ignore[arg-type]  # a ChatConnection's mixin
        self.server.reader_stats.logged_in()
        log.info("%s logged in from %s (%s mode)", name, self.address, self.member.link.mode.value)

    def _login_verdict(self, frame: Hello) -> tuple[str, Account | None, bool] | None:
        """The name a ``hello`` logs in as, the account it proved, and whether it may take the
        name over from any holder (its own account's name); None when refused (answered).
        With ``account``, the password is that account's and ``user`` must be a name the
        account may hold (as for ``nick``)."""
        try:
            name = normalize_name(frame.user)
            account_name = None if frame.account is None else normalize_name(frame.account)
        except BadName as exc:
            self.error(ErrorCode.BAD_NAME, f"bad name: {exc}; try another", "hello")
            return None
        if account_name is None:
            verdict = self._authenticate(name, frame.password)
            return None if verdict is None else (verdict[0], verdict[1], verdict[1] is not None)
        verdict = self._already_proved(account_name)
        if verdict is None:
            verdict = self._authenticate(account_name, frame.password, account_only=True)
        if verdict is None:
            return None
        account = verdict[1]
        assert account is not None
        allowed = self._name_allowed(name, account, "hello")
        if allowed is None:
            return None
        return allowed, account, allowed == account.name

    def _already_proved(self, account_name: str) -> tuple[str, Account] | None:
        """The account ``account_name`` when this connection proved its password already and
        it is still the same registration (not removed, nor removed and made again since)."""
        proved, accounts = self.proved, self.server.accounts
        if proved is None or accounts is None or name_key(account_name) != proved.key:
            return None
        account = accounts.lookup(account_name)
        return (account.name, account) if account is not None and account == proved else None

    def _authenticate(
        self, name: str, password: str | None, account_only: bool = False
    ) -> tuple[str, Account | None] | None:
        """Check a login.  Returns the name to log in as (a registered name as it was registered,
        however it was typed) and the account whose password was given (it may then take the
        name over), or None when refused (the error is sent).  An attempt with a password is
        counted against the address's limit before it is checked, and given back if right.
        With ``account_only`` only an account's password will do (not the server's).
        Passwords are never logged or echoed."""
        limits, address = self.server.limits, self.client_address[0]
        exceeded = limits.failures_exceeded(address)
        if exceeded or (password is not None and not limits.reserve_attempt(address)):
            self.error(
                ErrorCode.RATE_LIMITED, "too many failed logins from your address; wait a minute", "hello"
            )
            return None
        if password is None and account_only:
            self.error(ErrorCode.PASSWORD_REQUIRED, "logging in to an account needs its password", "hello")
            return None
        if password is None:
            return self._without_password(name)
        checked, verdict = self.server.password_checks.run(
            lambda: self._check_password(name, password, account_only), since=self.check_since
        )
        if not checked:
            limits.give_back(address)
            self.error(ErrorCode.RATE_LIMITED, "the server is busy with other logins; try again", "hello")
            return None
        if verdict is None:
            return self._refuse_login(name)
        limits.give_back(address)
        return verdict

    def _check_password(
        self, name: str, password: str, account_only: bool = False
    ) -> tuple[str, Account | None] | None:
        """The login ``password`` allows as ``name``, or None.  A registered name needs its own
        password; under ``--auth required`` an unknown name costs the same check, against a
        hash nothing matches.  The server's password counts unless ``account_only``."""
        server, config = self.server, self.server.config
        accounts = server.accounts
        account = accounts.lookup(name) if accounts is not None else None
        if account is not None or config.auth == "required":
            if accounts is None:  # nobody can log in, but the refusal costs the same
                check_password(password, None)
                return None
            right = accounts.verify(name, password)
            return (account.name, account) if right and account is not None else None
        if (
            not account_only
            and config.password is not None
            and hmac.compare_digest(password.encode("utf-8"), config.password.encode("utf-8"))
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
        """Ask for the password as the connection's mode does (text mode: on the next line)."""
        self.answer(self.connection.ask_password(name, why))
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

    def _name_allowed(self, name: str, own: Account | None, re: str) -> str | None:
        """The name a ``nick`` (or a ``hello`` with ``account``) may take for a connection that
        proved the account ``own`` (a registered name as registered), or None (refused with
        ``name_registered``, sent): a registered name is held only by a connection that gave
        its password (compared as the registry compares names, so case and lookalikes count),
        and under ``--auth required`` no name but one's account's is held at all."""
        accounts = self.server.accounts
        account = accounts.lookup(name) if accounts is not None else None
        if account is not None and account == own:  # the same key and registration
            return account.name
        if account is not None:
            why = f"{account.name} is a registered name; log in with its password to use it"
        elif self.server.config.auth == "required":
            why = f"only registered names are used here; {name} is not one"
        else:
            return name
        self.error(ErrorCode.NAME_REGISTERED, why, re)
        return None

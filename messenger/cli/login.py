"""Getting a client logged in, for ``connect`` and ``send``: the password from a file or the
environment, the TLS context, and the login itself, asking a person at a terminal for what the
server wants."""

from __future__ import annotations

import contextlib
import ssl
from dataclasses import replace

from rich.console import Console
from rich.text import Text

from ..client import Client, LoginError, MessengerError, NameTaken
from ..client.session import LinkOptions
from ..protocol import Welcome, for_terminal
from ..tls import TLSError, client_context
from ..ui.render import ERROR_STYLE
from .env import Environment, ask_password, ask_username, fail
from .options import unreadable


def read_password_option(env: Environment, password_file: str | None) -> str | None:
    """The password from --password-file (its first line) or MESSENGER_PASSWORD, if any; an
    empty one is refused here, before it could be sent and counted as a failed login."""
    if password_file is not None:
        try:
            with open(password_file, encoding="utf-8") as file:
                password = file.readline().rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            reason = unreadable(password_file) or getattr(exc, "strerror", None) or str(exc)
            raise fail(f"cannot read the password file {password_file}: {reason}") from None
        if not password:
            raise fail(f"the password file {password_file} is empty (its first line is the password)")
        return password
    password = env.environ.get("MESSENGER_PASSWORD")
    if password == "":
        raise fail("MESSENGER_PASSWORD is set but empty; set it to the password, or unset it")
    return password


def tls_for(tls: bool, cafile: str | None, insecure: bool, err: Console) -> ssl.SSLContext | None:
    """The client's TLS context, if any; ``--insecure`` says loudly what it gives up."""
    if not (tls or cafile or insecure):
        return None
    if insecure:
        err.print(
            Text(
                "warning: --insecure: the server's certificate is not checked, so anyone on the "
                "network path can pretend to be the server and read or change this chat",
                style="bold yellow",
            )
        )
    reason = unreadable(cafile) if cafile is not None else None
    if reason is not None:
        raise fail(f"cannot read the CA file {cafile}: {reason}")
    try:
        return client_context(cafile, insecure)
    except TLSError as exc:
        raise fail(str(exc)) from None


def log_in(
    env: Environment, options: LinkOptions, user: str | None, interactive: bool, err: Console
) -> tuple[Client, Welcome, LinkOptions]:
    """Connect and log in; a person at a terminal is asked for a password the server wants (without
    echo), and, without --user, for another name after a refused one.  Returns the options with
    the password that worked, for logging in again after a reconnect."""
    name = user if user is not None else ask_username(env, err)
    password = options.password
    client = Client.connect(
        options.host, options.port, timeout=options.timeout, max_line=options.max_line, tls=options.tls
    )
    while True:
        try:
            welcome = client.login(name, history=options.history, password=password, timeout=options.timeout)
            return client, welcome, replace(options, password=password)
        except LoginError as exc:
            wants_password = exc.code in ("password_required", "bad_password")
            if wants_password and interactive:
                if exc.code == "bad_password":
                    err.print(Text(f"error: {for_terminal(str(exc))}", style=ERROR_STYLE))
                password = ask_password(env, f"Password for {name}: ")
                continue
            if user is not None or not interactive:
                client.close()
                raise LoginError(exc.code, _login_failure(exc, name)) from None
            err.print(Text(f"error: {for_terminal(str(exc))}", style=ERROR_STYLE))
            name = ask_username(env, err)
        except KeyboardInterrupt:
            with contextlib.suppress(MessengerError):
                client.bye()  # the login may have gone through: leave cleanly
            client.close()
            raise
        except BaseException:
            client.close()
            raise


def _login_failure(exc: LoginError, name: str) -> str:
    if isinstance(exc, NameTaken):
        return f"the name {name!r} is taken; choose another with --user"
    if exc.code == "password_required":
        return f"{exc}; give it with --password-file FILE or MESSENGER_PASSWORD"
    return f"login refused: {exc}"

"""IRC clients, for comparing messenger with ngircd (``--server ngircd``), and for messenger's
own IRC port (``--transport irc``; the channel is messenger's lobby, which every member is in).

An IRC client registers (NICK, USER), joins one channel and, as a sender, sends each message
line as ``PRIVMSG #lobby :m <send_ns> <sender> <seq> <padding>``.  ngircd relays it to every
other member as ``:c12!~c12@127.0.0.1 PRIVMSG #lobby :m ...``, so ``IRC_MARKER`` occurs once
per delivered message, like ``": m "`` in messenger's text mode.  IRC sends nobody their own
message back, so an IRC sender expects no echoes.

A sender also becomes an IRC operator and sets user mode ``+F``: without it ngircd throttles any
client that sends more than 256 bytes in a second (one second of penalty each time), which would
measure the flood control, not the fan-out.  Receivers send nothing after joining.
"""

from __future__ import annotations

import os
import socket
import time

from fanbench.clients import Client, LoginFailed, Parser, Sender
from fanbench.config import LOGIN_BUFFER_LIMIT, PROBE, RECV_SIZE, SENDER, ClientSpec, Config

IRC_MARKER = b" :m "
CHANNEL = b"#lobby"
OPERATOR = (b"bench", b"bench")  # name and password of the [Operator] block in ngircd.conf
# Replies that end a login (the command field of ":server NNN ..."): a refused nickname,
# registration, password or channel.  An ERROR line (the server closes the link) does too.
LOGIN_ERRORS = {b"432", b"433", b"436", b"451", b"464", b"471", b"473"}


def refusal(line: bytes) -> bool:
    """Whether ``line`` refuses the login (only its command field counts: numbers also occur
    in the text of harmless replies, "Highest connection count: 433")."""
    parts = line.split(b" ", 2)
    return line.startswith(b"ERROR ") or (len(parts) > 1 and parts[1] in LOGIN_ERRORS)


def login_lines(spec: ClientSpec, operator: bool) -> bytes:
    """Register, (for a sender) become an operator exempt from flood control, join."""
    name = spec.name
    lines = [b"NICK " + name, b"USER " + name + b" 0 * :" + name]
    if operator:
        lines += [b"OPER " + b" ".join(OPERATOR), b"MODE " + name + b" +F"]
    lines.append(b"JOIN " + CHANNEL)
    return b"".join(line + b"\r\n" for line in lines)


class IrcTransport(Client):
    """Login and marker of an IRC client; counting and parsing are the line-based ones."""

    marker = IRC_MARKER
    _scanned = 0  # bytes of the login buffer already searched for our own JOIN

    def finish_connect(self) -> None:
        assert self.sock is not None
        err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            raise LoginFailed(f"connect: {os.strerror(err)}")
        self.sock.sendall(login_lines(self.spec, operator=isinstance(self, Sender)))

    def read_login(self) -> bool:
        """Read until our own ``:c<i>!... JOIN`` line; True once it has arrived."""
        assert self.sock is not None
        data = self.sock.recv(RECV_SIZE)
        if not data:
            raise LoginFailed("closed by the server before the JOIN")
        self._login_buffer += data
        own = b":" + self.spec.name + b"!"
        end = self._login_buffer.rfind(b"\n") + 1
        for line in bytes(self._login_buffer[self._scanned : end]).split(b"\n")[:-1]:
            self._scanned += len(line) + 1
            if line.startswith(own) and b" JOIN " in line and line.rstrip().endswith(CHANNEL):
                rest = bytes(self._login_buffer[self._scanned :])
                self._login_buffer = bytearray()
                self.logged_in = True
                self.feed(rest, time.monotonic_ns())
                return True
            if refusal(line):
                raise LoginFailed("server said: " + line.strip().decode("utf-8", "replace"))
        self._scanned = end
        if len(self._login_buffer) > LOGIN_BUFFER_LIMIT:
            raise LoginFailed("no JOIN")
        return False


class IrcClient(IrcTransport, Client):
    """A counting receiver on IRC."""


class IrcParser(IrcTransport, Parser):
    """A probe on IRC."""


class IrcSender(IrcTransport, Sender):
    """A sender on IRC: each message line as a PRIVMSG to the channel; no echoes come back."""

    def message(self, now_ns: int) -> bytes:
        line = super().message(now_ns)
        return b"PRIVMSG " + CHANNEL + b" :" + line[:-1] + b"\r\n"

    @property
    def complete(self) -> bool:
        return self.delivered >= self.owed


def make_irc_client(spec: ClientSpec, port: int, config: Config) -> Client:
    """The IRC Client class for the spec's role."""
    if spec.role == SENDER:
        return IrcSender(spec, port, config)
    owed = config.expected_echoes  # S × M: every message of every sender
    return (IrcParser if spec.role == PROBE else IrcClient)(spec, port, owed)

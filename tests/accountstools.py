"""What the accounts tests share: the password they register, and a library client connected
(not yet logged in) to a server on loopback."""

from __future__ import annotations

from messenger.client import Client

from .clitools import WAIT

PASSWORD = "correct horse battery staple"


def connect(port: int) -> Client:
    return Client.connect("127.0.0.1", port, timeout=WAIT)

"""``messenger serve``'s IRC options, in a real subprocess: the banner says where IRC listens,
an IRC client and a JSON client chat there, IRC over TLS needs the certificate."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme

from .clitools import ServeProcess, cli_env, run_cli
from .conftest import RawClient
from .ircport import IRCRaw

pytestmark = pytest.mark.timeout(25)


def test_serve_with_an_irc_port(serve) -> None:
    server = serve("--port", "0", "--no-web", "--irc-port", "0")
    assert set(server.irc) == {"IRC"}
    ivy = IRCRaw(server.irc["IRC"])
    ivy.register("ivy")
    jay = RawClient(server.port)
    jay.send_json({"type": "hello", "user": "jay", "history": 0})
    jay.send_json({"type": "say", "text": "hi ivy"})
    assert ivy.command("PRIVMSG")[-1] == ":jay!~m@messenger PRIVMSG #lobby :hi ivy"
    ivy.close()
    jay.close()


def test_the_irc_port_from_the_environment_and_over_tls(tmp_path: Path) -> None:
    issued = trustme.CA().issue_cert("127.0.0.1")
    cert, key = tmp_path / "server.crt", tmp_path / "server.key"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    env = cli_env(MESSENGER_IRC_PORT="0", MESSENGER_IRC_TLS_PORT="0")
    server = ServeProcess("--port", "0", "--no-web", "--tls-cert", str(cert), "--tls-key", str(key), env=env)
    try:
        assert set(server.irc) == {"IRC", "IRC over TLS"}
        plain = IRCRaw(server.irc["IRC"])  # plain beside a TLS chat port
        plain.register("plain")
        plain.close()
    finally:
        server.stop()


def test_irc_over_tls_without_a_certificate_is_a_usage_error() -> None:
    result = run_cli("serve", "--db", ":memory:", "--irc-tls-port", "6697")
    assert result.returncode == 2
    assert "--irc-tls-port" in result.stderr and "--tls-cert" in result.stderr

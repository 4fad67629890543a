"""``messenger serve --redis`` processes and ``messenger users --redis``: an account registered
with the command protects its name on every node and every front door (IRC too), and its
owner logging in on another node (through the web page) takes over their IRC session there."""

from __future__ import annotations

from ..clitools import ServeProcess
from ..ircport import IRCRaw, command_of
from ..webclient import WsClient
from .redistools import RedisServer
from .sharedtools import PASSWORD, users


def irc_node(children: list[ServeProcess], redis: RedisServer, name: str, *web: str) -> ServeProcess:
    """A node with an IRC port, and a web page unless ``web`` is ``--no-web``."""
    child = ServeProcess(
        "--port", "0", *web, "--irc-port", "0", "--node", name, env={"MESSENGER_REDIS": redis.url}
    )  # fmt: skip
    children.append(child)
    return child


def test_an_account_from_the_command_line_holds_on_every_node_and_front_door(
    redis_server: RedisServer, children: list[ServeProcess]
) -> None:
    added = users("add", "alice", "--role", "op", "--redis", redis_server.url, input=PASSWORD + "\n")
    assert added == (0, "")
    # (registered before the nodes start: each reads the accounts then, not a moment later)
    one, two = irc_node(children, redis_server, "one", "--no-web"), irc_node(children, redis_server, "two")
    guest = IRCRaw(two.irc["IRC"])
    guest.send("NICK Alice")  # at registration, without the password: refused
    guest.send("USER x 0 * :x")
    assert command_of(guest.command("433")[-1]) == "433"
    guest.send("NICK zed")
    guest.command("366")
    for nick in ("alice", "ALICE"):  # nor by NICK later, in any case
        guest.send(f"NICK {nick}")
        assert command_of(guest.command("433")[-1]) == "433"
    alice_irc = IRCRaw(one.irc["IRC"])
    alice_irc.register("alice", f"PASS :{PASSWORD}")  # the account's password
    assert two.web_url is not None
    page = two.web_url.rstrip("/")
    web_port = int(page.rsplit(":", 1)[1])
    web_guest = WsClient(web_port, origin=page)  # the web page's guests may not take it either
    web_guest.send_json({"type": "hello", "user": "Alice", "history": 0})
    assert web_guest.frame()["code"] == "password_required"
    web_guest.close()
    alice = WsClient(web_port, origin=page)
    assert alice.login("alice", password=PASSWORD)["account"] == "alice"
    error = alice_irc.command("ERROR")[-1]  # taken over on the other node: told, then closed
    assert "elsewhere" in error
    guest.send("WHOIS alice")
    lines = guest.command("318")
    assert any(command_of(line) == "311" for line in lines)  # alice is online, on two now
    assert any(command_of(line) == "313" for line in lines)  # an operator, as registered
    alice.close()
    guest.close()
    alice_irc.close()

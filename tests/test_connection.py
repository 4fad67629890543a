"""ServerConnection, one connection's protocol state machine: bytes in, events out, no sockets.

The server-level tests (test_server_*.py, test_accounts.py, test_rooms.py ...) check the same
behaviour end to end over loopback; these pin down each decision of the state machine itself,
including inputs that are awkward to produce through a socket (a line split inside a UTF-8
character, a CR and its LF in two reads).
"""

from __future__ import annotations

import pytest

from messenger.protocol import (
    EOF,
    LOBBY,
    NEED_DATA,
    TEXT_HELP,
    Bye,
    Error,
    ErrorCode,
    Hello,
    HistoryRequest,
    Ignored,
    Join,
    Me,
    Mode,
    Nick,
    Part,
    Pong,
    RawText,
    Reply,
    Request,
    Say,
    ServerConnection,
    Who,
)
from messenger.protocol.connection import Event

MAX_LINE = 64


def events(conn: ServerConnection, data: bytes) -> list[Event]:
    """Feed ``data`` (``b""``: EOF) and collect every event up to NEED_DATA or EOF (the last one
    included)."""
    conn.receive_data(data)
    out: list[Event] = []
    while True:
        event = conn.next_event()
        out.append(event)
        if event is NEED_DATA or event is EOF:
            return out


def one(conn: ServerConnection, line: bytes) -> Event:
    """The single event a complete line gives."""
    got = events(conn, line)
    assert got[-1] is NEED_DATA and len(got) == 2, got
    return got[0]


def error(code: ErrorCode, message: str, re: str | None = None) -> Reply:
    return Reply(Error(code=code.value, message=message, re=re))


def text_conn(room: str = LOBBY, registered: frozenset[str] = frozenset()) -> ServerConnection:
    """A text-mode connection, logged in, whose current room is ``room``."""
    conn = ServerConnection(MAX_LINE, lambda name: name in registered, lambda: room)
    assert one(conn, b"alice\n") == Request(Hello(user="alice"))
    conn.accept_login()
    return conn


def json_conn() -> ServerConnection:
    conn = ServerConnection(MAX_LINE)
    assert one(conn, b'{"type":"hello","user":"alice"}\n') == Request(Hello(user="alice"))
    conn.accept_login()
    return conn


# -- bytes in -------------------------------------------------------------------------------


def feed(chunks: list[bytes]) -> list[Event]:
    """The events of a JSON stream fed in ``chunks``, the login accepted as soon as asked for."""
    conn = ServerConnection(MAX_LINE)
    out: list[Event] = []
    for chunk in chunks:
        conn.receive_data(chunk)
        while (event := conn.next_event()) is not NEED_DATA:
            out.append(event)
            if isinstance(event, Request) and isinstance(event.frame, Hello):
                conn.accept_login()
    return out


def test_bytes_split_anywhere_give_the_same_events() -> None:
    """Cut in two at every byte (inside a UTF-8 character, between CR and LF) or fed one byte at
    a time, a stream gives the events it gives when fed whole."""
    stream = '{"type":"hello","user":"zoë"}\r\n{"type":"say","text":"h€llo"}\n'.encode()
    expected = [Request(Hello(user="zoë")), Request(Say(text="h€llo"))]
    assert feed([stream]) == expected
    assert feed([stream[i : i + 1] for i in range(len(stream))]) == expected
    for cut in range(1, len(stream)):
        assert feed([stream[:cut], stream[cut:]]) == expected, cut


def test_every_line_gives_exactly_one_event() -> None:
    """So the transport can count lines against flood control by counting events."""
    conn = text_conn()
    got = events(conn, b"hi\n\n/help\n/nope\n" + b"x" * 100 + b"\n\xff\n/ping\n")
    assert got[-1] is NEED_DATA
    assert [type(event) for event in got[:-1]] == [Request, Ignored, RawText, Reply, Reply, Reply, Reply]


def test_eof_after_the_last_line_and_an_unfinished_line_is_dropped() -> None:
    conn = json_conn()
    conn.receive_data(b'{"type":"ping"}\n{"type":"say","te')
    assert conn.next_event() == Reply(Pong())
    assert conn.next_event() is NEED_DATA
    conn.receive_data(b"")
    assert conn.next_event() is EOF


def test_eof_before_any_line_leaves_the_mode_unset() -> None:
    conn = ServerConnection(MAX_LINE)
    assert events(conn, b"") == [EOF]
    assert conn.mode is None and not conn.logged_in


# -- the mode --------------------------------------------------------------------------------


def test_the_first_line_fixes_the_mode_for_good() -> None:
    text = ServerConnection(MAX_LINE)
    assert one(text, b"alice\n") == Request(Hello(user="alice"))
    assert text.mode is Mode.TEXT
    text.accept_login()
    # A JSON line on a text connection is a chat line like any other.
    assert one(text, b'{"type":"who"}\n') == Request(Say(text='{"type":"who"}'))
    json = ServerConnection(MAX_LINE)
    assert one(json, b'{"type":"hello","user":"bob"}\n') == Request(Hello(user="bob"))
    assert json.mode is Mode.JSON
    json.accept_login()
    reply = one(json, b"/who\n")
    assert isinstance(reply, Reply) and isinstance(reply.frame, Error)
    assert reply.frame.code == ErrorCode.BAD_JSON.value


@pytest.mark.parametrize(
    ("first", "mode"),
    [(b"{" + b"a" * 100 + b"\n", Mode.JSON), (b"a" * 100 + b"\n", Mode.TEXT), (b"{\xff\n", Mode.JSON)],
)
def test_a_refused_first_line_still_fixes_the_mode(first: bytes, mode: Mode) -> None:
    conn = ServerConnection(MAX_LINE)
    reply = one(conn, first)
    assert isinstance(reply, Reply) and isinstance(reply.frame, Error)
    assert reply.frame.code in {ErrorCode.TOO_LONG.value, ErrorCode.BAD_ENCODING.value}
    assert conn.mode is mode


# -- the login gate --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        (b'{"type":"say","text":"hi"}', "say"),
        (b'{"type":"say","text":" "}', "say"),  # the gate comes before the blank check
        (b'{"type":"me","text":"waves"}', "me"),
        (b'{"type":"who"}', "who"),
        (b'{"type":"nick","user":"bob"}', "nick"),
        (b'{"type":"join","room":"#ops"}', "join"),
        (b'{"type":"part","room":"#ops"}', "part"),
        (b'{"type":"rooms"}', "rooms"),
        (b'{"type":"history"}', "history"),
        (b'{"type":"ping","token":"t"}', "ping"),
    ],
)
def test_nothing_but_hello_and_bye_before_login(line: bytes, kind: str) -> None:
    refused = error(ErrorCode.NOT_LOGGED_IN, "log in first with a 'hello' frame", kind)
    assert one(ServerConnection(MAX_LINE), line + b"\n") == refused


def test_bye_passes_the_gate_and_hello_waits_for_the_server() -> None:
    conn = ServerConnection(MAX_LINE)
    assert one(conn, b'{"type":"hello","user":"alice"}\n') == Request(Hello(user="alice"))
    assert not conn.logged_in  # until the server says so
    assert one(conn, b'{"type":"bye"}\n') == Request(Bye())
    conn.accept_login()
    assert conn.logged_in
    assert one(conn, b'{"type":"who"}\n') == Request(Who())


def test_a_text_line_before_login_is_the_name_whatever_it_holds() -> None:
    conn = ServerConnection(MAX_LINE)
    for line in ("/help", "/quit", "bob smith", "", "  spaced  "):
        assert one(conn, line.encode() + b"\n") == Request(Hello(user=line))


# -- passwords -------------------------------------------------------------------------------


def test_text_name_and_password_on_one_line_where_one_is_expected() -> None:
    asked: list[str] = []

    def expects(name: str) -> bool:
        asked.append(name)
        return name == "carol"

    conn = ServerConnection(MAX_LINE, expects)
    assert one(conn, b"carol  s3cret pass \n") == Request(Hello(user="carol", password="s3cret pass"))
    assert one(conn, b"bob smith\n") == Request(Hello(user="bob smith"))  # bob needs none
    assert one(conn, b"carol\n") == Request(Hello(user="carol"))  # no password given
    assert asked == ["carol", "bob"]


def test_text_two_line_password_prompt() -> None:
    conn = ServerConnection(MAX_LINE)
    assert one(conn, b"carol\n") == Request(Hello(user="carol"))
    prompt = conn.ask_password("carol", "carol is a registered name: log in with its password")
    assert prompt == RawText(
        "carol is a registered name: log in with its password;"
        " type it on the next line (it is shown as you type):\n"
    )
    assert conn.awaiting_password == "carol"
    # The next line is the password, taken as it is, whatever it looks like.
    assert one(conn, b"/quit me \n") == Request(Hello(user="carol", password="/quit me "))
    assert conn.awaiting_password is None
    # Refused (the server did not accept the login): the line after is a name again.
    assert one(conn, b"dave\n") == Request(Hello(user="dave"))


def test_a_bad_line_does_not_consume_the_awaited_password() -> None:
    conn = ServerConnection(MAX_LINE)
    one(conn, b"carol\n")
    conn.ask_password("carol", "this server needs a password")
    assert one(conn, b"\xff\n") == error(ErrorCode.BAD_ENCODING, "line is not valid UTF-8; it was discarded")
    assert one(conn, b"pw\n") == Request(Hello(user="carol", password="pw"))


def test_json_password_prompt_is_an_error_frame() -> None:
    conn = ServerConnection(MAX_LINE)
    one(conn, b'{"type":"hello","user":"carol"}\n')
    why = "carol is a registered name: log in with its password"
    assert conn.ask_password("carol", why) == error(ErrorCode.PASSWORD_REQUIRED, why, "hello")
    assert conn.awaiting_password is None
    hello = b'{"type":"hello","user":"carol","password":"pw"}\n'
    assert one(conn, hello) == Request(Hello(user="carol", password="pw"))


# -- text commands ---------------------------------------------------------------------------


def test_help_is_the_text_of_the_command_table() -> None:
    conn = text_conn()
    assert one(conn, b"/help\n") == RawText("".join(f"{line}\n" for line in TEXT_HELP))
    assert one(conn, b"/HELP extra\n") == RawText("".join(f"{line}\n" for line in TEXT_HELP))


def test_unknown_command_and_bad_usage() -> None:
    conn = text_conn()
    assert one(conn, b"/frobnicate now\n") == error(
        ErrorCode.UNKNOWN_COMMAND, "unknown command /frobnicate; type /help for commands"
    )
    assert one(conn, b"/msg bob\n") == error(ErrorCode.BAD_FRAME, "usage: /msg NAME TEXT", "say")
    assert one(conn, b"//not a command\n") == Request(Say(text="/not a command"))


def test_text_lines_go_to_the_current_room() -> None:
    conn = text_conn(room="#ops")
    assert one(conn, b"hi\n") == Request(Say(text="hi", room="#ops"))
    assert one(conn, b"/me waves\n") == Request(Me(text="waves", room="#ops"))
    assert one(conn, b"/part\n") == Request(Part(room="#ops"))
    assert one(conn, b"/history 5\n") == Request(HistoryRequest(limit=5, room="#ops"))
    assert one(conn, b"/msg bob psst\n") == Request(Say(text="psst", to="bob"))
    assert one(conn, b"/join #dev\n") == Request(Join(room="#dev"))
    assert one(conn, b"/nick bobby\n") == Request(Nick(user="bobby"))


def test_the_current_room_is_asked_on_every_line() -> None:
    rooms = ["#a", "#b"]
    conn = ServerConnection(MAX_LINE, current_room=lambda: rooms[0])
    one(conn, b"alice\n")
    conn.accept_login()
    assert one(conn, b"one\n") == Request(Say(text="one", room="#a"))
    rooms.pop(0)  # the core switched the room (a /part, say)
    assert one(conn, b"two\n") == Request(Say(text="two", room="#b"))


# -- messages --------------------------------------------------------------------------------


def test_blank_text_lines_ask_for_nothing() -> None:
    conn = text_conn()
    for line in (b"\n", b"   \n", b"\r\n", b"\x01\x1b\n", b"/me \x07\n", b"/msg bob \x7f\n"):
        assert one(conn, line) == Ignored(), line


def test_blank_json_messages_are_answered() -> None:
    conn = json_conn()
    empty = "empty message not sent"
    assert one(conn, b'{"type":"say","text":"  "}\n') == error(ErrorCode.EMPTY, empty, "say")
    assert one(conn, b'{"type":"me","text":"\\u001b"}\n') == error(ErrorCode.EMPTY, empty, "me")
    assert one(conn, b'{"type":"say","text":"","to":"bob"}\n') == error(ErrorCode.EMPTY, empty, "say")


def test_message_text_is_sanitised_before_the_server_sees_it() -> None:
    conn = json_conn()
    line = b'{"type":"say","text":"a\\u001b[31mb\\tc"}\n'
    assert one(conn, line) == Request(Say(text="a[31mb\tc"))
    assert one(text_conn(), b"x\x1b[2Jy\n") == Request(Say(text="x[2Jy"))


def test_ping_is_answered_by_the_connection() -> None:
    assert one(json_conn(), b'{"type":"ping","token":"t1"}\n') == Reply(Pong(token="t1"))
    assert one(text_conn(), b"/ping t2\n") == Reply(Pong(token="t2"))


# -- lines that are not frames ---------------------------------------------------------------


def test_a_too_long_line_is_answered_once_and_the_next_line_is_read() -> None:
    conn = json_conn()
    message = f"line longer than {MAX_LINE} bytes; it was discarded"
    got = events(conn, b"x" * (MAX_LINE * 3))
    assert got == [error(ErrorCode.TOO_LONG, message), NEED_DATA]
    assert events(conn, b"x" * MAX_LINE) == [NEED_DATA]  # still being discarded, no second error
    assert one(conn, b'\n{"type":"who"}\n') == Request(Who())


def test_bad_utf8_is_answered_and_the_next_line_is_read() -> None:
    conn = text_conn()
    message = "line is not valid UTF-8; it was discarded"
    assert one(conn, b"caf\xc3\n") == error(ErrorCode.BAD_ENCODING, message)
    assert one(conn, b"caf\xc3\xa9\n") == Request(Say(text="café"))


@pytest.mark.parametrize(
    ("line", "code", "re"),
    [
        (b"{not json", ErrorCode.BAD_JSON, None),
        (b'{"type":"say","text":"hi"', ErrorCode.BAD_JSON, None),
        (b'{"type":"teleport"}', ErrorCode.BAD_FRAME, "teleport"),
        (b'{"type":"say"}', ErrorCode.BAD_FRAME, "say"),
        (b'{"text":"no type"}', ErrorCode.BAD_FRAME, None),
    ],
)
def test_json_lines_that_are_not_frames(line: bytes, code: ErrorCode, re: str | None) -> None:
    for conn in (ServerConnection(MAX_LINE), json_conn()):  # before and after login alike
        reply = one(conn, line + b"\n")
        assert isinstance(reply, Reply) and isinstance(reply.frame, Error)
        assert (reply.frame.code, reply.frame.re) == (code.value, re)

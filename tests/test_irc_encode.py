"""messenger's server frames as IRC lines: frames for many readers depend on the variant (the
caps that change bytes) and ``own`` alone; each cap adds what it names and nothing is sent that
a client did not ask for; long messages are cut to 512 bytes at character boundaries."""

from __future__ import annotations

import pytest

from messenger.protocol.frames import (
    HistoryEnd,
    Joined,
    Left,
    Message,
    Presence,
    Renamed,
    RoomInfo,
    RoomList,
    Shutdown,
    Users,
    Welcome,
)
from messenger.protocol.irc import VARIANT_CAPS, encode_shared, parse_line, variant_of
from messenger.protocol.irc.message import IRCMessage, body_length
from messenger.protocol.moderation import AwayStatus, RoomMode, Topic

from .irctools import registered

TS = "2026-11-30T10:00:00.000Z"
NONE = variant_of(())
ALL = variant_of(VARIANT_CAPS)


def lines(data: bytes) -> list[IRCMessage]:
    parts = data.split(b"\r\n")
    assert parts[-1] == b""
    parsed = [parse_line(part) for part in parts[:-1]]
    assert all(isinstance(p, IRCMessage) for p in parsed), parsed
    return parsed  # type: ignore[return-value]


def say(text: str = "hi", **fields: object) -> Message:
    return Message(**{"id": 7, "sender": "bob", "text": text, "ts": TS, **fields})  # type: ignore[arg-type]


def test_a_room_message_without_caps_is_a_bare_privmsg() -> None:
    assert encode_shared(say(room="#dev"), NONE) == b":bob!~m@messenger PRIVMSG #dev :hi\r\n"
    assert encode_shared(say(), NONE) == b":bob!~m@messenger PRIVMSG #lobby :hi\r\n"


@pytest.mark.parametrize(
    ("cap", "tag"),
    [("server-time", {"time": TS}), ("message-tags", {"msgid": "7"}), ("account-tag", {"account": "bob"})],
)
def test_each_cap_adds_its_tag_and_only_it(cap: str, tag: dict[str, str]) -> None:
    got = lines(encode_shared(say(), variant_of({cap}), account="bob"))
    assert got[0].tags == tag
    assert lines(encode_shared(say(), NONE, account="bob"))[0].tags == {}


def test_a_private_message_names_its_recipient_and_an_action_is_ctcp() -> None:
    private = lines(encode_shared(say(to="José"), NONE))[0]
    assert private.params == ("^Jos-dma", "hi")
    action = lines(encode_shared(say("waves", action=True, room="#dev"), NONE))[0]
    assert action.params == ("#dev", "\x01ACTION waves\x01")


def test_the_sender_gets_its_own_message_only_with_echo_message() -> None:
    assert encode_shared(say(), NONE, own=True) == b""
    assert encode_shared(say(), variant_of({"server-time"}), own=True) == b""
    echoed = encode_shared(say(), variant_of({"echo-message"}), own=True)
    assert echoed == encode_shared(say(), variant_of({"echo-message"}))


@pytest.mark.parametrize("text", ["word " * 300, "żółw " * 200, "漢" * 700, "👩‍👩‍👧" * 100, "x" * 3000])
@pytest.mark.parametrize("action", [False, True])
def test_long_messages_are_cut_to_512_bytes_at_character_boundaries(text: str, action: bool) -> None:
    frame = say(text, action=action, sender="^" * 0 + "Жора" * 8, room="#a-long-room-name")
    data = encode_shared(frame, ALL)
    pieces = []
    for raw in data.split(b"\r\n")[:-1]:
        assert body_length(raw + b"\r\n") <= 512
        raw.decode("utf-8")  # every line is whole UTF-8
        message = parse_line(raw)
        assert isinstance(message, IRCMessage)
        body = message.params[1]
        pieces.append(body.removeprefix("\x01ACTION ").removesuffix("\x01") if action else body)
    assert len(pieces) > 1
    assert "".join(pieces).replace(" ", "") == text.replace(" ", "")
    ids = [lines(line + b"\r\n")[0].tags["msgid"] for line in data.split(b"\r\n")[:-1]]
    assert len(set(ids)) == len(ids)  # each line its own msgid


def test_joins_leaves_and_renames() -> None:
    assert (
        encode_shared(Joined(user="José", ts=TS, room="#dev"), NONE)
        == b":^Jos-dma!~m@messenger JOIN #dev\r\n"
    )
    assert encode_shared(Joined(user="bob", ts=TS), variant_of({"server-time"})).startswith(
        b"@time=" + TS.encode()
    )
    assert encode_shared(Left(user="bob", ts=TS, reason="part", room="#dev"), NONE).endswith(b"PART #dev\r\n")
    quit_line = lines(encode_shared(Left(user="bob", ts=TS, reason="too_slow"), NONE))[0]
    assert quit_line.command == "QUIT" and "slow" in quit_line.params[0]
    kick = lines(encode_shared(Left(user="bob", ts=TS, reason="kicked", by="op", message="spam"), NONE))[0]
    assert (kick.source, kick.command, kick.params) == ("op!~m@messenger", "KICK", ("#lobby", "bob", "spam"))
    nick = lines(encode_shared(Renamed(old="bob", new="j.doe", ts=TS), NONE))[0]
    assert (nick.source, nick.command, nick.params) == ("bob!~m@messenger", "NICK", ("j|doe",))


def test_a_crowd_summary_is_joins_parts_and_a_count() -> None:
    frame = Presence(joined=("a", "b"), left=("c",), joins=40, leaves=1, count=140, ts=TS)
    got = lines(encode_shared(frame, NONE))
    assert [m.command for m in got] == ["JOIN", "JOIN", "PART", "NOTICE"]
    assert "40 joined" in got[-1].params[1]
    small = Presence(joined=("a",), left=(), joins=1, leaves=0, count=101, ts=TS)
    assert [m.command for m in lines(encode_shared(small, NONE))] == ["JOIN"]


def test_topic_and_mode_changes_for_a_room() -> None:
    topic = lines(encode_shared(Topic("#dev", "new topic", "bob", TS), NONE))[0]
    assert (topic.command, topic.params) == ("TOPIC", ("#dev", "new topic"))
    mode = lines(encode_shared(RoomMode("#dev", True, False, "op"), NONE))[0]
    assert (mode.command, mode.params) == ("MODE", ("#dev", "+i-m"))


def test_away_lines_only_with_away_notify_and_the_setter_gets_306() -> None:
    frame = AwayStatus(user="bob", text="lunch")
    assert encode_shared(frame, NONE) == b""
    assert lines(encode_shared(frame, variant_of({"away-notify"})))[0].params == ("lunch",)
    assert lines(encode_shared(AwayStatus(user="bob"), variant_of({"away-notify"})))[0].params == ()
    assert lines(encode_shared(frame, NONE, own=True))[0].command == "306"
    assert lines(encode_shared(AwayStatus(user="bob"), NONE, own=True))[0].command == "305"


def test_shutdown_is_error() -> None:
    assert lines(encode_shared(Shutdown(), NONE))[0].command == "ERROR"


def test_variants_are_few() -> None:
    """What a broadcast costs: one encoding per variant present, never one per reader."""
    assert variant_of({"sasl", "server-time"}) == variant_of({"server-time"})
    assert len({variant_of(caps) for caps in [(), ("sasl",), ("server-time",), ("server-time", "sasl")]}) == 2


# -- frames for one reader ----------------------------------------------------------------------


def test_the_welcome_is_001_to_005_with_isupport() -> None:
    door = registered()
    door.send(Welcome(user="José", users=("José", "bob"), server="messenger 1.0"))
    got = door.take()
    assert [m.command for m in got] == ["001", "002", "003", "004", "005", "251", "422"]
    assert got[0].params[0] == "^Jos-dma"
    tokens = got[4].params[1:-1]
    for token in ("CASEMAPPING=ascii", "CHANTYPES=#", "NETWORK=TestNet", "UTF8ONLY", "PREFIX=(o)@"):
        assert token in tokens
    assert any(t.startswith("NICKLEN=") for t in tokens) and any(t.startswith("CHANNELLEN=") for t in tokens)


def test_no_422_when_a_motd_follows() -> None:
    door = registered(motd="hello")
    door.send(Welcome(user="alice", users=("alice",), server="m"))
    assert "422" not in door.numerics()


def test_users_answer_names_or_who_as_asked() -> None:
    door = registered()
    door.rooms.append("#dev")
    door.feed(b"NAMES #dev\r\nWHO #dev\r\n")
    users = Users(users=("alice", "José"), room="#dev", away={"José": "out"})
    door.send(users)
    door.send(users)
    got = door.take()
    assert [m.command for m in got] == ["353", "366", "352", "352", "315"]
    assert got[0].params == ("alice", "=", "#dev", "alice ^Jos-dma")
    assert got[3].params[6] == "G"  # away


def test_a_long_names_list_is_cut_into_lines_that_fit() -> None:
    door = registered()
    door.send(Users(users=tuple(f"user{i}" for i in range(400)), room="#lobby"))
    data = bytes(door.out)
    assert all(len(line) + 2 <= 512 for line in data.split(b"\r\n"))
    assert sum(len(m.params[-1].split()) for m in door.take() if m.command == "353") == 400


def test_whois_and_who_of_a_nick() -> None:
    from messenger.protocol.moderation import Whois

    door = registered()
    door.feed(b"WHOIS bob\r\nWHO bob\r\n")
    whois = Whois(user="bob", registered=True, role="op", rooms=("#lobby",), idle=5, since=TS, away="out")
    door.send(whois)
    door.send(whois)
    assert door.numerics() == ["311", "319", "312", "313", "330", "301", "317", "318", "352", "315"]


def test_topic_answers_query_with_331_and_joins_with_nothing() -> None:
    door = registered()
    door.rooms.append("#dev")
    door.feed(b"TOPIC #dev\r\n")
    door.send(Topic("#dev", ""))
    door.send(Topic("#dev", ""))  # on joining: no topic, nothing to say
    door.send(Topic("#dev", "hello", "bob", TS))
    assert door.numerics() == ["331", "332", "333"]


def test_list_and_channel_modes() -> None:
    door = registered()
    door.send(RoomList(rooms=(RoomInfo("#dev", 3, "talk"), RoomInfo("#lobby", 9))))
    door.send(RoomMode("#dev", False, True))
    got = door.take()
    assert [m.command for m in got] == ["321", "322", "322", "323", "324"]
    assert got[1].params[1:] == ("#dev", "3", "talk") and got[4].params[1:] == ("#dev", "+m")


def test_history_pages_come_in_a_batch_with_times_only_when_asked() -> None:
    door = registered()
    page = [say("one", id=1, history=True, room="#dev"), say("two", id=2, history=True, room="#dev")]
    assert [m.command for m in lines(door.conn.send_page(page, HistoryEnd(count=2)))] == [
        "PRIVMSG",
        "PRIVMSG",
    ]
    door.conn.caps |= {"batch", "server-time"}
    door.history = door.conn.history = 10
    door.feed(b"JOIN #dev\r\n")  # the replay that follows a join
    got = lines(door.conn.send_page(page, HistoryEnd(count=2)))
    assert [m.command for m in got] == ["BATCH", "PRIVMSG", "PRIVMSG", "BATCH"]
    assert got[0].params == ("+history1", "chathistory", "#dev")
    assert got[1].tags == {"time": TS, "batch": "history1"}
    assert door.conn.send_page([], HistoryEnd(count=0)) == b""  # nothing to replay: nothing


def test_chathistory_asks_for_a_page_and_gets_a_batch_even_an_empty_one() -> None:
    from messenger.protocol.frames import HistoryRequest

    door = registered()
    door.conn.caps |= {"batch", "server-time", "draft/chathistory"}
    door.feed(b"CHATHISTORY LATEST #dev * 50\r\nCHATHISTORY BEFORE #dev msgid=120-2 10\r\n")
    assert door.requests == [
        HistoryRequest(limit=50, room="#dev"),
        HistoryRequest(limit=10, before=120, room="#dev"),
    ]
    got = lines(door.conn.send_page([], HistoryEnd(count=0)))
    assert [(m.command, m.params) for m in got] == [
        ("BATCH", ("+history0", "chathistory", "#dev")),
        ("BATCH", ("-history0",)),
    ]


def test_chathistory_refuses_what_messenger_cannot_page() -> None:
    door = registered()
    door.feed(
        b"CHATHISTORY AFTER #dev msgid=1 10\r\nCHATHISTORY LATEST #dev timestamp=2026-01-01T00:00:00Z 5\r\n"
        b"CHATHISTORY LATEST #dev * 1000\r\nCHATHISTORY LATEST bob * 10\r\nCHATHISTORY LATEST\r\n"
    )
    got = door.take()
    assert not door.requests
    assert [m.params[1] for m in got] == ["INVALID_PARAMS"] * 3 + ["INVALID_TARGET", "INVALID_PARAMS"]


def test_a_private_message_to_oneself_arrives_once() -> None:
    door = registered()
    door.send(say("note", sender="alice", to="alice"))
    assert door.numerics() == ["PRIVMSG"]


def test_away_answers() -> None:
    door = registered()
    door.send(AwayStatus(user="alice", text="out"))
    door.send(AwayStatus(user="alice"))
    door.send(AwayStatus(user="bob", text="lunch"))
    assert door.numerics() == ["306", "305", "301"]


def test_a_message_for_one_reader_carries_the_account_it_is_given() -> None:
    door = registered()
    door.conn.caps |= {"account-tag"}
    door.out += door.conn.send(say(to="alice"), account="bob")
    assert door.take()[0].tags == {"account": "bob"}


def test_the_actor_of_a_frame_is_who_gets_the_own_bytes() -> None:
    from messenger.protocol.irc.encode import actor_of

    assert actor_of(say()) == "bob"
    assert actor_of(AwayStatus(user="carol")) == "carol"
    assert actor_of(Joined(user="bob", ts=TS)) is None


def test_a_kicked_member_sees_the_kick_then_error() -> None:
    door = registered()
    door.send(Left(user="alice", ts=TS, reason="kicked", by="op", message="spam"))
    got = door.take()
    assert [m.command for m in got] == ["KICK", "ERROR"]
    assert "op" in got[1].params[0] and "spam" in got[1].params[0]
    door.send(Left(user="bob", ts=TS, reason="kicked", by="op"))
    assert door.numerics() == ["KICK"]


def test_the_ignore_list_is_a_silence_list() -> None:
    from messenger.protocol.moderation import IgnoredList

    door = registered()
    door.send(IgnoredList(users=("bob", "José")))
    got = door.take()
    assert [m.command for m in got] == ["271", "271", "272"]
    assert got[1].params == ("alice", "alice", "^Jos-dma!*@*")

"""The moderation and presence frames without sockets: JSON both ways, the slash commands that
make them, and their text-mode wording."""

from __future__ import annotations

import json

import pytest

from messenger.protocol import FrameError, Left, Users, encode, parse_client_frame, parse_server_frame
from messenger.protocol.basics import ErrorCode
from messenger.protocol.moderation import (
    MODERATION_ANSWERS,
    Allow,
    AwayStatus,
    Ban,
    BanInfo,
    BanList,
    IgnoredList,
    Kick,
    ModeRequest,
    Motd,
    Mute,
    Notice,
    RoomMode,
    Topic,
    TopicRequest,
    Whois,
)
from messenger.protocol.textmode import in_room, parse_text_command, text_line

TS = "2026-11-30T12:00:00.000Z"

ANSWERS = [
    BanList(
        bans=(
            BanInfo("bob", "name", "alice", TS, None, "spam"),
            BanInfo("10.0.0.0/8", "network", "root", TS, TS),
        )
    ),
    Topic(room="#x", text="hello", by="alice", ts=TS),
    RoomMode(room="#x", invite_only=True, moderated=False, by="alice"),
    AwayStatus(user="bob", text="lunch"),
    AwayStatus(user="bob"),
    Whois("bob", True, "op", ("#lobby", "#x"), 3, TS, "lunch", "10.0.0.1"),
    IgnoredList(users=("carol",)),
    Notice(text="bob is banned", re="ban"),
    Motd(text="line one\nline two"),
]


@pytest.mark.parametrize("frame", ANSWERS, ids=lambda frame: frame.TYPE)
def test_every_answer_goes_through_json_and_back(frame) -> None:
    line = encode(frame).decode()
    assert json.loads(line)["type"] == frame.TYPE
    assert parse_server_frame(line) == frame


def test_every_answer_type_has_an_example_and_a_wording() -> None:
    assert {type(frame) for frame in ANSWERS} == set(MODERATION_ANSWERS)
    for frame in ANSWERS:
        assert "\n" not in text_line(frame) or isinstance(frame, Motd)


def test_left_and_users_carry_their_new_fields_compatibly() -> None:
    kicked = Left(user="bob", ts=TS, reason="kicked", by="alice", message="spam")
    assert parse_server_frame(encode(kicked).decode()) == kicked
    assert text_line(kicked) == "bob has left the chat! (kicked by alice: spam)"
    assert "by" not in json.loads(encode(Left(user="bob", ts=TS)))
    away = Users(users=("alice", "bob"), away={"bob": "lunch"})
    assert parse_server_frame(encode(away).decode()) == away
    assert text_line(away) == "Online (2): alice, bob; away: bob (lunch)"
    assert "away" not in json.loads(encode(Users(users=("alice",))))


def test_user_text_cannot_make_a_second_text_line() -> None:
    """A topic, a reason or an away text from JSON may hold a line break; a text-mode reader
    still gets one line per frame, and only the message of the day has several."""
    for frame in (
        Topic(room="#x", text="a\nfake: line"),
        AwayStatus(user="b", text="x\ny"),
        Notice(text="a\nb"),
    ):
        assert "\n" not in text_line(frame)
    assert text_line(Motd(text="one\ntwo")) == "- one\n- two"


@pytest.mark.parametrize(
    ("line", "frame"),
    [
        ("/kick bob", Kick(user="bob")),
        ("/kick bob being rude", Kick(user="bob", reason="being rude")),
        ("/ban bob", Ban(target="bob")),
        ("/ban bob 2h", Ban(target="bob", duration="2h")),
        (
            "/ban 10.0.0.0/8 1d12h flood again",
            Ban(target="10.0.0.0/8", duration="1d12h", reason="flood again"),
        ),
        ("/ban bob spam", Ban(target="bob", reason="spam")),
        ("/mute bob 10m", Mute(user="bob", duration="10m")),
        ("/mode #x +i-m", ModeRequest(room="#x", invite_only=True, moderated=False)),
        ("/mode +mi", ModeRequest(invite_only=True, moderated=True)),
        ("/mode", ModeRequest()),
        ("/topic #x the plan", TopicRequest(room="#x", text="the plan")),
        ("/topic the plan", TopicRequest(text="the plan")),
        ("/allow #x bob", Allow(user="bob", room="#x")),
    ],
)
def test_slash_commands_make_their_frames(line: str, frame) -> None:
    assert parse_text_command(line).frame == frame


@pytest.mark.parametrize(
    "line",
    ["/kick", "/ban", "/unban", "/unban a b", "/mute", "/mode #x +x", "/mode #x i", "/allow #x",
     "/allow #x a b", "/whois", "/whois a b", "/ignore", "/reply", "/role bob", "/role bob op admin"],
)  # fmt: skip
def test_slash_commands_without_their_arguments_get_usage(line: str) -> None:
    with pytest.raises(FrameError) as caught:
        parse_text_command(line)
    assert caught.value.code is ErrorCode.BAD_FRAME
    assert caught.value.message.startswith("usage: /")


def test_room_commands_are_about_the_current_room_in_text_mode() -> None:
    assert in_room(TopicRequest(text="t"), "#x") == TopicRequest(room="#x", text="t")
    assert in_room(ModeRequest(moderated=True), "#x").room == "#x"
    assert in_room(Allow(user="bob", room="#y"), "#x").room == "#y"


@pytest.mark.parametrize(
    "line",
    [
        '{"type":"mode","room":"#x","moderated":1}',
        '{"type":"kick"}',
        '{"type":"ban","target":5}',
        '{"type":"allow","room":"#x"}',
        '{"type":"away","text":false}',
    ],
)
def test_bad_moderation_frames_are_bad_frame(line: str) -> None:
    with pytest.raises(FrameError) as caught:
        parse_client_frame(line)
    assert caught.value.code is ErrorCode.BAD_FRAME

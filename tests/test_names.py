"""Names that look the same are one name: invisible characters, mixed scripts, the UTS #39
confusable skeleton made case-insensitive; stored keys follow the rule; the server refuses a
lookalike of an online or a registered name."""

from __future__ import annotations

import sqlite3
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest

from messenger.client import Client, LoginError
from messenger.core.accounts import Accounts
from messenger.core.store import SQLiteStore
from messenger.protocol import BadName, name_key, normalize_name
from messenger.protocol.names import _cached_name_key, is_default_ignorable, script_of
from messenger.protocol.unicode_names import DEFAULT_IGNORABLE

from .conftest import RawClient, ServerThread, stored_server

WAIT = 5.0

# The lookalikes of "alice": accepted, and the same name.
SAME_AS_ALICE = ["aIice", "\u0251lice", "AL\u0130CE", "ali\u0307ce", "ALICE", "Alice", "ａｌｉｃｅ"]
# Invisible characters after a letter: refused.
INVISIBLE = ["alice\ufe0f", "ali\u034fce", "alice\u180b", "alice\U000e0100", "al\u200bice", "ali\u2060ce"]
# Letters of another script among Latin ones: refused (UTS #39 "highly restrictive").
MIXED = ["\u13aflice", "\u13aalice", "\u0430lice", "\u03b1lice", "\u0391LICE", "alic\u0435"]


@pytest.mark.parametrize("lookalike", SAME_AS_ALICE)
def test_lookalikes_of_alice_are_alice(lookalike: str) -> None:
    assert name_key(normalize_name(lookalike)) == name_key("alice")


@pytest.mark.parametrize("name", INVISIBLE)
def test_invisible_characters_are_refused_in_names(name: str) -> None:
    with pytest.raises(BadName, match=r"U\+[0-9A-F]{4,5} is an invisible character"):
        normalize_name(name)
    assert name_key(name) == name_key("alice")  # and would be alice anyway


@pytest.mark.parametrize("name", MIXED)
def test_letters_of_two_scripts_are_refused(name: str) -> None:
    with pytest.raises(BadName, match="one script"):
        normalize_name(name)


def test_every_default_ignorable_code_point_is_refused() -> None:
    ranges = [(first, last) for first, last in DEFAULT_IGNORABLE]
    # Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt), as the data ships it.
    assert ranges[:4] == [(0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160)]
    assert (0xFE00, 0xFE0F) in ranges and (0xE0000, 0xE0FFF) in ranges and (0x202A, 0x202E) in ranges
    for first, last in ranges:
        for code in {first, (first + last) // 2, last}:
            assert is_default_ignorable(chr(code))
            with pytest.raises(BadName):
                normalize_name("ab" + chr(code) + "c")
    assert not is_default_ignorable("a") and not is_default_ignorable("\u0301")


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("alice", "alice2"),
        ("alice", "alicia"),
        ("bob", "rob"),
        ("anna", "anne"),
        ("jose", "josé"),
        ("zoe", "zoë"),
        ("mary", "marty"),
        ("ivan", "iwan"),
        ("nina", "mina"),
        ("Ωμέγα", "Ωμεγα2"),
        ("名前", "名字"),
        ("Вова", "Вава"),
        ("alice", "bob"),
    ],
)
def test_different_names_stay_different(one: str, other: str) -> None:
    assert name_key(normalize_name(one)) != name_key(normalize_name(other))


def test_digits_that_look_like_letters_are_those_letters() -> None:
    # UTS #39: 0 looks like O and 1 like l in many fonts, so "b0b" would pass for "bob".
    assert name_key("b0b") == name_key("bob") == name_key("BOB")
    assert name_key("alice1") == name_key("alicel") == name_key("aliceI")
    assert name_key("bob2") != name_key("bob")


def test_capitals_of_other_scripts_are_caught() -> None:
    assert name_key("ВОВ") == name_key("BOB")  # Cyrillic capitals
    assert name_key("ΗΕLLΟ".replace("L", "Λ")) != name_key("hello")  # a lambda is no L
    assert name_key("ΤΟΜ") == name_key("tom")  # Greek capitals


def test_case_is_ignored_in_every_script() -> None:
    exotic = {"\u03da", "\u03db", "\u2c8a", "\u2c8b"}  # stigma, sou: their cases look unlike
    for code in range(0x0530):
        char = chr(code)
        if unicodedata.category(char).startswith("L") and char not in exotic:
            assert name_key(char.upper()) == name_key(char.lower()) == name_key(char), hex(code)
    assert name_key("Вова") == name_key("ВОВА") == name_key("вова")
    assert name_key("Straße") == name_key("STRASSE")


def test_name_keys_of_names_are_cached_and_nothing_longer() -> None:
    assert script_of("a") == "Latin" and script_of("\u13af") == "Cherokee"
    _cached_name_key.cache_clear()
    for _ in range(3):
        name_key("SomeUser_42")
        name_key("x" * 1000)  # a /msg target can be anything a client typed
    assert _cached_name_key.cache_info().hits == 2
    assert _cached_name_key.cache_info().currsize == 1


# ------------------------------------------------------------------------------------------------
# Stored keys follow the rule
# ------------------------------------------------------------------------------------------------


def _age(path: Path, update: str) -> None:
    """Make ``path`` look like a database from before the rule: old keys, no name_keys table."""
    db = sqlite3.connect(path)
    with db:
        db.execute(update)
        db.execute("DROP TABLE IF EXISTS name_keys")
    db.close()


def test_accounts_with_old_keys_are_rekeyed_at_open(tmp_path: Path) -> None:
    path = tmp_path / "chat.db"
    accounts = Accounts(path)
    accounts.add("alice", "pw-alice")
    accounts.close()
    _age(path, "UPDATE accounts SET key = 'alice'")  # what the old rule stored
    accounts = Accounts(path)
    try:
        assert accounts.lookup("aIice") is not None and accounts.verify("ALICE", "pw-alice")
    finally:
        accounts.close()


def test_accounts_that_became_one_name_keep_the_first(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "chat.db"
    accounts = Accounts(path)
    accounts.add("bob", "pw-bob")
    accounts.close()
    db = sqlite3.connect(path)
    with db:  # "b0b" was a name of its own under the old rule
        db.execute(
            "INSERT INTO accounts (key, name, salt, hash, n, r, p, created) "
            "SELECT 'b0b', 'b0b', salt, hash, n, r, p, '9999' FROM accounts"
        )
        db.execute(  # and one name that mixes scripts, which the old rules let in
            "INSERT INTO accounts (key, name, salt, hash, n, r, p, created) "
            "SELECT 'k', '\u0430lice', salt, hash, n, r, p, '9999' FROM accounts "
            "WHERE name = 'bob'"
        )
        db.execute("UPDATE accounts SET key = name")
        db.execute("DROP TABLE IF EXISTS name_keys")
    db.close()
    accounts = Accounts(path)
    try:
        assert "the accounts bob and b0b are now one name" in caplog.text
        assert "the account '\u0430lice' breaks the name rules now" in caplog.text
        accounts.remove("\u0430lice")
        assert accounts.lookup("b0b").name == "bob"  # type: ignore[union-attr]
        assert sorted(a.name for a in accounts.all()) == ["b0b", "bob"]
        accounts.remove("b0b")
        assert [a.name for a in accounts.all()] == ["bob"]
    finally:
        accounts.close()


def test_history_keys_follow_their_accounts_and_no_other_key_survives(tmp_path: Path) -> None:
    path = tmp_path / "chat.db"
    server = stored_server(path)
    try:
        server.accounts.add("alice", "pw-alice")  # type: ignore[union-attr]
        with Client.connect("127.0.0.1", server.port, timeout=WAIT) as alice:
            alice.login("alice", password="pw-alice", timeout=WAIT)
            alice.say("a note to self", to="alice")
            while getattr(alice.receive(timeout=WAIT), "text", None) != "a note to self":
                pass  # the echo: the message is in the store's queue
        server.store.flush()  # type: ignore[union-attr]
    finally:
        server.stop()
    # As the old rule stored them: alice's key was "alice", and "allce" was a name of its own,
    # whose private message (from a time history was kept by name) must not reach the new alice.
    _age(path, "UPDATE accounts SET key = 'alice'")
    _age(path, "UPDATE messages SET sender_key = 'alice', recipient_key = 'alice' WHERE recipient = 'alice'")
    db = sqlite3.connect(path)
    with db:
        db.execute(
            "INSERT INTO messages (ts, room, sender, sender_key, recipient, recipient_key, text) "
            "VALUES (?, '#lobby', 'mallory', 'mallory', 'allce', 'allce', 'for allce')",
            ("2026-01-01T00:00:00.000Z",),
        )
    db.close()
    store = SQLiteStore(path)
    try:
        texts = [m.text for m in store.recent(name_key("alice"), 10)]
        assert "a note to self" in texts and "for allce" not in texts
    finally:
        store.close()
    accounts = Accounts(path)
    try:
        assert accounts.lookup("ALICE").key == name_key("alice")  # type: ignore[union-attr]
    finally:
        accounts.close()


# ------------------------------------------------------------------------------------------------
# The server
# ------------------------------------------------------------------------------------------------


def _refusal(port: int, user: str) -> LoginError:
    with Client.connect("127.0.0.1", port, timeout=WAIT) as client, pytest.raises(LoginError) as refused:
        client.login(user, timeout=WAIT)
    return refused.value


@pytest.mark.parametrize("lookalike", SAME_AS_ALICE[:4])
def test_a_lookalike_of_an_online_name_is_refused(
    server: ServerThread, raw: Callable[[], RawClient], lookalike: str
) -> None:
    with Client.connect("127.0.0.1", server.port, timeout=WAIT) as alice:
        alice.login("alice", timeout=WAIT)
        assert _refusal(server.port, lookalike).code == "name_taken"
        bob = raw()
        bob.send_json({"type": "hello", "user": "bob"})
        assert bob.frame()["type"] == "welcome"
        bob.send_json({"type": "nick", "user": lookalike})
        answer = bob.until(lambda line: '"error"' in line)[-1]
        assert '"name_taken"' in answer


@pytest.mark.parametrize("name", INVISIBLE[:4] + MIXED[:1])
def test_the_server_refuses_invisible_and_mixed_names(server: ServerThread, name: str) -> None:
    assert _refusal(server.port, name).code == "bad_name"


def test_a_lookalike_of_a_registered_name_needs_its_password(tmp_path: Path) -> None:
    server = stored_server(tmp_path / "chat.db")
    try:
        server.accounts.add("alice", "pw-alice")  # type: ignore[union-attr]
        for lookalike in SAME_AS_ALICE[:4]:
            assert _refusal(server.port, lookalike).code == "password_required"
        bob = RawClient(server.port)
        try:
            bob.send_json({"type": "hello", "user": "bob"})
            assert bob.frame()["type"] == "welcome"
            for lookalike in SAME_AS_ALICE[:4]:
                bob.send_json({"type": "nick", "user": lookalike})
                assert '"name_registered"' in bob.until(lambda line: '"error"' in line)[-1]
        finally:
            bob.close()
    finally:
        server.stop()

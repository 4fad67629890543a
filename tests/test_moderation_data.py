"""Moderation's data layer on real SQLite files: roles and their policy, durations, bans (names,
addresses, networks), mutes, ignores and the audit trail, across a reopen, with a clock the tests
move instead of sleeping."""

from __future__ import annotations

import ipaddress
import sqlite3
from pathlib import Path

import pytest

from messenger.core.accounts import Accounts
from messenger.core.bans import BanKind, BanTargetError, name_target, parse_target
from messenger.core.durations import DurationError, describe_expiry, format_remaining, parse_duration
from messenger.core.moddb import ModerationError
from messenger.core.moderation import Moderation
from messenger.core.mutes import MAX_IGNORES
from messenger.core.roles import (
    Role,
    RoleError,
    may_act_on,
    may_ban_network,
    may_grant,
    may_moderate,
    parse_role,
    stored_role,
)
from messenger.protocol.names import name_key


class Clock:
    """A clock the test moves."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def reopen(path: Path, clock: Clock) -> Moderation:
    return Moderation(path, clock)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "chat.db"


# ------------------------------------------------------------------------------------------------
# Durations and roles
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("10m", 600), ("2h", 7200), ("7d", 604800), ("1w", 604800), ("1h30m", 5400), ("2H", 7200)],
)
def test_durations_people_type(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "not a duration"),
        ("10", "not a duration"),
        ("m", "not a duration"),
        ("10x", "not a duration"),
        ("1.5h", "not a duration"),
        ("-5m", "not a duration"),
        (" 5m", "not a duration"),
        ("１０m", "not a duration"),  # full-width digits: int() would read them
        ("0s", "no time at all"),
        ("400d", "longer than a year"),
        ("9" * 40 + "d", "not a duration"),
    ],
)
def test_junk_and_absurd_durations_are_refused_clearly(text: str, words: str) -> None:
    with pytest.raises(DurationError, match=words):
        parse_duration(text)


def test_remaining_time_for_people() -> None:
    assert [format_remaining(s) for s in (0, 0.2, 45, 60, 61, 3599, 3600, 5400, 90061)] == [
        "0s", "1s", "45s", "1m", "1m 1s", "59m 59s", "1h", "1h 30m", "1d 1h",
    ]  # fmt: skip
    assert describe_expiry(None, 5.0) == "until lifted"
    assert describe_expiry(3605.0, 5.0) == "for 1h more"


def test_roles_and_who_may_do_what() -> None:
    assert parse_role(" OP ") is Role.OP and stored_role("admin") is Role.ADMIN
    assert stored_role("root") is Role.USER and stored_role(None) is Role.USER  # least privilege
    with pytest.raises(RoleError, match="user, op or admin"):
        parse_role("king")
    assert [may_moderate(r) for r in (None, Role.USER, Role.OP, Role.ADMIN)] == [False, False, True, True]
    assert [may_grant(r) for r in (None, Role.USER, Role.OP, Role.ADMIN)] == [False, False, False, True]
    # An operator acts on users and unregistered people, never on operators or admins.
    assert may_act_on(Role.OP, None) and may_act_on(Role.OP, Role.USER)
    assert not may_act_on(Role.OP, Role.OP) and not may_act_on(Role.OP, Role.ADMIN)
    assert may_act_on(Role.ADMIN, Role.OP) and may_act_on(Role.ADMIN, Role.ADMIN)
    assert not may_act_on(Role.USER, None) and not may_act_on(None, None)


def test_how_wide_a_network_each_role_may_ban() -> None:
    net = ipaddress.ip_network
    assert may_ban_network(Role.OP, net("10.1.0.0/16")) and not may_ban_network(Role.OP, net("10.0.0.0/8"))
    assert may_ban_network(Role.ADMIN, net("10.0.0.0/8")) and not may_ban_network(
        Role.ADMIN, net("0.0.0.0/0")
    )
    assert may_ban_network(Role.OP, net("2001:db8:1::/48")) and not may_ban_network(
        Role.OP, net("2001:db8::/32")
    )
    assert not may_ban_network(Role.ADMIN, net("::/0")) and not may_ban_network(Role.USER, net("10.1.2.0/24"))


# ------------------------------------------------------------------------------------------------
# Roles on accounts
# ------------------------------------------------------------------------------------------------


def test_roles_are_kept_with_the_account(db: Path) -> None:
    accounts = Accounts(db)
    assert accounts.add("alice", "pw").role is Role.USER
    assert accounts.add("Root", "pw", Role.ADMIN).role is Role.ADMIN
    assert accounts.set_role("ALICE", Role.OP).role is Role.OP  # any case of the name
    accounts.close()
    again = Accounts(db)
    assert {a.name: a.role for a in again.all()} == {"alice": Role.OP, "Root": Role.ADMIN}
    assert again.lookup("alice").role is Role.OP  # type: ignore[union-attr]
    again.remove("alice")
    assert again.add("alice", "pw").role is Role.USER  # a new account does not inherit the old role
    with pytest.raises(Exception, match="not registered"):
        again.set_role("nobody", Role.OP)
    again.close()


def test_an_accounts_table_from_before_roles_gains_the_column(db: Path) -> None:
    """The schema of the version before roles, made by hand; opening it adds ``role``, everyone a
    user, and the passwords still work."""
    accounts = Accounts(db)
    accounts.add("alice", "pw")
    row = accounts._db.execute("SELECT key, name, salt, hash, n, r, p, created FROM accounts").fetchone()
    accounts.close()
    db = db.with_name("old.db")
    old = sqlite3.connect(db)
    old.executescript(
        "CREATE TABLE accounts (key TEXT PRIMARY KEY, name TEXT NOT NULL, salt BLOB NOT NULL, hash BLOB "
        "NOT NULL, n INTEGER NOT NULL, r INTEGER NOT NULL, p INTEGER NOT NULL, created TEXT NOT NULL)"
    )
    old.execute("INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
    old.commit()
    old.close()
    migrated = Accounts(db)
    assert migrated.lookup("alice").role is Role.USER  # type: ignore[union-attr]
    assert migrated.verify("alice", "pw")
    migrated.set_role("alice", Role.ADMIN)
    migrated.close()
    both = [Accounts(db), Accounts(db)]  # opening an up-to-date file changes nothing
    assert [a.lookup("alice").role for a in both] == [Role.ADMIN, Role.ADMIN]  # type: ignore[union-attr]
    for accounts in both:
        accounts.close()


# ------------------------------------------------------------------------------------------------
# Bans
# ------------------------------------------------------------------------------------------------


def test_targets_are_read_as_addresses_networks_or_names() -> None:
    assert parse_target("10.0.0.1") == parse_target("::ffff:10.0.0.1")  # one host, one form
    assert parse_target("10.0.0.1").kind is BanKind.ADDRESS
    assert parse_target("2001:DB8::1").key == "2001:db8::1"
    assert parse_target("10.1.2.3/24").key == "10.1.2.0/24"  # host bits dropped
    assert parse_target("10.0.0.1/32") == parse_target("10.0.0.1")
    assert parse_target("2001:db8::/32").kind is BanKind.NETWORK
    alice = parse_target("Alice")
    assert alice.kind is BanKind.NAME and alice.key == name_key("alice") and alice.shown == "Alice"
    assert name_target("1.2.3.4").kind is BanKind.NAME  # a name that looks like an address
    for junk in ("10.0.0.0/33", "a/b", "a b", "", "al\u200bice"):
        with pytest.raises(BanTargetError):
            parse_target(junk)


def test_name_bans_catch_case_and_lookalikes_and_survive_a_restart(db: Path) -> None:
    clock = Clock()
    mod = reopen(db, clock)
    ban = mod.bans.ban(parse_target("Mallory"), actor="root", reason="spam")
    assert ban.created == clock.now and ban.expires is None
    assert mod.bans.check_name(name_key("mallory")) == ban
    assert mod.bans.check_name(name_key("MALL0RY")) == ban  # a digit zero imitates the letter
    assert mod.bans.check_name(name_key("alice")) is None
    mod.close()
    clock.now += 10 * 365 * 86400  # until lifted: years later, still banned
    again = reopen(db, clock)
    [kept] = again.bans.active()
    assert (kept.target.shown, kept.actor, kept.reason, kept.created) == (
        "Mallory",
        "root",
        "spam",
        ban.created,
    )
    assert again.bans.lift(parse_target("MALLORY")) == kept
    assert again.bans.check_name(name_key("mallory")) is None and again.bans.lift(parse_target("x")) is None
    again.close()
    assert reopen(db, clock).bans.active() == []


def test_bans_expire_on_the_clock_and_across_a_restart(db: Path) -> None:
    clock = Clock()
    mod = reopen(db, clock)
    mod.bans.ban(parse_target("eve"), "op1", duration=parse_duration("10m"))
    mod.bans.ban(parse_target("10.9.0.0/16"), "op1", duration=parse_duration("2h"))
    clock.now += 599
    assert mod.bans.check_name(name_key("eve")) and mod.bans.check_address("10.9.1.1")
    mod.close()
    mod = reopen(db, clock)
    assert mod.bans.check_name(name_key("eve")) is not None
    clock.now += 1
    assert mod.bans.check_name(name_key("eve")) is None  # exactly at the end: over
    assert mod.bans.check_address("10.9.1.1") is not None
    assert mod.bans.check_address("10.9.1.1", now=clock.now + 7200) is None  # an explicit now
    assert [b.target.key for b in mod.bans.active()] == ["10.9.0.0/16"]
    [expired] = mod.bans.expire()
    assert expired.target.key == "eve" and len(mod.bans) == 1
    mod.close()
    assert len(reopen(db, clock).bans) == 1  # the expired one is gone from the file too


def test_address_and_network_bans_v4_and_v6(db: Path) -> None:
    mod = reopen(db, Clock())
    for target in ("192.0.2.7", "198.51.100.0/24", "10.0.0.0/8", "2001:db8:1::/48", "2001:db8:ffff::9"):
        mod.bans.ban(parse_target(target), "root")
    banned = [
        "192.0.2.7",
        "::ffff:192.0.2.7",
        "198.51.100.0",
        "198.51.100.255",
        "10.255.1.2",
        "2001:db8:1:ffff::1",
    ]
    banned += ["2001:DB8:1::", "2001:db8:ffff:0::9"]
    free = ["192.0.2.8", "198.51.101.0", "11.0.0.1", "2001:db8:2::1", "2001:db8:ffff::8", "::1", "127.0.0.1"]
    free += ["not an address", "", "/tmp/socket"]
    assert [a for a in banned if mod.bans.check_address(a) is None] == []
    assert [a for a in free if mod.bans.check_address(a) is not None] == []
    assert mod.bans.check_address(ipaddress.ip_address("10.1.2.3")).target.key == "10.0.0.0/8"  # type: ignore[union-attr]
    mod.bans.lift(parse_target("10.0.0.0/8"))
    assert mod.bans.check_address("10.255.1.2") is None
    mod.close()
    again = reopen(db, Clock())
    assert again.bans.check_address("198.51.100.77") and again.bans.check_address("2001:db8:1:2::3")
    assert again.bans.check_address("10.255.1.2") is None


def test_a_thousand_bans_are_checked_by_lookup_not_by_scanning(db: Path) -> None:
    """1,000 address and name bans and 30 networks: every check still answers right, and the
    networks sit in one bucket per prefix length, which is what a check walks."""
    mod = reopen(db, Clock())
    for i in range(1000):
        mod.bans.ban(parse_target(f"10.{i // 250}.{i % 250}.1"), "root")
        mod.bans.ban(parse_target(f"spammer{i}"), "root")
    for i in range(30):
        mod.bans.ban(parse_target(f"172.{16 + i}.0.0/16" if i % 2 else f"172.{16 + i}.0.0/24"), "root")
    assert len(mod.bans) == 2030 and len(mod.bans._networks) == 2
    assert mod.bans.check_address("10.3.249.1") and not mod.bans.check_address("10.3.249.2")
    assert mod.bans.check_address("172.17.200.1") and not mod.bans.check_address("172.16.1.1")
    assert mod.bans.check_name(name_key("Spammer999")) and not mod.bans.check_name(name_key("spammer1000"))
    mod.close()
    assert len(reopen(db, Clock()).bans) == 2030


def test_a_ban_the_database_refuses_is_not_in_force(db: Path) -> None:
    mod = reopen(db, Clock())
    other = sqlite3.connect(db)
    other.executescript(
        "CREATE TRIGGER no_bans BEFORE INSERT ON bans BEGIN SELECT RAISE(FAIL, 'disk is full'); END;"
        "CREATE TRIGGER no_mutes BEFORE INSERT ON mutes BEGIN SELECT RAISE(FAIL, 'disk is full'); END;"
    )
    other.close()
    with pytest.raises(ModerationError, match="disk is full"):
        mod.bans.ban(parse_target("eve"), "root")
    with pytest.raises(ModerationError, match="disk is full"):
        mod.mutes.mute(name_key("eve"), "eve", "root")
    assert mod.bans.check_name(name_key("eve")) is None and mod.mutes.check(name_key("eve")) is None
    mod.close()


# ------------------------------------------------------------------------------------------------
# Mutes, ignores, the audit trail
# ------------------------------------------------------------------------------------------------


def test_mutes_expire_and_survive_a_restart(db: Path) -> None:
    clock = Clock()
    mod = reopen(db, clock)
    mod.mutes.mute(name_key("Bob"), "Bob", "op1", "shouting", duration=60)
    mod.mutes.mute(name_key("carol"), "carol", "op1")
    assert mod.mutes.check(name_key("BOB")).reason == "shouting"  # type: ignore[union-attr]
    mod.close()
    clock.now += 60
    mod = reopen(db, clock)
    assert mod.mutes.check(name_key("bob")) is None and mod.mutes.check(name_key("carol")) is not None
    assert [m.name for m in mod.mutes.active()] == ["carol"]
    assert [m.name for m in mod.expire()[1]] == ["Bob"]
    assert mod.mutes.unmute(name_key("Carol")).name == "carol"  # type: ignore[union-attr]
    assert mod.mutes.unmute(name_key("carol")) is None
    mod.close()
    assert reopen(db, clock).mutes.active() == []


def test_ignores_are_remembered_for_accounts_only(db: Path) -> None:
    mod = reopen(db, Clock())
    ig = mod.ignores
    assert ig.ignore("alice", name_key("Troll"), "Troll") and not ig.ignore(
        "alice", name_key("TROLL"), "TROLL"
    )
    ig.ignore("alice", name_key("pest"), "pest")
    ig.ignore(" session 7", name_key("troll"), "troll", remember=False)
    assert ig.ignorers_of(name_key("troll")) == {"alice", " session 7"}
    assert ig.ignores("alice", name_key("tRoll")) and not ig.ignores("bob", name_key("troll"))
    assert ig.ignorers_of(name_key("nobody")) == frozenset()
    assert ig.ignored("alice") == ["pest", "Troll"]
    mod.close()
    mod = reopen(db, Clock())
    ig = mod.ignores
    assert ig.ignorers_of(name_key("troll")) == {"alice"}  # the session's ignore is gone
    assert ig.unignore("alice", name_key("pest")) and not ig.unignore("alice", name_key("pest"))
    ig.forget("alice")
    assert ig.ignored("alice") == [] and ig.ignorers_of(name_key("troll")) == frozenset()
    ig.load("alice")
    assert ig.ignored("alice") == ["Troll"]
    mod.close()


def test_one_person_cannot_ignore_without_bound(db: Path) -> None:
    mod = reopen(db, Clock())
    for i in range(MAX_IGNORES):
        mod.ignores.ignore(" session 1", f"n{i}", f"n{i}", remember=False)
    with pytest.raises(ModerationError, match="unignore some"):
        mod.ignores.ignore(" session 1", "one-more", "one-more", remember=False)
    mod.close()


def test_the_audit_trail_keeps_who_did_what_to_whom(db: Path) -> None:
    clock = Clock(1_700_000_000.0)
    mod = reopen(db, clock)
    mod.audit.record("root", "ban", "10.0.0.0/8", "abuse", duration=7200)
    clock.now += 1
    mod.audit.record("op1", "kick", "eve", "")
    clock.now += 1
    mod.audit.record("op1", "mute", "bob", "caps", duration=600)
    mod.close()
    audit = reopen(db, clock).audit
    assert [(e.actor, e.action, e.target, e.reason, e.duration) for e in audit.recent(2)] == [
        ("op1", "kick", "eve", "", None),
        ("op1", "mute", "bob", "caps", 600),
    ]
    [first, *_] = audit.recent(10)
    assert (first.when(), first.action, first.duration) == ("2023-11-14T22:13:20Z", "ban", 7200)
    assert audit.recent(0) == [] and len(audit.recent(-1)) == 0


def test_stored_name_keys_follow_a_new_name_rule(db: Path) -> None:
    """Keys made by an older comparison rule are computed again from the names kept beside them,
    as the accounts' and the history's are."""
    mod = reopen(db, Clock())
    accounts = Accounts(db)
    accounts.add("alice", "pw")
    accounts.close()
    mod.bans.ban(parse_target("Mallory"), "root")
    mod.mutes.mute(name_key("bob"), "bob", "root")
    mod.ignores.ignore(name_key("alice"), name_key("troll"), "troll")
    mod.close()
    raw = sqlite3.connect(db, isolation_level=None)
    raw.execute("UPDATE bans SET target = 'stale-' || target")
    raw.execute("UPDATE mutes SET key = 'stale-' || key")
    raw.execute("UPDATE ignores SET target = 'stale-' || target")
    raw.execute("UPDATE name_keys SET rule = 'an older rule'")
    raw.close()
    again = reopen(db, Clock())
    assert again.bans.check_name(name_key("mallory")) is not None
    assert again.mutes.check(name_key("bob")) is not None
    assert again.ignores.ignorers_of(name_key("troll")) == {name_key("alice")}
    again.close()

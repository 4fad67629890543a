"""``GET /metrics`` on the web port, over real sockets: the counters move by exactly what
happened, refused logins are labelled by their error code, a stalled reader is counted as
too_slow, each chat message is timed once, flood-control waits and the history writer are
counted."""

from __future__ import annotations

import json
import math
import socket
from pathlib import Path
from typing import Any

import pytest

from messenger import __version__
from messenger.core.store import SQLiteStore
from messenger.protocol.frames import ErrorCode

from .conftest import RawClient
from .metricstools import (
    PONG,
    barrier,
    log_in,
    messages,
    metered,
    moved,
    scrape,
)

pytestmark = pytest.mark.timeout(20)


def test_two_clients_three_messages_move_every_counter_by_what_happened(started) -> None:
    server = metered(started)
    alice, bob = log_in(server, "alice"), log_in(server, "bob")
    alice.until(lambda line: '"bob"' in line)  # bob's joined
    barrier(alice)
    before = scrape(server)
    for number in range(3):
        alice.send_json({"type": "say", "text": f"hello {number}"})
    lines = messages(alice, 3) + messages(bob, 3)
    barrier(alice)
    after = scrape(server)

    assert moved(after, before, "messenger_messages_received_total", "messenger_deliveries_total") == {
        "messenger_messages_received_total": 3,
        "messenger_deliveries_total": 3 * 2 + 1,  # each message to both, and the second pong
    }
    assert moved(after, before, "messenger_fanout_latency_seconds_count") == {
        "messenger_fanout_latency_seconds_count": 3
    }
    # The kernel took the six message lines and the second pong; the first pong may have been
    # counted before or after the first scrape, the second before or after the last one.
    sent = sum(len(line.encode()) + 1 for line in lines)
    extra = moved(after, before, "messenger_sent_bytes_total")["messenger_sent_bytes_total"] - sent
    assert extra in (0, len(PONG), 2 * len(PONG))
    assert after["messenger_members"] == 2
    assert after["messenger_rooms"] == 1
    assert after["messenger_logins_total"] == 2
    assert after['messenger_connections{transport="tcp"}'] == 2
    assert after['messenger_connections{transport="web"}'] == 1  # this scrape's own connection
    assert after['messenger_connections_opened_total{transport="web"}'] == 2  # and the first one
    assert after["messenger_too_slow_total"] == after["messenger_flood_delays_total"] == 0
    assert after[f'messenger_build_info{{version="{__version__}"}}'] == 1
    alice.close()
    bob.close()


def test_refused_logins_are_counted_by_their_error_code(started) -> None:
    server = metered(started, max_clients=2, password="sesame")
    clients = []

    def hello(name: str, password: str | None = "sesame") -> dict[str, Any]:
        client = RawClient(server.port)
        clients.append(client)
        client.send_json({"type": "hello", "user": name, "password": password, "history": 0})
        return client.frame()

    assert hello("alice")["type"] == "welcome"
    assert hello("no way")["code"] == "bad_name"
    assert hello("alice")["code"] == "name_taken"
    assert hello("carol", "wrong")["code"] == "bad_password"
    assert hello("dave", None)["code"] == "password_required"  # asked for, not refused
    assert hello("bob")["type"] == "welcome"
    assert hello("erin")["code"] == "server_full"
    clients[0].until(lambda line: '"bob"' in line)
    clients[0].send_json({"type": "hello", "user": "alice", "password": "sesame"})
    assert clients[0].until(lambda line: '"error"' in line)[-1].find("already_logged_in") > 0

    samples = scrape(server)
    refused = {
        key.split('"')[1]: value
        for key, value in samples.items()
        if key.startswith("messenger_logins_refused_total{")
    }
    assert {code: count for code, count in refused.items() if count} == {
        "bad_name": 1,
        "name_taken": 1,
        "bad_password": 1,
        "server_full": 1,
        "already_logged_in": 1,
    }
    assert set(refused) <= {code.value for code in ErrorCode}  # a fixed set of labels
    assert samples["messenger_logins_total"] == 2
    for client in clients:
        client.close()


def test_a_stalled_reader_cut_off_is_counted_as_too_slow(started) -> None:
    server = metered(started, sendq=256 * 1024)
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: it fills soon
    stalled.connect(("127.0.0.1", server.port))
    stalled.sendall(b'{"type":"hello","user":"stalled"}\n')  # and never reads again
    alice = log_in(server, "alice")
    payload = "x" * 8000
    for number in range(100):  # up to 6.4 MB; it ends at the cut-off
        for index in range(8):
            alice.send_json({"type": "say", "text": f"{number}.{index} {payload}"})
        last = f'"{number}.7 '
        seen = alice.until(lambda line, last=last: last in line)
        if any('"too_slow"' in line for line in seen):
            break
    else:
        pytest.fail("the stalled reader was never cut off")
    samples = scrape(server)
    assert samples["messenger_too_slow_total"] == 1
    assert samples["messenger_members"] == 1
    alice.close()
    stalled.close()


def test_each_chat_message_is_timed_once_whatever_its_entries(started) -> None:
    """A lobby message to a text-mode member in another room goes out as two log entries (one
    ``aside``), a private message as one for two people; each is one observation."""
    server = metered(started)
    alice = log_in(server, "alice")
    tom = RawClient(server.port)
    tom.send("tom\n")
    tom.until(lambda line: line == "tom has joined the chat!")
    tom.send("/join #side\n")
    assert tom.line() == "tom has joined #side"
    alice.until(lambda line: '"tom"' in line)
    barrier(alice)
    before = scrape(server)
    tom.send("in the side room\n")
    assert tom.line() == "tom: in the side room"
    alice.send_json({"type": "say", "text": "one"})
    alice.send_json({"type": "say", "text": "two"})
    alice.send_json({"type": "me", "text": "waves"})
    alice.send_json({"type": "say", "text": "psst", "to": "tom"})
    assert len(messages(alice, 4)) == 4
    assert len(tom.until(lambda line: "psst" in line)) == 4
    barrier(alice)
    after = scrape(server)
    names = ("messenger_messages_received_total", "messenger_fanout_latency_seconds_count")
    assert moved(after, before, *names) == dict.fromkeys(names, 5)
    # 2 lobby messages and a /me to both, one private to both, one to #side (tom), the pong.
    assert moved(after, before, "messenger_deliveries_total")["messenger_deliveries_total"] == 10
    buckets = sorted(
        (float(key.split('"')[1]), value)
        for key, value in after.items()
        if key.startswith("messenger_fanout_latency_seconds_bucket")
    )
    counts = [value for _, value in buckets]
    assert counts == sorted(counts) and math.isinf(buckets[-1][0])
    assert counts[-1] == after["messenger_fanout_latency_seconds_count"] == 5
    assert after["messenger_fanout_latency_seconds_sum"] > 0
    alice.close()
    tom.close()


def test_flood_control_waits_are_counted_and_not_timed_as_fan_out(started) -> None:
    server = metered(started, max_rate=4, burst=1)
    alice = RawClient(server.port)
    says = "".join(json.dumps({"type": "say", "text": f"m{n}"}) + "\n" for n in range(3))
    alice.send(json.dumps({"type": "hello", "user": "alice", "history": 0}) + "\n" + says)
    assert len(messages(alice, 3)) == 3  # the hello took the one token: each say waited
    barrier(alice)  # the ping waited too
    samples = scrape(server)
    # Each say waited; the ping almost surely too (it came right after the third say's wait).
    assert samples["messenger_flood_delays_total"] in (3, 4)
    assert samples["messenger_flood_delay_seconds_total"] > 0.5  # about 3 or 4 x 0.25 s
    assert samples["messenger_fanout_latency_seconds_count"] == 3
    # Timed from the end of each wait: the waits (a second in all) are not the server's work.
    assert samples["messenger_fanout_latency_seconds_sum"] < samples["messenger_flood_delay_seconds_total"]
    alice.close()


def test_history_writer_lag_and_counts(started, tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "history.db")
    server = metered(started, store=store)
    alice = log_in(server, "alice")
    with store._db_lock:  # the writer cannot commit meanwhile
        for number in range(3):
            alice.send_json({"type": "say", "text": f"kept {number}"})
        messages(alice, 3)
        stuck = scrape(server)
    store.flush()
    done = scrape(server)
    assert stuck["messenger_history_queued_messages"] >= 1
    assert stuck["messenger_history_lag_seconds"] > 0
    assert done["messenger_history_queued_messages"] == done["messenger_history_lag_seconds"] == 0
    assert done["messenger_history_written_messages_total"] == 3
    assert done["messenger_history_dropped_messages_total"] == 0
    alice.close()


# -- no names -----------------------------------------------------------------------------------

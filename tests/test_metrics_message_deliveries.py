"""``messenger_message_deliveries_total`` counts chat messages only: a presence summary sent in
the same operation (a crowd's untold arrival, told before the newcomer speaks) moves the
deliveries but not the message deliveries, which the benchmark compares with what its clients
counted (real sockets, one scrape before and one after)."""

from __future__ import annotations

import pytest

from .metricstools import barrier, log_in, messages, metered, moved, scrape

pytestmark = pytest.mark.timeout(20)

DELIVERIES = "messenger_deliveries_total"
MESSAGE_DELIVERIES = "messenger_message_deliveries_total"


def test_a_summary_told_with_a_message_is_not_a_message_delivery(started) -> None:
    server = metered(started, crowd=2, presence_interval=3600.0)  # summaries only when due
    clients = [log_in(server, name) for name in ("alice", "bob", "carol")]
    dave = log_in(server, "dave")  # the lobby is crowded: dave's arrival is not told yet
    for client in (*clients, dave):
        barrier(client)
    before = scrape(server)
    dave.send_json({"type": "say", "text": "hello all"})
    for client in (*clients, dave):
        assert '"hello all"' in messages(client, 1)[0]
        barrier(client)
    counts = moved(scrape(server), before, DELIVERIES, MESSAGE_DELIVERIES)
    assert counts[MESSAGE_DELIVERIES] == 4  # the message to each member, dave's copy included
    assert counts[DELIVERIES] == 4 + 4 + 4  # and the summary before it, and each pong


def test_a_private_message_counts_its_two_copies(started) -> None:
    server = metered(started)
    alice, bob = log_in(server, "alice"), log_in(server, "bob")
    barrier(alice)
    before = scrape(server)
    alice.send_json({"type": "say", "text": "psst", "to": "bob"})
    assert '"psst"' in messages(bob, 1)[0] and '"psst"' in messages(alice, 1)[0]
    barrier(alice)
    counts = moved(scrape(server), before, DELIVERIES, MESSAGE_DELIVERIES)
    assert counts[MESSAGE_DELIVERIES] == 2
    assert counts[DELIVERIES] == 3  # and alice's pong

"""The server's own figures, read from ``GET /metrics`` on messenger's web port around the phases
of a run, and checked against what the generator counted.  The naive server and ngircd have no
/metrics: their figures stay None (shown as "–")."""

from __future__ import annotations

from typing import Any

from metrics_scrape import difference, quantile, scrape

from fanbench.config import HOST

Samples = dict[str, float]
LATENCY = "messenger_fanout_latency_seconds"
REFUSED = "messenger_logins_refused_total{"
MESSAGE_DELIVERIES = "messenger_message_deliveries_total"


def take(server: Any) -> Samples | None:
    """One scrape of the server's /metrics (of every node of a cluster, summed), or None when it
    has none.  A failed scrape raises (OSError): a run whose figures cannot be read is a failed
    run."""
    if not server.has_metrics:
        return None
    total: Samples = {}
    for port in server.metrics_ports:
        for key, value in scrape(HOST, port).items():
            total[key] = total.get(key, 0.0) + value
    return total


def fold(result: Any, start: Samples | None, before: Samples | None, after: Samples | None) -> None:
    """Set ``result``'s server_* figures from three scrapes: at the start of the run, before the
    message phase and after it.  Counts and latency are the message phase's; cut-offs and
    refused logins are the whole run's (login included)."""
    if start is None or before is None or after is None:
        return
    phase = difference(after, before)
    run = difference(after, start)
    # Chat messages only: a presence summary of late logins sent during the phase (a storm of
    # 10,000) is a delivery the generator does not count.  A build before that counter (an
    # export on PYTHONPATH) has only every frame's count.
    result.server_deliveries = phase.get(MESSAGE_DELIVERIES, phase.get("messenger_deliveries_total", 0.0))
    result.server_messages = phase.get("messenger_messages_received_total", 0.0)
    result.server_rounds = phase.get("messenger_flusher_rounds_total", 0.0)
    result.server_fanout_p50_ms = quantile(phase, LATENCY, 0.50) * 1000
    result.server_fanout_p99_ms = quantile(phase, LATENCY, 0.99) * 1000
    result.server_too_slow = run.get("messenger_too_slow_total", 0.0)
    result.server_refused = sum(value for key, value in run.items() if key.startswith(REFUSED))
    result.server_counts_match = counts_match(result)


def counts_match(result: Any) -> bool | None:
    """Whether the server's counts are the generator's: every message frame the server queued
    reached a generator client (a message to all is one frame per member, its sender's echo
    included) and every message it accepted came back to its sender.  None when it cannot be
    told: stalled readers are members whose frames the generator does not count, and IRC
    clients get no echo.  On a cluster (nodes summed) only the deliveries are compared: a node
    counts a message once per delivering step, which may carry several read from Redis."""
    if result.stalled or result.transport == "irc":
        return None
    frames = result.deliveries + result.echoes
    if result.nodes:
        return result.server_deliveries == frames
    return result.server_deliveries == frames and result.server_messages == result.echoes


def mismatch(result: Any) -> str | None:
    """The line that reports a mismatch, if there is one."""
    if result.server_counts_match is not False:
        return None
    return (
        f"the server counted {result.server_deliveries:,.0f} deliveries and"
        f" {result.server_messages:,.0f} messages; the generator {result.deliveries + result.echoes:,}"
        f" frames ({result.deliveries:,} deliveries and {result.echoes:,} echoes)"
    )

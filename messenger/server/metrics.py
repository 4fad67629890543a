"""``GET /metrics``: the server's figures in Prometheus's text format, made with
``prometheus_client`` at scrape time.

Every figure is a plain number kept where it happens (counters.py says who writes which); the
collector below only reads them when Prometheus asks, so the message path never touches a
Prometheus object or its lock.  Each ChatServer has its own ``CollectorRegistry`` (tests run many
servers in one process).  The process's own figures (CPU seconds, resident memory, open files)
come from prometheus_client's process collector, and ``python_info`` from its platform collector.

No label holds anything a user chose (names, rooms, texts): labels come from fixed sets, the
transports and the protocol's error codes.  docs/operations.md lists every metric.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from .._version import __version__
from ..core.store import SQLiteStore
from ..protocol.frames import ErrorCode
from .webpages import Answer

if TYPE_CHECKING:
    from .tcp import ChatServer

# Why a ``hello`` can be refused: always listed (at 0 until it happens), so that rates work.
LOGIN_REFUSALS = tuple(
    code.value
    for code in (
        ErrorCode.BAD_NAME,
        ErrorCode.NAME_TAKEN,
        ErrorCode.NAME_REGISTERED,
        ErrorCode.BAD_PASSWORD,
        ErrorCode.PASSWORD_REQUIRED,
        ErrorCode.RATE_LIMITED,
        ErrorCode.BANNED,
        ErrorCode.SERVER_FULL,
        ErrorCode.ALREADY_LOGGED_IN,
    )
)


def counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value=value)


def gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


class ServerCollector(Collector):
    """Reads one ChatServer's figures at scrape time."""

    def __init__(self, server: ChatServer) -> None:
        self.server = server
        self.started = time.time()

    def collect(self) -> Iterator[Metric]:
        yield InfoMetricFamily("messenger_build", "The server's version.", value={"version": __version__})
        yield gauge("messenger_start_time_seconds", "When the server started (Unix time).", self.started)
        yield from self._connections()
        yield from self._delivery()
        history = self.server.store
        if isinstance(history, SQLiteStore):
            yield from self._history(history)

    def _connections(self) -> Iterator[Metric]:
        readers, registry = self.server.reader_stats, self.server.registry
        open_now = GaugeMetricFamily(
            "messenger_connections", "Connections open now, by transport.", labels=["transport"]
        )
        opened = CounterMetricFamily(
            "messenger_connections_opened", "Connections accepted, by transport.", labels=["transport"]
        )
        for transport, count in readers.open.items():
            open_now.add_metric([transport], count)
            opened.add_metric([transport], readers.opened[transport])
        yield open_now
        yield opened
        yield gauge("messenger_members", "Members logged in now.", len(registry))
        yield gauge("messenger_rooms", "Rooms that exist now, the lobby included.", registry.room_count())
        yield counter("messenger_logins", "Logins accepted.", readers.logins)
        refused = CounterMetricFamily(
            "messenger_logins_refused", "Logins refused, by the error code answered.", labels=["reason"]
        )
        counts = readers.refused_counts()
        for code in sorted({*LOGIN_REFUSALS, *counts}):
            refused.add_metric([code], counts.get(code, 0))
        yield refused
        yield counter("messenger_flood_delays", "Lines held back by flood control.", readers.flood_delays)
        yield counter(
            "messenger_flood_delay_seconds",
            "Time lines were held back by flood control, in all.",
            readers.flood_delay_seconds,
        )

    def _delivery(self) -> Iterator[Metric]:
        stats = self.server.chat_log.stats
        yield counter(
            "messenger_messages_received", "Chat messages accepted (say, me, private).", stats.messages
        )
        yield counter(
            "messenger_deliveries",
            "Frames queued for a connection (a frame for everyone counts once per member).",
            stats.deliveries,
        )
        yield counter(
            "messenger_message_deliveries",
            "Chat messages queued for a connection (of the deliveries; the sender's own copy included).",
            stats.message_deliveries,
        )
        yield counter(
            "messenger_sent_bytes", "Bytes the kernel took from the delivery thread.", stats.bytes_sent
        )
        yield counter("messenger_too_slow", "Connections cut off for not reading (too_slow).", stats.too_slow)
        yield counter("messenger_flusher_rounds", "Rounds of the delivery thread.", stats.rounds)
        fanout = stats.fanout
        yield HistogramMetricFamily(
            "messenger_fanout_latency_seconds",
            "Per chat message: from reading it to the end of the delivery round that first sent it.",
            buckets=fanout.cumulative(),
            sum_value=fanout.sum,
        )

    def _history(self, store: SQLiteStore) -> Iterator[Metric]:
        figures = store.figures()
        yield gauge("messenger_history_queued_messages", "Messages waiting to be committed.", figures.queued)
        yield gauge(
            "messenger_history_lag_seconds",
            "Age of the oldest message not yet committed to the history (0 when none waits).",
            figures.lag,
        )
        yield counter(
            "messenger_history_written_messages", "Messages committed to the history.", figures.written
        )
        yield counter(
            "messenger_history_dropped_messages",
            "Messages given up while the history could not be written.",
            figures.dropped,
        )
        yield counter("messenger_history_write_failures", "Failed history commits.", figures.failures)


class ServerMetrics:
    """One server's metrics registry and its HTTP answer."""

    def __init__(self, server: ChatServer) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(ServerCollector(server))
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)

    def answer(self, accept: str | None) -> Answer:
        """The exposition, in the format ``accept`` prefers (Prometheus's text format unless it
        asks for OpenMetrics)."""
        encoder, content_type = choose_encoder(accept or "")
        body = encoder(self.registry)
        headers = (("Content-Type", content_type), ("Cross-Origin-Resource-Policy", "same-origin"))
        return Answer(200, body, headers)

"""The benchmarks read the server's own figures from /metrics."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
import time
from typing import Any

import pytest

from .metricstools import (
    BENCHMARKS,
    barrier,
    log_in,
    messages,
    metered,
    web_port,
)

pytestmark = pytest.mark.timeout(20)


def load_scraper() -> Any:
    spec = importlib.util.spec_from_file_location("metrics_scrape", BENCHMARKS / "metrics_scrape.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def scrape_until(reader: Any, port: int, before: dict[str, float], name: str) -> dict[str, float]:
    """The change since ``before`` once the figure ``name`` has grown (or after 5 s)."""
    deadline = time.monotonic() + 5
    while True:
        change = reader.difference(reader.scrape("127.0.0.1", port), before)
        if change.get(name, 0) > 0 or time.monotonic() > deadline:
            return change
        time.sleep(0.005)


def test_the_benchmark_reads_the_servers_figures(started) -> None:
    reader = load_scraper()
    server = metered(started)
    before = reader.scrape("127.0.0.1", web_port(server))
    alice = log_in(server, "alice")
    alice.send_json({"type": "say", "text": "counted"})
    messages(alice, 1)
    barrier(alice)
    # Its fan-out latency is recorded at the end of the Flusher's round, which may come just
    # after the sender read its copy: wait for the histogram to count it.
    change = scrape_until(reader, web_port(server), before, "messenger_fanout_latency_seconds_count")
    assert change["messenger_messages_received_total"] == 1
    assert change['messenger_connections_opened_total{transport="tcp"}'] == 1
    assert reader.quantile(change, "messenger_fanout_latency_seconds", 0.5) > 0
    alice.close()


def test_the_benchmarks_quantile_interpolates_as_prometheus_does() -> None:
    reader = load_scraper()
    bucket = 'h_bucket{{le="{}"}}'.format
    samples = {bucket("0.001"): 50.0, bucket("0.002"): 100.0, bucket("+Inf"): 100.0}
    assert reader.quantile(samples, "h", 0.99) == pytest.approx(0.00198)
    assert reader.quantile(samples, "h", 0.25) == pytest.approx(0.0005)
    assert math.isnan(reader.quantile({bucket("+Inf"): 0.0}, "h", 0.5))
    assert reader.quantile({bucket("0.5"): 1.0, bucket("+Inf"): 3.0}, "h", 0.9) == 0.5


def test_the_internal_latency_benchmark_counts_what_it_sent() -> None:
    command = [sys.executable, str(BENCHMARKS / "internal_latency.py"), "--clients", "6", "--senders", "2"]
    done = subprocess.run(
        [*command, "--rate", "40", "--seconds", "0.5"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["sent"] > 0
    assert figures["messages"] == figures["sent"]
    assert figures["deliveries"] == figures["sent"] * 6  # everyone is in the lobby, the sender too
    assert figures["too_slow"] == 0 and figures["p99_ms"] > 0

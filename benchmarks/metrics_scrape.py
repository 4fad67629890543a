"""Read a messenger server's own figures from ``GET /metrics`` on its web port, for the
benchmarks: the samples as a dict, and a quantile of a histogram.

    samples = scrape("127.0.0.1", 8080)
    samples["messenger_deliveries_total"]
    samples['messenger_connections{transport="tcp"}']
    quantile(samples, "messenger_fanout_latency_seconds", 0.99)

A sample's key is its name, followed by its labels in braces (sorted by label name, values as
Prometheus writes them) when it has any.  Subtract two scrapes (``difference``) to get what
happened between them.
"""

from __future__ import annotations

import math
import ssl
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

TIMEOUT = 10.0


def sample_key(name: str, labels: dict[str, str]) -> str:
    """The key ``scrape`` files a sample under."""
    if not labels:
        return name
    inner = ",".join(f'{label}="{value}"' for label, value in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def parse(text: str) -> dict[str, float]:
    """Every sample of a Prometheus text exposition, by ``sample_key``."""
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[sample_key(sample.name, sample.labels)] = float(sample.value)
    return samples


def scrape(
    host: str, port: int, timeout: float = TIMEOUT, tls: ssl.SSLContext | None = None
) -> dict[str, float]:
    """The samples of ``http(s)://host:port/metrics`` (``tls``: the context for https)."""
    scheme = "https" if tls is not None else "http"
    bracketed = f"[{host}]" if ":" in host else host
    url = f"{scheme}://{bracketed}:{port}/metrics"
    with urllib.request.urlopen(url, timeout=timeout, context=tls) as answer:
        return parse(answer.read().decode("utf-8"))


def difference(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    """What each sample moved by between two scrapes (samples only in ``after`` count from 0)."""
    return {key: value - before.get(key, 0.0) for key, value in after.items()}


def quantile(samples: dict[str, float], histogram: str, q: float) -> float:
    """The ``q`` quantile (0..1) of ``histogram``'s buckets in ``samples`` (one scrape, or a
    ``difference``), interpolated linearly inside its bucket as Prometheus's
    ``histogram_quantile`` does; NaN when it holds no observation."""
    prefix = f'{histogram}_bucket{{le="'
    buckets = sorted(
        (float(key[len(prefix) : -2]), count) for key, count in samples.items() if key.startswith(prefix)
    )
    if not buckets or buckets[-1][1] <= 0:
        return math.nan
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound  # above the highest finite bound: that bound, as Prometheus
            share = (rank - lower_count) / (count - lower_count) if count > lower_count else 1.0
            return lower_bound + (bound - lower_bound) * share
        lower_bound, lower_count = bound, count
    return lower_bound

"""The report: medians, ratios, the table and the JSON."""

from __future__ import annotations

import json
import math
import statistics
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from fanbench.config import Config
from fanbench.metrics import mismatch
from fanbench.run import RunResult
from fanbench.server import label


@dataclass(frozen=True)
class Row:
    """One line of the results table: a RunResult field, how to show it, how to combine runs."""

    label: str
    key: str
    fmt: str
    worst: bool = False  # combine repeats by the worst value instead of the median
    messages_only: bool = False  # hidden in idle runs (rates of a single message say nothing)
    metrics: bool = False  # from the server's /metrics: "–" for a server without it


ROWS = (
    Row("deliveries/s", "deliveries_per_s", "{:,.0f}", messages_only=True),
    Row("latency p50 (ms)", "latency_p50_ms", "{:.1f}", messages_only=True),
    Row("latency p99 (ms)", "latency_p99_ms", "{:.1f}", messages_only=True),
    Row("latency max (ms)", "latency_max_ms", "{:.1f}", messages_only=True),
    Row("deliveries", "deliveries", "{:,.0f}", worst=True),
    Row("expected", "expected", "{:,.0f}"),
    Row("lost", "lost", "{:,.0f}", worst=True),
    Row("echoes / expected", "echoes", "{:,.0f}", worst=True),
    Row("receivers complete", "complete_clients", "{:,.0f}", worst=True),
    Row("receivers disconnected", "disconnected", "{:,.0f}", worst=True),
    Row("order errors", "order_errors", "{:,.0f}", worst=True),
    Row("server: message deliveries (/metrics)", "server_deliveries", "{:,.0f}", metrics=True),
    Row("server: messages (/metrics)", "server_messages", "{:,.0f}", metrics=True),
    Row("server counts = generator's", "server_counts_match", "{}", worst=True, metrics=True),
    Row("server: fan-out p50 (ms)", "server_fanout_p50_ms", "{:.2f}", metrics=True, messages_only=True),
    Row("server: fan-out p99 (ms)", "server_fanout_p99_ms", "{:.2f}", metrics=True, messages_only=True),
    Row("server: delivery rounds", "server_rounds", "{:,.0f}", metrics=True),
    Row("server: too_slow cut-offs", "server_too_slow", "{:,.0f}", worst=True, metrics=True),
    Row("server: refused logins", "server_refused", "{:,.0f}", worst=True, metrics=True),
    Row("stalled readers cut off", "stalled_cut_off", "{:,.0f}"),
    Row("window (s)", "window_s", "{:.2f}", messages_only=True),
    Row("connect+login (s)", "login_s", "{:.2f}"),
    Row("server CPU login (s)", "server_cpu_login_s", "{:.2f}"),
    Row("server CPU messages (s)", "server_cpu_s", "{:.2f}", messages_only=True),
    Row("server CPU per million deliveries (s)", "server_cpu_per_million_s", "{:.2f}", messages_only=True),
    Row("  of which redis-server (s)", "redis_cpu_per_million_s", "{:.2f}", messages_only=True),
    Row("server RSS start (MiB)", "server_rss_start_mb", "{:.1f}"),
    Row("server RSS logged in (MiB)", "server_rss_idle_mb", "{:.1f}"),
    Row("server RSS per connection (KiB)", "server_rss_per_conn_kb", "{:.1f}"),
    Row("server RSS end / peak (MiB)", "server_rss_end_mb", "{:.1f}"),
    Row("server threads", "server_threads", "{:,.0f}"),
    Row("generator CPU (s)", "generator_cpu_s", "{:.2f}", messages_only=True),
    Row("generator busy (% of its cores)", "generator_busy_pct", "{:.0f}", messages_only=True),
    Row("server log lines", "server_log_lines", "{:,.0f}", worst=True),
)

# Smaller is worse for these; for every other "worst" row larger is worse.
LOWER_IS_WORSE = {"deliveries", "echoes", "complete_clients", "stalled_cut_off", "server_counts_match"}
RATIO_KEYS = (
    "deliveries_per_s",
    "latency_p50_ms",
    "latency_p99_ms",
    "login_s",
    "server_cpu_per_million_s",
    "server_rss_idle_mb",
)
WEB_RATIO_KEYS = (
    *RATIO_KEYS,
    "server_cpu_login_s",
    "server_cpu_per_million_s",
    "server_rss_per_conn_kb",
    "generator_cpu_s",
)


def combine(row: Row, values: Sequence[float | None]) -> float | None:
    """The median of the runs, or the worst run for correctness figures.  None (a latency that
    never came) counts as infinitely large."""
    numbers = [math.inf if value is None else value for value in values]
    if row.worst:
        combined = min(numbers) if row.key in LOWER_IS_WORSE else max(numbers)
    else:
        combined = statistics.median(numbers)
    return None if math.isinf(combined) else combined


Summary = dict[str, dict[str, float | None]]


def summarise(config: Config, results: Sequence[RunResult]) -> Summary:
    """Per setup (server, and " web" for WebSocket clients): every table figure combined over
    the repeats."""
    summary: Summary = {}
    for setup in config.setups:
        name = config.label(setup)
        runs = [asdict(r) for r in results if r.setup == setup and not r.error]
        if runs:
            summary[name] = {row.key: combine(row, [run[row.key] for run in runs]) for row in ROWS}
            summary[name]["server_rss_peak_mb"] = statistics.median(run["server_rss_peak_mb"] for run in runs)
            summary[name]["expected_echoes"] = max(run["expected_echoes"] for run in runs)
    return summary


def ratios(summary: Summary) -> dict[str, float]:
    """messenger / naive for the headline figures, when both ran."""
    return _ratios(summary, "messenger", "naive", RATIO_KEYS)


def ngircd_ratios(summary: Summary) -> dict[str, float]:
    """messenger / ngircd for the headline figures, when both ran."""
    return _ratios(summary, "messenger", "ngircd", RATIO_KEYS)


def web_ratios(summary: Summary) -> dict[str, float]:
    """messenger with web clients / messenger with TCP clients, when both ran."""
    return _ratios(summary, label("messenger", "web"), "messenger", WEB_RATIO_KEYS)


def _ratios(summary: Summary, top: str, bottom: str, keys: Sequence[str]) -> dict[str, float]:
    """``top`` / ``bottom`` for ``keys``.  No throughput ratio when either lost messages: a rate
    over what happened to arrive compares nothing."""
    if top not in summary or bottom not in summary:
        return {}
    mine, naive = summary[top], summary[bottom]
    lossy = bool(mine.get("lost") or naive.get("lost"))
    found = {}
    for key in keys:
        numerator, denominator = mine.get(key), naive.get(key)
        if numerator is not None and denominator and not (lossy and key == "deliveries_per_s"):
            found[key] = numerator / denominator
    return found


def render_table(config: Config, results: Sequence[RunResult], summary: Summary) -> Table:
    """The results as a Rich table: one column per setup, plus the ratios of those that ran."""
    how = f"median of {config.repeat} runs" if config.repeat > 1 else "one run"
    sources = sorted({f"{r.server}: {r.server_source}" for r in results if r.server_source})
    table = Table(
        title=f"{describe(config)} ({how}; correctness rows: worst run)", caption="; ".join(sources)
    )
    table.add_column("figure")
    for name in summary:
        table.add_column(name, justify="right")
    shown = [(title, found) for title, found in ratio_columns(summary) if found]
    for title, _ in shown:
        table.add_column(title, justify="right")
    for row in ROWS:
        if row.messages_only and config.idle:
            continue
        cells = [_cell(row, summary[name], config) for name in summary]
        for _, found in shown:
            ratio = found.get(row.key)
            cells.append("" if ratio is None else f"{ratio:.2f}×")
        table.add_row(row.label, *cells)
    if config.repeat > 1 and not config.idle:
        for title, key, fmt in EACH_RUN:
            per_run = [
                ", ".join(each(fmt, getattr(r, key)) for r in results if r.setup == setup and not r.error)
                for setup in config.setups
                if config.label(setup) in summary
            ]
            table.add_row(f"{title}, each run", *per_run, *[""] * len(shown))
    return table


# The figures shown run by run too (their range), with --repeat.
EACH_RUN = (
    ("deliveries/s", "deliveries_per_s", "{:,.0f}"),
    ("latency p99 (ms)", "latency_p99_ms", "{:.1f}"),
    ("server CPU s/M", "server_cpu_per_million_s", "{:.2f}"),
)


def each(fmt: str, value: float | None) -> str:
    return "never" if value is None else fmt.format(value)


def ratio_columns(summary: Summary) -> list[tuple[str, dict[str, float]]]:
    return [
        ("messenger/naive", ratios(summary)),
        ("messenger/ngircd", ngircd_ratios(summary)),
        ("web/tcp", web_ratios(summary)),
    ]


def _cell(row: Row, figures: dict[str, float | None], config: Config) -> str:
    value = figures[row.key]
    if value is None:
        return "–" if row.metrics else "never (lost)"  # no /metrics, or counts not comparable
    if row.key == "server_counts_match":
        return "yes" if value else "NO"
    text = row.fmt.format(value)
    if row.key == "echoes":
        text += f" / {figures.get('expected_echoes') or 0:,.0f}"
    if row.key == "complete_clients":
        text += f" / {config.clients:,}"
    if row.key == "stalled_cut_off":
        text += f" / {config.stalled}"
    if row.key == "server_rss_end_mb":
        text += f" / {figures['server_rss_peak_mb'] or 0:.1f}"
    return text


def describe(config: Config) -> str:
    if config.idle:
        return f"idle: {config.clients:,} clients"
    rate = f"{config.rate:g}/s each" if config.rate else "flat out"
    if config.rates:
        rate = " and ".join(f"{r:g}/s each" if r else "flat out" for r in config.rates)
    stalled = f", {config.stalled} stalled readers" if config.stalled else ""
    history = "history in a file" if config.db == "file" else "history in memory"
    return (
        f"fan-out: {config.clients:,} clients, {config.senders} senders × {config.messages} messages"
        f" × {config.size} B, {rate}{stalled}, {history}"
    )


def report_problems(console: Console, results: Sequence[RunResult]) -> None:
    """Print run errors, client errors and server log lines, which the table cannot show."""
    for number, result in enumerate(results, 1):
        notes = [f"error: {result.error}"] if result.error else []
        if mismatch_line := mismatch(result):
            notes.append(f"counts differ: {mismatch_line}")
        if result.error and result.server_too_slow is not None:  # the table leaves failed runs out
            notes.append(
                f"server (/metrics): {result.server_too_slow:,.0f} cut off as too_slow,"
                f" {result.server_refused:,.0f} logins refused"
            )
        notes += [f"client: {line}" for line in result.client_errors]
        if result.server_log_lines:
            notes.append(f"server stderr ({result.server_log_lines} lines), first ones:")
            notes += [f"  {line}" for line in result.server_log]
        if notes:
            nodes = {None: "", 0: " (one server, no Redis)"}.get(result.nodes, f" ({result.nodes} nodes)")
            name = label(result.server, result.transport) + nodes
            console.print(f"[bold]run {number} ({name}):[/bold]", highlight=False)
            for note in notes:
                console.print(f"  {note}", markup=False, highlight=False, soft_wrap=True)


def write_json(target: str, config: Config, results: Sequence[RunResult], summary: dict[str, Any]) -> None:
    document = {
        "config": asdict(config),
        "expected_deliveries": config.expected_deliveries,
        "runs": [asdict(r) for r in results],
        "summary": summary,
        "ratio_messenger_over_naive": ratios(summary),
        "ratio_messenger_over_ngircd": ngircd_ratios(summary),
        "ratio_web_over_tcp": web_ratios(summary),
    }
    text = json.dumps(document, indent=2)
    if target == "-":
        sys.stdout.write(text + "\n")
    else:
        Path(target).write_text(text + "\n")

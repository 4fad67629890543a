"""The fan-out benchmark over several nodes (benchmarks/fanout.py --nodes) at a tiny scale: one
server without Redis and two nodes through a redis-server the benchmark starts, each flat out
and at a paced rate, interleaved in one invocation; every delivery counted, by the generator and
by the nodes' own /metrics.  Counts only, no timing."""

from __future__ import annotations

import pytest

from ..test_benchmark_smoke import RUN_TIMEOUT, run_fanout
from .redistools import require_redis

CLIENTS, SENDERS, MESSAGES, RATE = 7, 2, 10, 50


@pytest.mark.timeout(RUN_TIMEOUT + 10)
def test_fanout_over_nodes_counts_every_delivery_flat_out_and_paced() -> None:
    require_redis()
    args = ["--clients", str(CLIENTS), "--senders", str(SENDERS), "--messages", str(MESSAGES)]
    report = run_fanout(*args, "--nodes", "0,2", "--rate", f"0,{RATE}", "--db", ":memory:", "--workers", "1")
    runs = report["runs"]
    assert [(run["nodes"], run["rate"]) for run in runs] == [(0, 0), (0, RATE), (2, 0), (2, RATE)]
    expected = SENDERS * MESSAGES * (CLIENTS - 1)
    for run in runs:
        assert run["error"] is None, run
        assert run["deliveries"] == run["expected"] == expected
        assert run["echoes"] == SENDERS * MESSAGES
        assert run["order_errors"] == run["disconnected"] == 0
        # the nodes' own counts, summed, are the generator's: every frame reached a client
        assert run["server_deliveries"] == expected + run["echoes"]
        assert run["server_counts_match"] is True
        assert run["server_log_lines"] == 0
    assert all(run["redis_cpu_s"] == 0 for run in runs if run["nodes"] == 0)
    paced = [run for run in runs if run["rate"]]
    # a paced sender keeps its schedule: its last message leaves (M - 1) / R seconds after its first
    assert all(run["window_s"] >= (MESSAGES - 1) / RATE for run in paced)
    assert set(report["summary"]) == {
        "1 server flat out",
        f"1 server {RATE}/s",
        "2 nodes flat out",
        f"2 nodes {RATE}/s",
    }
    assert "of which redis-server" in report["table"]

"""Fan-out benchmark: N text-mode clients in one chat, S of them send M messages each.

    python benchmarks/fanout.py --clients 500 --senders 10 --messages 200 --size 64 --server both

The generator starts the server under test as a subprocess (``messenger serve`` or the naive
baseline in ``benchmarks/baselines/``), spreads the clients over worker processes that drive
non-blocking sockets with ``selectors``, logs every client in, releases all senders at once and
counts every message line that arrives.  A "delivery" is one message arriving at one client other
than its sender.  See benchmarks/README.md for what each reported figure means.

Run phases, per server and per repetition:

1. start the server, read its port from the banner;
2. login: every worker connects its clients and waits for each one's own join line;
3. stalled readers (``--stalled``) log in from the main process and never read again;
4. messages: senders send, everybody counts, until every expected delivery arrived or the
   time-out passed (``--idle``: one sender, one message to all);
5. collect the workers' reports, read the server's CPU and memory, and messenger's own figures
   from ``GET /metrics`` on its web port (scraped at the start and around the message phase),
   stop the server.

The generator connects only to 127.0.0.1, and every loop in it has a deadline.

This file is the entry point; the parts are in ``benchmarks/fanbench/`` (config, clients, worker,
server, metrics, run, report, cli).  The names below are re-exported for
tests/test_benchmark_smoke.py.
"""

from __future__ import annotations

import sys

from fanbench.cli import main, parse_args
from fanbench.clients import Client, Parser, Sender, WebClient, WebParser, WebSender, make_client
from fanbench.config import PROBE, RECEIVER, SENDER, ClientSpec, Config, plan_clients
from fanbench.run import Runner, RunResult
from wsclients import WebLogin

__all__ = [
    "PROBE",
    "RECEIVER",
    "SENDER",
    "Client",
    "ClientSpec",
    "Config",
    "Parser",
    "RunResult",
    "Runner",
    "Sender",
    "WebClient",
    "WebLogin",
    "WebParser",
    "WebSender",
    "main",
    "make_client",
    "parse_args",
    "plan_clients",
]

if __name__ == "__main__":
    sys.exit(main())

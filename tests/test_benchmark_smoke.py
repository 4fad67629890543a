"""Smoke runs of the fan-out benchmark (benchmarks/fanout.py): a tiny configuration against each
server, checking that the run completes and counts exactly.  No timing assertions."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
FANOUT = BENCHMARKS / "fanout.py"
CLIENTS, SENDERS, MESSAGES = 6, 2, 20
RUN_TIMEOUT = 90


def run_fanout(*args: str) -> dict[str, Any]:
    """Run the benchmark with JSON on stdout; fail with its output if it does not exit 0.  The
    table (on stderr) is returned as the report's "table"."""
    command = [sys.executable, str(FANOUT), "--repeat", "1", "--timeout", "30", "--json", "-", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert done.returncode == 0, f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return {**json.loads(done.stdout), "table": done.stderr}


METRICS_ROWS = (
    "server: message deliveries (/metrics)",
    "server: messages (/metrics)",
    "server counts = generator's",
    "server: delivery rounds",
    "server: too_slow cut-offs",
    "server: refused logins",
)


def check_server_figures(run: dict[str, Any], table: str) -> None:
    """messenger's own /metrics figures are in the table and count what the generator counted
    (a message to all is one frame per member, its sender's echo included); the naive server's
    are absent."""
    assert all(row in table for row in METRICS_ROWS), table
    if run["server"] != "messenger":
        assert run["server_deliveries"] is run["server_counts_match"] is run["server_too_slow"] is None
        return
    assert run["server_deliveries"] == run["deliveries"] + run["echoes"]
    assert run["server_messages"] == run["echoes"] == run["senders"] * run["messages"]
    assert run["server_counts_match"] is True
    assert run["server_rounds"] >= 1
    assert run["server_too_slow"] == run["server_refused"] == 0


@pytest.mark.timeout(RUN_TIMEOUT + 10)
@pytest.mark.parametrize(
    ("server", "transport"), [("messenger", "tcp"), ("naive", "tcp"), ("messenger", "web")]
)
def test_fanout_counts_every_delivery(server: str, transport: str) -> None:
    args = ("--clients", str(CLIENTS), "--senders", str(SENDERS), "--messages", str(MESSAGES))
    report = run_fanout("--server", server, "--transport", transport, *args)
    (run,) = report["runs"]
    expected = SENDERS * MESSAGES * (CLIENTS - 1)
    assert (run["server"], run["transport"]) == (server, transport)
    assert run["error"] is None
    assert run["expected"] == expected == report["expected_deliveries"]
    assert run["deliveries"] == expected
    assert run["lost"] == 0
    assert run["echoes"] == run["expected_echoes"] == SENDERS * MESSAGES
    assert run["complete_clients"] == CLIENTS
    assert run["disconnected"] == 0
    assert run["order_errors"] == 0
    assert run["latency_samples"] > 0
    assert run["server_exit"] is not None
    # CPU is read in 10 ms ticks: a run this small may show none, so only the arithmetic is checked.
    assert run["server_cpu_per_million_s"] == pytest.approx(run["server_cpu_s"] / expected * 1e6)
    check_server_figures(run, report["table"])
    if server == "messenger":
        assert 0 < run["server_fanout_p50_ms"] <= run["server_fanout_p99_ms"]
        assert "server: fan-out p99 (ms)" in report["table"]


@pytest.mark.timeout(RUN_TIMEOUT + 10)
def test_both_transports_alternate_in_one_run_and_compare() -> None:
    args = ("--clients", str(CLIENTS), "--senders", str(SENDERS), "--messages", str(MESSAGES))
    report = run_fanout("--transport", "both", *args)
    assert [run["transport"] for run in report["runs"]] == ["tcp", "web"]
    assert all(run["deliveries"] == run["expected"] and not run["order_errors"] for run in report["runs"])
    summary = report["summary"]
    assert set(summary) == {"messenger", "messenger web"}
    throughput = summary["messenger web"]["deliveries_per_s"] / summary["messenger"]["deliveries_per_s"]
    assert report["ratio_web_over_tcp"]["deliveries_per_s"] == pytest.approx(throughput)


@pytest.mark.timeout(RUN_TIMEOUT + 10)
def test_fanout_with_bans_and_ignores_in_place_counts_every_delivery() -> None:
    """The measure of moderation's cost: bans in the database and receivers ignoring someone
    not online change nothing that is delivered."""
    args = ("--clients", str(CLIENTS), "--senders", str(SENDERS), "--messages", str(MESSAGES))
    report = run_fanout("--server", "messenger", *args, "--bans", "40", "--ignores", "3")
    (run,) = report["runs"]
    assert run["error"] is None
    assert run["deliveries"] == run["expected"] == SENDERS * MESSAGES * (CLIENTS - 1)
    assert run["order_errors"] == run["disconnected"] == 0


@pytest.mark.timeout(RUN_TIMEOUT + 10)
def test_idle_mode_logs_everyone_in_then_reaches_everyone_with_one_message() -> None:
    """The login storm at a tiny scale: everyone logs in, nobody is cut or refused, one message
    reaches all, and the server's own count of it is the generator's."""
    report = run_fanout("--server", "messenger", "--idle", "8", "--workers", "3")
    (run,) = report["runs"]
    assert run["error"] is None
    assert run["idle"] is True
    assert (run["clients"], run["senders"], run["messages"]) == (8, 1, 1)
    assert run["login_failed"] == run["disconnected"] == 0
    assert run["deliveries"] == run["expected"] == 7
    assert run["complete_clients"] == 8
    assert run["server_deliveries"] == 8  # the sender's echo included
    check_server_figures(run, report["table"])
    assert run["server_rss_idle_mb"] > 0


def load_fanout() -> Any:
    """Import benchmarks/fanout.py (not a package) as a module, and wsclients.py beside it."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location("fanout_under_test", FANOUT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_marker_counting_survives_every_split() -> None:
    """A marker cut across recv chunks anywhere (even over three chunks) is counted once."""
    fanout = load_fanout()
    stream = b"c0 has joined the chat!\nc1: m 1 1 0 xx\nc2: m 2 2 0 x\nc1: m 3 1 1\n:\n: m: \n"
    spec = fanout.ClientSpec(index=9, role=fanout.RECEIVER)
    for first in range(len(stream) + 1):
        for second in range(first, min(len(stream), first + 6) + 1):
            client = fanout.Client(spec, port=0, owed=3)
            for chunk in (stream[:first], stream[first:second], stream[second:]):
                if chunk:
                    client.feed(chunk, 0)
            assert client.delivered == 3, (first, second)


def test_parser_separates_echoes_and_checks_order() -> None:
    fanout = load_fanout()
    parser = fanout.Parser(fanout.ClientSpec(index=1, role=fanout.PROBE), port=0, owed=3)
    lines = b"c1: m 100 1 0 x\nc2: m 100 2 0 x\nc2: m 100 2 2 x\nc2: m 1"
    assert parser.feed(lines, 150) == 2
    assert parser.feed(b"00 2 3\n", 180) == 1
    assert (parser.echoes, parser.delivered, parser.order_errors) == (1, 3, 1)
    assert parser.latencies == [50, 50, 80]
    assert parser.complete


def server_frames(*payloads: bytes) -> bytes:
    """Payloads as the server sends them: unmasked text frames (a short, a 16-bit and a 64-bit
    length among them when the payloads are that long)."""
    from messenger.protocol.websocket import text_frame

    return b"".join(text_frame(payload) for payload in payloads)


def test_web_marker_counting_survives_every_split() -> None:
    fanout = load_fanout()
    stream = server_frames(
        b'{"type":"joined","user":"c0"}',
        b'{"type":"message","id":1,"from":"c1","text":"m 1 1 0 xx"}',
        b'{"type":"message","id":2,"from":"c2","text":"m 2 2 0 ' + b"x" * 300 + b'"}',
        b'{"type":"notice","text":"m"}',
        b'{"type":"message","id":3,"from":"c1","text":"m 3 1 1 "}',
    )
    spec = fanout.ClientSpec(index=9, role=fanout.RECEIVER)
    for first in range(len(stream) + 1):
        for second in range(first, min(len(stream), first + 12) + 1):
            client = fanout.WebClient(spec, port=0, owed=3)
            for chunk in (stream[:first], stream[first:second], stream[second:]):
                if chunk:
                    client.feed(chunk, 0)
            assert client.delivered == 3, (first, second)


def test_web_parser_reads_frames_split_anywhere_and_checks_order() -> None:
    fanout = load_fanout()
    stream = server_frames(
        b'{"type":"message","id":1,"from":"c1","text":"m 100 1 0 x"}',
        b'{"type":"message","id":2,"from":"c2","text":"m 100 2 0 ' + b"x" * 70000 + b'"}',
        b'{"type":"message","id":3,"from":"c2","text":"m 100 2 2 x"}',
        b'{"type":"message","id":4,"from":"c2","text":"m 100 2 3 "}',
    )
    for cut in (*range(0, 80), len(stream) // 2, len(stream) - 3, len(stream)):
        parser = fanout.WebParser(fanout.ClientSpec(index=1, role=fanout.PROBE), port=0, owed=3)
        found = parser.feed(stream[:cut], 150) + parser.feed(stream[cut:], 180)
        assert (found, parser.echoes, parser.delivered, parser.order_errors) == (3, 1, 3, 1), cut


def test_web_sender_frames_are_masked_say_frames_a_server_reads() -> None:
    """What a web sender writes is what RFC 6455 asks of a client, read by wsproto's server."""
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import AcceptConnection, Request, TextMessage

    fanout = load_fanout()
    config = fanout.Config(
        servers=("messenger",), clients=3, senders=1, messages=3, size=300, rate=0.0, stalled=0,
        workers=1, probes=0, timeout=1.0, repeat=1, idle=False, sendq=None,
    )  # fmt: skip
    sender = fanout.WebSender(fanout.ClientSpec(index=4, role=fanout.SENDER), port=0, config=config)
    sender.produce(123)
    server = WSConnection(ConnectionType.SERVER)
    server.receive_data(fanout.WebLogin("127.0.0.1", 1, b"c4").request)
    assert isinstance(next(server.events()), Request)
    server.send(AcceptConnection())
    server.receive_data(bytes(sender._out))
    texts = [json.loads(event.data) for event in server.events() if isinstance(event, TextMessage)]
    assert [frame["type"] for frame in texts] == ["say"] * 3
    assert [frame["text"].split(" ")[:4] for frame in texts] == [["m", "123", "4", str(i)] for i in range(3)]
    assert all(len(frame["text"]) == 299 for frame in texts)  # the TCP line without its newline

"""``GET /metrics`` on the web port, over real sockets, read with prometheus_client's parser:
the counters move by exactly what happened, refused logins are labelled by their error code, a
stalled reader is counted as too_slow, each chat message is timed once, no name a user chose
appears anywhere, and the endpoint answers HTTP as it should (types, methods, other sites,
concurrent scrapes, ``--no-metrics``).

A counter written by the delivery thread (bytes, the latency histogram) moves once that thread's
round is over, a moment after a client has its bytes; a ``ping`` answered after them proves the
round over (its ``pong`` is sent by a later round)."""

from __future__ import annotations

import importlib.util
import json
import math
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from messenger import __version__
from messenger.core.store import SQLiteStore
from messenger.protocol.frames import ErrorCode
from messenger.server import ServerConfig

from .clitools import ServeProcess
from .conftest import RawClient, ServerThread
from .webclient import http_get

pytestmark = pytest.mark.timeout(20)

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
PONG = b'{"type":"pong"}\n'


@pytest.fixture
def started() -> Iterator[list[ServerThread]]:
    servers: list[ServerThread] = []
    yield servers
    for server in servers:
        server.stop()


def metered(started: list[ServerThread], store: SQLiteStore | None = None, **config: Any) -> ServerThread:
    """A server with its web port (and so /metrics) open."""
    config.setdefault("max_rate", 0)
    server = ServerThread(ServerConfig(**config), store=store)
    started.append(server)
    server.server.open_web(("127.0.0.1", 0))
    return server


def web_port(server: ServerThread) -> int:
    assert server.server.web is not None
    return server.server.web.port


def request(server: ServerThread, method: str = "GET", path: str = "/metrics", headers: str = "") -> Any:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{web_port(server)}\r\n{headers}\r\n"
    return http_get(web_port(server), head.encode())


def parse(body: bytes) -> dict[str, float]:
    """Samples by name and labels: ``name`` or ``name{label="value",...}`` (labels sorted)."""
    samples = {}
    for family in text_string_to_metric_families(body.decode("utf-8")):
        for sample in family.samples:
            labels = ",".join(f'{key}="{value}"' for key, value in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


def scrape(server: ServerThread) -> dict[str, float]:
    status, _, body = request(server)
    assert status == 200, body
    return parse(body)


def moved(after: dict[str, float], before: dict[str, float], *names: str) -> dict[str, float]:
    return {name: after[name] - before.get(name, 0.0) for name in names}


def log_in(server: ServerThread, name: str) -> RawClient:
    client = RawClient(server.port)
    client.send_json({"type": "hello", "user": name, "history": 0})
    client.until(lambda line: '"joined"' in line and f'"{name}"' in line)
    return client


def barrier(client: RawClient) -> None:
    """Once this returns, every delivery round that sent this client anything before is over."""
    client.send_json({"type": "ping"})
    client.until(lambda line: '"pong"' in line)


def messages(client: RawClient, count: int) -> list[str]:
    """The next ``count`` chat message lines (others skipped)."""
    return [client.until(lambda line: '"message"' in line)[-1] for _ in range(count)]


# -- what is counted ----------------------------------------------------------------------------


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


def test_no_name_a_user_chose_appears_even_when_it_looks_like_a_label(started) -> None:
    server = metered(started)
    names = ["version", "transport", "reason", "Zqx_Label", "le"]
    rooms = ["#zqxroom", "#tcp-x", "#web_"]
    clients = [log_in(server, name) for name in names]
    for room in rooms:
        clients[0].send_json({"type": "join", "room": room})
        clients[0].until(lambda line, room=room: '"joined"' in line and room in line)
        clients[0].send_json({"type": "say", "text": "Zqx text", "room": room})
    clients[1].send_json({"type": "hello", "user": "Zqx_Label"})  # refused: already logged in
    clients[1].until(lambda line: '"error"' in line)
    barrier(clients[0])
    status, _, body = request(server)
    assert status == 200
    assert "zqx" not in body.decode().casefold()
    chosen = {text.casefold() for text in names + rooms + [room[1:] for room in rooms]}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            for value in sample.labels.values():
                assert value.casefold() not in chosen, (sample.name, sample.labels)
    for client in clients:
        client.close()


# -- HTTP ---------------------------------------------------------------------------------------


def test_content_types_head_and_other_methods(started) -> None:
    server = metered(started)
    status, headers, body = request(server)
    assert status == 200
    assert headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cross-origin-resource-policy"] == "same-origin"
    assert int(headers["content-length"]) == len(body) and b"messenger_members " in body

    status, headers, body = request(server, "HEAD")
    assert (status, body) == (200, b"")
    assert headers["content-type"].startswith("text/plain") and int(headers["content-length"]) > 0

    status, headers, _ = request(server, "POST", headers="Content-Length: 0\r\n")
    assert (status, headers["allow"]) == (405, "GET, HEAD")

    status, headers, body = request(server, headers="Accept: application/openmetrics-text; version=1.0.0\r\n")
    assert status == 200
    assert headers["content-type"].startswith("application/openmetrics-text")
    assert body.endswith(b"# EOF\n")

    assert request(server, path="/metrics?debug=1")[0] == 200


def test_other_sites_pages_may_not_read_the_metrics(started) -> None:
    server = metered(started)
    own = f"http://127.0.0.1:{web_port(server)}"
    assert request(server, headers="Origin: https://evil.example\r\n")[0] == 403
    assert request(server, headers="Sec-Fetch-Site: cross-site\r\n")[0] == 403
    assert request(server, headers="Sec-Fetch-Site: same-site\r\n")[0] == 403
    assert request(server, headers=f"Origin: {own}\r\nSec-Fetch-Site: same-origin\r\n")[0] == 200
    assert request(server, headers="Sec-Fetch-Site: none\r\n")[0] == 200  # typed in the address bar


def test_concurrent_scrapes_while_people_chat(started) -> None:
    server = metered(started)
    alice, bob = log_in(server, "alice"), log_in(server, "bob")
    seen: list[list[float]] = [[] for _ in range(6)]
    failures: list[BaseException] = []

    def scraper(index: int) -> None:
        try:
            for _ in range(5):
                seen[index].append(scrape(server)["messenger_messages_received_total"])
        except BaseException as exc:  # reported by the test thread
            failures.append(exc)

    threads = [threading.Thread(target=scraper, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    for number in range(100):
        alice.send_json({"type": "say", "text": f"busy {number}"})
    messages(bob, 100)
    for thread in threads:
        thread.join(timeout=15)
    assert not failures
    assert all(len(values) == 5 and values == sorted(values) for values in seen)
    assert scrape(server)["messenger_messages_received_total"] == 100
    alice.close()
    bob.close()


def test_no_metrics_on_a_web_port_opened_without_them(started) -> None:
    server = ServerThread(ServerConfig(max_rate=0))
    started.append(server)
    server.server.open_web(("127.0.0.1", 0), metrics=False)
    assert request(server)[0] == 404
    assert request(server, path="/healthz")[0] == 200


@pytest.mark.parametrize("off", [False, True])
def test_serve_answers_metrics_unless_told_not_to(off: bool) -> None:
    env = {"MESSENGER_NO_METRICS": "1"} if off else None
    served = ServeProcess("--port", "0", "--web-port", "0", env=env)
    try:
        assert served.web_url is not None
        port = int(served.web_url.rstrip("/").rsplit(":", 1)[1])
        status, _, body = http_get(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status == (404 if off else 200)
        assert (b"messenger_build_info" in body) is not off
    finally:
        served.stop()


# -- the benchmark's reader ---------------------------------------------------------------------


def load_scraper() -> Any:
    spec = importlib.util.spec_from_file_location("metrics_scrape", BENCHMARKS / "metrics_scrape.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_reads_the_servers_figures(started) -> None:
    reader = load_scraper()
    server = metered(started)
    before = reader.scrape("127.0.0.1", web_port(server))
    alice = log_in(server, "alice")
    alice.send_json({"type": "say", "text": "counted"})
    messages(alice, 1)
    barrier(alice)
    after = reader.scrape("127.0.0.1", web_port(server))
    change = reader.difference(after, before)
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

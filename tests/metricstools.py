"""What the /metrics tests share: servers with metrics, a scrape read with prometheus_client's
parser, logins and a ping barrier (a counter written by the delivery thread moves once that
thread's round is over; a ``ping`` answered after it proves the round over)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from messenger.core.store import SQLiteStore
from messenger.server import ServerConfig

from .conftest import RawClient, ServerThread
from .webclient import http_get

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
PONG = b'{"type":"pong"}\n'


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

"""``GET /metrics`` as HTTP: no name a user chose appears anywhere, types and methods,
other sites' pages refused, concurrent scrapes, ``--no-metrics``."""

from __future__ import annotations

import threading

import pytest
from prometheus_client.parser import text_string_to_metric_families

from messenger.server import ServerConfig

from .clitools import ServeProcess
from .conftest import ServerThread
from .metricstools import (
    barrier,
    log_in,
    messages,
    metered,
    request,
    scrape,
    web_port,
)
from .webclient import http_get

pytestmark = pytest.mark.timeout(20)


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

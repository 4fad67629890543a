"""How long a ``GET /metrics`` scrape holds up the reader loop, which reads every connection of
every port: a chat client's ping round trips while nothing else happens, then while a scraper
asks for ``/metrics`` back to back, with N idle chat connections open (a scrape lists the
server's open descriptors and formats every figure).  Two variants of the server, interleaved:
``worker`` (as shipped: the answer is made on a login worker) and ``loop`` (made in the loop,
for comparison).

    .venv/bin/python benchmarks/scrape_stall.py --idle 4000 --repeat 3

Prints, per variant and run: the scrape's own time (median) and the ping round trip's median,
p99 and maximum in milliseconds, quiet and while scraping.
"""

from __future__ import annotations

import argparse
import json
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

HOST = "127.0.0.1"
# Runs ``messenger serve`` in the child; variant "loop" makes /metrics in the loop thread.
BOOT = """
import sys
if sys.argv[1] == "loop":
    from messenger.server.webport import WebConnection
    from messenger.server.websession import Head
    plain = WebConnection._needs_check
    def in_loop(self, event):
        return False if isinstance(event, Head) else plain(self, event)
    WebConnection._needs_check = in_loop
from messenger.cli import main
sys.argv = ["messenger", "serve", *sys.argv[2:]]
main()
"""


def start_server(variant: str, workdir: Path) -> tuple[subprocess.Popen[bytes], int, int]:
    """The server, its chat port and its web port (read from its banner)."""
    args = ["--port", "0", "--web-port", "0", "--db", ":memory:", "--max-clients", "20000"]
    args += ["--max-per-ip", "0", "--max-conn-rate", "0", "--max-rate", "0", "--log-level", "warning"]
    process = subprocess.Popen(
        [sys.executable, "-c", BOOT, variant, *args],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    chat = web = 0
    while not (chat and web):
        line = process.stdout.readline().decode()
        if not line:
            raise RuntimeError("the server did not start")
        if line.startswith("Web page: "):
            web = int(line.rstrip().rstrip("/").rsplit(":", 1)[1])
        elif line.startswith("Server is running on "):
            chat = int(line.rstrip().rsplit(":", 1)[1])
    return process, chat, web


def round_trips(port: int, seconds: float) -> list[float]:
    """Ping round trips (ms) of one logged-in JSON client, one every 10 ms for ``seconds``."""
    sock = socket.create_connection((HOST, port))
    reader = sock.makefile("rb")
    sock.sendall(b'{"type":"hello","user":"pinger","history":0}\n')
    while b'"joined"' not in reader.readline():
        pass
    times = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.perf_counter()
        sock.sendall(b'{"type":"ping","token":"t"}\n')
        while b'"pong"' not in reader.readline():
            pass
        times.append((time.perf_counter() - started) * 1000)
        time.sleep(0.01)
    sock.close()
    return times


def scraper(port: int, stop: threading.Event, durations: list[float]) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        with urllib.request.urlopen(f"http://{HOST}:{port}/metrics", timeout=30) as answer:
            answer.read()
        durations.append((time.perf_counter() - started) * 1000)


def summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "median": round(statistics.median(ordered), 2),
        "p99": round(ordered[int(len(ordered) * 0.99)], 2),
        "max": round(ordered[-1], 2),
    }


def one_run(variant: str, idle: int, seconds: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as workdir:
        process, chat, web = start_server(variant, Path(workdir))
        try:
            sockets = [socket.create_connection((HOST, chat)) for _ in range(idle)]
            quiet = round_trips(chat, seconds)
            stop, durations = threading.Event(), []
            thread = threading.Thread(target=scraper, args=(web, stop, durations))
            thread.start()
            busy = round_trips(chat, seconds)
            stop.set()
            thread.join()
            for sock in sockets:
                sock.close()
        finally:
            process.terminate()
            process.wait(timeout=10)
    return {
        "variant": variant,
        "idle": idle,
        "scrapes": len(durations),
        "scrape_ms_median": round(statistics.median(durations), 2),
        "ping_quiet_ms": summary(quiet),
        "ping_scraping_ms": summary(busy),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idle", type=int, default=4000, help="idle chat connections held open")
    parser.add_argument("--seconds", type=float, default=5.0, help="pinging time, quiet and scraping")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    for _ in range(args.repeat):
        for variant in ("worker", "loop"):
            print(json.dumps(one_run(variant, args.idle, args.seconds)), flush=True)


if __name__ == "__main__":
    main()

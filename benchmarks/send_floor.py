"""The floor of one delivery round on this machine: one non-blocking ``send`` of a chat line to
each of N loopback TCP connections, in a plain Python loop, with nothing else in the process.

The server's Flusher does this and more each round, so no round of the server can be shorter;
a message that arrives during a round waits for it and then for its own, so the server's
fan-out p99 cannot fall below about twice this round on one core.  The readers run in another
process (on CPU 1 with ``--pin``, the sender on CPU 0), draining every socket, as the load
generator does.

    .venv/bin/python benchmarks/send_floor.py --clients 1000 --rounds 500 --pin
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import selectors
import socket
import statistics
import time

LINE = b"<alice> " + b"x" * 56 + b"\n"  # a 64-byte chat line, as the fan-out benchmark sends


def drain(
    port: int, count: int, ready: multiprocessing.Event, stop: multiprocessing.Event, cpu: int | None
) -> None:
    """Connect ``count`` sockets to ``port`` and read everything until ``stop``."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    selector = selectors.DefaultSelector()
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
    for sock in socks:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
    ready.set()
    while not stop.is_set():
        for key, _ in selector.select(0.2):
            with contextlib.suppress(BlockingIOError):
                key.fileobj.recv(65536)  # type: ignore[union-attr]


def rounds(socks: list[socket.socket], count: int) -> tuple[list[float], float, float]:
    """Time ``count`` rounds of one send per socket: wall seconds per round, and CPU seconds in
    all, in user space and in the kernel (which does the receiving side's work too)."""
    walls = []
    cpu_start = os.times()
    for _ in range(count):
        start = time.perf_counter()
        for sock in socks:
            with contextlib.suppress(BlockingIOError):
                sock.send(LINE, socket.MSG_DONTWAIT)
        walls.append(time.perf_counter() - start)
        time.sleep(0.002)  # like messages arriving at 500 a second: the readers keep up
    cpu_end = os.times()
    return walls, cpu_end.user - cpu_start.user, cpu_end.system - cpu_start.system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--pin", action="store_true", help="sender on CPU 0, readers on CPU 1")
    args = parser.parse_args()
    if args.pin:
        os.sched_setaffinity(0, {0})
    listener = socket.create_server(("127.0.0.1", 0), backlog=4096)
    port = listener.getsockname()[1]
    ready, stop = multiprocessing.Event(), multiprocessing.Event()
    reader = multiprocessing.Process(
        target=drain, args=(port, args.clients, ready, stop, 1 if args.pin else None)
    )
    reader.start()
    socks = []
    for _ in range(args.clients):
        sock, _ = listener.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        socks.append(sock)
    ready.wait(60)
    try:
        walls, user, system = rounds(socks, args.rounds)
    finally:
        stop.set()
        reader.join(10)
    walls.sort()
    sends = args.clients * args.rounds
    print(f"{args.clients} connections, {args.rounds} rounds of one {len(LINE)}-byte send each")
    print(
        f"CPU per send: {(user + system) / sends * 1e6:.2f} µs "
        f"({user / sends * 1e6:.2f} user, {system / sends * 1e6:.2f} kernel)"
    )
    median, p99 = statistics.median(walls), walls[int(len(walls) * 0.99)]
    print(f"round: median {median * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms")


if __name__ == "__main__":
    main()

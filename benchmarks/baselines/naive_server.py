"""The seed tutorial's chat server design, as a stand-alone baseline for the benchmarks.

One thread per client; the first line a client sends is its name; every later line is broadcast
as ``name: text`` to every client (the sender included) by looping over one shared list under one
lock with a blocking ``sendall``.  That is the whole point of the baseline: a single client that
stops reading blocks ``sendall``, which blocks the lock, which blocks everybody.

    python benchmarks/baselines/naive_server.py --port 0

Standard library only; no flood control, no limits, no protocol beyond the text lines.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import socket
import sys
import threading
from types import FrameType

HOST = "127.0.0.1"
DEFAULT_PORT = 5555
# Large enough that a thousand clients connecting at once are not dropped by the kernel.
LISTEN_BACKLOG = 1024

clients: list[socket.socket] = []
clients_lock = threading.Lock()


def broadcast(data: bytes) -> None:
    """Send ``data`` to every client, one blocking ``sendall`` after another, under the lock;
    clients whose socket fails are closed and removed."""
    failed = []
    with clients_lock:
        for client in clients:
            try:
                client.sendall(data)
            except OSError:
                failed.append(client)
        for client in failed:
            clients.remove(client)
    for client in failed:
        client.close()


def handle(client: socket.socket) -> None:
    """One client's thread: read its name, announce it, then broadcast each line it sends."""
    reader = client.makefile("rb")
    name = ""
    try:
        first = reader.readline()
        if not first:
            return
        name = first.decode("utf-8", "replace").strip()
        with clients_lock:
            clients.append(client)
        broadcast(f"{name} has joined the chat!\n".encode())
        prefix = f"{name}: ".encode()
        for line in reader:
            broadcast(prefix + line.rstrip(b"\r\n") + b"\n")
    except OSError:
        pass
    finally:
        with clients_lock:
            joined = client in clients
            if joined:
                clients.remove(client)
        client.close()
        if joined:
            broadcast(f"{name} has left the chat!\n".encode())


def stop(signum: int, frame: FrameType | None) -> None:
    """SIGTERM or SIGINT: leave the accept loop."""
    raise SystemExit(0)


def main() -> None:
    parser = argparse.ArgumentParser(description="Naive thread-per-client chat server (benchmark baseline).")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="TCP port; 0 picks a free one.")
    args = parser.parse_args()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((HOST, args.port))
    server.listen(LISTEN_BACKLOG)
    print(f"Server is running on {HOST}:{server.getsockname()[1]}", flush=True)
    print("Waiting for connections...", flush=True)
    try:
        while True:
            client, _address = server.accept()
            threading.Thread(target=handle, args=(client,), daemon=True).start()
    finally:
        server.close()
        for client in list(clients):
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)
        sys.stdout.flush()


if __name__ == "__main__":
    main()

"""Login storm: what N logins cost the server and everyone's downlink, for one crowd size.

    python benchmarks/login_storm.py 3000 --crowd 100
    python benchmarks/login_storm.py 3000 --crowd 1000000   # no crowd: every join told to all

Starts ``messenger serve`` (history in memory, limits off), connects N text-mode clients from
this process, sending each name as soon as it is connected (batches of 100 between drains),
drains every socket all along, and waits until each client has read its own join line; then
1.5 s more for the last presence summary.  Prints the bytes all clients received, the server's
CPU seconds (from /proc) over the login, its RSS, and how many connections the server closed.
Every wait has a deadline.
"""

from __future__ import annotations

import argparse
import os
import selectors
import socket
import subprocess
import sys
import time

HOST = "127.0.0.1"  # never anywhere else
BATCH = 100  # connections opened between two drains
LOGIN_DEADLINE = 300.0


class Reader:
    """One client: has it read its own join line yet?"""

    def __init__(self, name: str) -> None:
        self.want = f"{name} has joined the chat!\n".encode()
        self.tail = b""
        self.done = False


class Storm:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.selector = selectors.DefaultSelector()
        self.received = 0
        self.closed = 0
        self.waiting = 0

    def cpu(self) -> float:
        with open(f"/proc/{self.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mib(self) -> float:
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def drain(self, timeout: float) -> None:
        for key, _ in self.selector.select(timeout):
            try:
                data = key.fileobj.recv(1 << 20)  # type: ignore[union-attr]
            except (BlockingIOError, ConnectionResetError):
                continue
            if not data:
                self.selector.unregister(key.fileobj)
                self.closed += 1
                continue
            self.received += len(data)
            reader: Reader = key.data
            if not reader.done:
                reader.tail = (reader.tail + data)[-(len(reader.want) + len(data)) :]
                if reader.want in reader.tail:
                    reader.done, reader.tail = True, b""
                    self.waiting -= 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("clients", type=int)
    parser.add_argument("--crowd", type=int, default=100)
    args = parser.parse_args()
    command = [sys.executable, "-m", "messenger", "serve", "--port", "0", "--max-rate", "0", "--no-web"]
    command += ["--max-clients", str(args.clients + 10), "--max-per-ip", "0", "--max-conn-rate", "0"]
    command += ["--log-level", "warning", "--db", ":memory:", "--crowd", str(args.crowd)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert server.stdout is not None
    port = int(server.stdout.readline().rsplit(":", 1)[1].split()[0])
    storm, sockets = Storm(server.pid), []
    try:
        cpu, start = storm.cpu(), time.monotonic()
        for number in range(args.clients):
            sock = socket.create_connection((HOST, port))
            sock.setblocking(False)
            name = f"user{number:05}"
            storm.selector.register(sock, selectors.EVENT_READ, Reader(name))
            storm.waiting += 1
            sock.sendall(f"{name}\n".encode())
            sockets.append(sock)
            if number % BATCH == BATCH - 1:
                storm.drain(0)
        deadline = time.monotonic() + LOGIN_DEADLINE
        while storm.waiting > 0 and time.monotonic() < deadline:
            storm.drain(0.2)
        login_s, cpu_s = time.monotonic() - start, storm.cpu() - cpu
        settle = time.monotonic() + 1.5
        while time.monotonic() < settle:
            storm.drain(0.1)
        print(
            f"crowd {args.crowd}, {args.clients} clients: {args.clients - storm.waiting} logged in in "
            f"{login_s:.1f} s; server CPU {cpu_s:.2f} s; received {storm.received / 1e6:.1f} MB "
            f"({storm.received / args.clients / 1e3:.2f} KB per client); closed by the server "
            f"{storm.closed}; server RSS {storm.rss_mib():.0f} MiB"
        )
    finally:
        for sock in sockets:
            sock.close()
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()

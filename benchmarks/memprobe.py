"""Where a messenger server's memory goes: log N text-mode clients in at once, then read the
server's /proc figures (RSS, smaps_rollup, the anonymous mappings by size: thread stacks and
malloc arenas) and, with ``--tracemalloc``, what Python allocated by source line.  With
``--message`` one client then says one line to everybody and every client counts it.

    .venv/bin/python benchmarks/memprobe.py --clients 5000
    .venv/bin/python benchmarks/memprobe.py --clients 5000 --env MALLOC_ARENA_MAX=2
    .venv/bin/python benchmarks/memprobe.py --clients 10000 --workers 4 --message

Clients come from 127.0.0.1, so the server runs with ``--max-per-ip 0 --max-conn-rate 0``.
Login time and counts are printed too; the server's stdout and stderr are in a temporary
directory that is printed on failure.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
MARKER = b"memprobe-everyone"
READ_SIZE = 64 * 1024
MIB = 1024 * 1024


def raise_nofile() -> None:
    """As many descriptors as the hard limit allows (10,000 sockets need more than 1,024)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# -- the server, with a tracemalloc dump on SIGUSR1 -------------------------------------------------


def probe_server(argv: list[str]) -> None:
    """Run ``messenger serve`` in this process; SIGUSR1 writes tracemalloc's top lines to the
    file named by MEMPROBE_DUMP (tracemalloc runs when started with -X tracemalloc)."""
    import tracemalloc

    def dump(signum: int, frame: object) -> None:
        out: dict[str, Any] = {"threads": len(sys._current_frames())}
        if tracemalloc.is_tracing():
            snapshot = tracemalloc.take_snapshot()
            stats = snapshot.statistics("lineno")
            out["traced"] = sum(s.size for s in stats)
            out["top"] = [(str(s.traceback[0]), s.size, s.count) for s in stats[:40]]
        Path(os.environ["MEMPROBE_DUMP"]).write_text(json.dumps(out, indent=1))

    def trim(signum: int, frame: object) -> None:
        import ctypes

        started = time.perf_counter()
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        Path(os.environ["MEMPROBE_DUMP"] + ".trim").write_text(str(time.perf_counter() - started))

    signal.signal(signal.SIGUSR1, dump)
    signal.signal(signal.SIGUSR2, trim)
    from messenger.cli import main

    sys.argv = ["messenger", "serve", *argv]
    main()


def smaps_breakdown(pid: int) -> dict[str, Any]:
    """RSS by kind of mapping: thread stacks (an anonymous mapping right after its 4 KiB guard
    page), malloc's per-thread arenas (anonymous, aligned to their 64 MiB reservation), the main
    heap, other anonymous memory (Python's object arenas, large buffers), files."""
    rollup = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, value = line.split(":", 1)
        rollup[key] = int(value.split()[0])
    maps: list[list[Any]] = []  # start, size, perms, name, rss
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split()
        if "-" in head[0] and ":" not in head[0]:
            start, end = (int(x, 16) for x in head[0].split("-"))
            maps.append([start, end - start, head[1], head[5] if len(head) > 5 else "", 0])
        elif head[0] == "Rss:":
            maps[-1][4] = int(head[1]) * 1024
    kinds: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    previous: list[Any] = [0, 0, "", "", 0]
    for entry in maps:
        kind = classify(entry, previous)
        kinds[kind] += entry[4]
        counts[kind] += 1
        previous = entry
    return {
        "rss_kib": rollup.get("Rss"),
        "anonymous_kib": rollup.get("Anonymous"),
        "by_kind_kib": {k: v // 1024 for k, v in kinds.most_common()},
        "mappings": dict(counts),
    }


def classify(entry: list[Any], previous: list[Any]) -> str:
    start, _, perms, name, _ = entry
    if name == "[heap]":
        return "heap (main arena, brk)"
    if name.startswith("["):
        return "other"
    if name:
        return "files"
    if perms.startswith("---"):
        return "reserved, not readable (guards, arena tails)"
    if start % (64 * MIB) == 0:
        return "malloc thread arenas"
    if previous[2].startswith("---") and previous[1] == 4096 and previous[0] + 4096 == start:
        return "thread stacks"
    return "other anonymous"


# -- the clients -------------------------------------------------------------------------------


def client_worker(index: int, names: list[str], port: int, conn: Any, lazy: int = 0) -> None:
    """Log ``names`` in at once; report logins; on "send" the first client of worker 0 says
    MARKER; report how many clients saw it and how many connections the server closed."""
    raise_nofile()
    selector = selectors.DefaultSelector()
    state: dict[socket.socket, list[Any]] = {}
    for name in names:
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex((HOST, port))
        selector.register(sock, selectors.EVENT_WRITE)
        state[sock] = [name, b"", False, False]  # name, tail, logged in, saw marker
    logged = closed = seen = 0
    sent = False
    conn.send(("started", index))
    while True:
        if conn.poll():
            command = conn.recv()
            if command == "send" and index == 0 and not sent:
                first = next(iter(state))
                first.setblocking(True)
                first.sendall(MARKER + b"\n")
                first.setblocking(False)
                sent = True
            elif command == "report":
                conn.send((logged, closed, seen))
            elif command == "stop":
                break
        for key, mask in selector.select(0.05):
            sock = key.fileobj
            entry = state[sock]
            if mask & selectors.EVENT_WRITE:
                if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    closed += 1
                    selector.unregister(sock)
                    continue
                sock.send(entry[0].encode() + b"\n")
                if lazy and int(entry[0][1:]) % lazy == 0:
                    selector.unregister(sock)  # it never reads: the server cuts it off
                else:
                    selector.modify(sock, selectors.EVENT_READ)
                continue
            try:
                data = sock.recv(READ_SIZE)
            except OSError:
                data = b""
            if not data:
                closed += 1
                selector.unregister(sock)
                continue
            text = entry[1] + data
            if not entry[2] and b"\n" + entry[0].encode() + b" has joined" in b"\n" + text:
                entry[2] = True
                logged += 1
            if not entry[3] and MARKER in text:
                entry[3] = True
                seen += 1
            entry[1] = text[-(64 + len(entry[0])) :]
    for sock in state:
        sock.close()


def start_server(args: argparse.Namespace, workdir: Path) -> subprocess.Popen[bytes]:
    """``messenger serve`` under the probe, with the options a load from one address needs."""
    env = dict(os.environ)
    for item in args.env:
        key, value = item.split("=", 1)
        env[key] = value
    if args.pythonpath:
        env["PYTHONPATH"] = args.pythonpath
    env["MEMPROBE_DUMP"] = str(workdir / "dump.json")
    python = [sys.executable] + (["-X", "tracemalloc=1"] if args.tracemalloc else [])
    serve_args = ["--port", "0", "--no-web", "--db", ":memory:", "--log-level", "warning"]
    serve_args += ["--max-clients", str(args.clients + 10), "--max-per-ip", "0", "--max-conn-rate", "0"]
    serve_args += ["--max-rate", "0", *args.serve]
    return subprocess.Popen(
        [*python, __file__, "--serve-probe", *serve_args],
        stdout=(workdir / "out").open("wb"),
        stderr=(workdir / "err").open("wb"),
        env=env,
        cwd=workdir,
    )


def start_clients(args: argparse.Namespace, port: int) -> tuple[list[Any], list[Any]]:
    """The generator processes, each with its share of the clients, ready to connect."""
    chunks = [[f"u{i}" for i in range(w, args.clients, args.workers)] for w in range(args.workers)]
    pipes, procs = [], []
    for w, names in enumerate(chunks):
        mine, theirs = mp.Pipe()
        proc = mp.Process(target=client_worker, args=(w, names, port, theirs, args.lazy), daemon=True)
        proc.start()
        pipes.append(mine)
        procs.append(proc)
    for pipe in pipes:
        pipe.recv()
    return pipes, procs


def log_in(args: argparse.Namespace, server: subprocess.Popen[bytes], pipes: list[Any]) -> dict[str, Any]:
    """Wait until every client logged in or was closed; the login's figures."""
    net0 = tcp_counters()
    started = time.monotonic()
    cpu0 = cpu_seconds(server.pid)
    logged = closed = 0
    while time.monotonic() - started < args.timeout:
        logged, closed, _ = totals(pipes)
        if logged + closed >= args.clients:
            break
        time.sleep(0.2)
    login_s = time.monotonic() - started
    net1 = tcp_counters()
    return {
        "logged_in": logged,
        "closed": closed,
        "login_s": round(login_s, 2),
        "login_server_cpu_s": round(cpu_seconds(server.pid) - cpu0, 2),
        "tcp_counters": {k: net1[k] - net0[k] for k in net1 if net1[k] != net0.get(k)},
    }


def wait_for_file(path: Path, limit: float) -> None:
    deadline = time.monotonic() + limit
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)  # written whole


def probe_further(args: argparse.Namespace, server: subprocess.Popen[bytes], workdir: Path) -> dict[str, Any]:
    """malloc_trim and measure again (--trim); tracemalloc's top lines (--tracemalloc)."""
    result: dict[str, Any] = {}
    if args.trim:
        server.send_signal(signal.SIGUSR2)
        wait_for_file(workdir / "dump.json.trim", 60)
        result["malloc_trim_s"] = float((workdir / "dump.json.trim").read_text() or 0)
        result["after_trim"] = smaps_breakdown(server.pid)
    if args.tracemalloc:
        server.send_signal(signal.SIGUSR1)
        wait_for_file(workdir / "dump.json", 120)
        result["tracemalloc"] = json.loads((workdir / "dump.json").read_text())
    return result


def one_message(args: argparse.Namespace, pipes: list[Any]) -> dict[str, Any]:
    """One client says one line; how many saw it, how many were closed meanwhile."""
    pipes[0].send("send")
    deadline = time.monotonic() + args.timeout
    closed = seen = 0
    while time.monotonic() < deadline:
        _, closed, seen = totals(pipes)
        if seen + closed >= args.clients:
            break
        time.sleep(0.2)
    return {"saw_message": seen, "closed_after_message": closed}


def run(args: argparse.Namespace) -> dict[str, Any]:
    raise_nofile()
    workdir = Path(tempfile.mkdtemp(prefix="memprobe-"))
    server = start_server(args, workdir)
    port = wait_port(workdir / "out", server)
    base = smaps_breakdown(server.pid)
    pipes, procs = start_clients(args, port)
    result: dict[str, Any] = {"clients": args.clients, "env": args.env, "serve": args.serve}
    result["pythonpath"] = args.pythonpath
    result.update(log_in(args, server, pipes))
    time.sleep(args.settle)
    result.update(before=base, after=smaps_breakdown(server.pid), threads=int(status(server.pid)["Threads"]))
    result["rss_per_connection_kib"] = round((result["after"]["rss_kib"] - base["rss_kib"]) / args.clients, 1)
    result.update(probe_further(args, server, workdir))
    if args.message:
        result.update(one_message(args, pipes))
    for pipe in pipes:
        pipe.send("stop")
    for proc in procs:
        proc.join(10)
    server.terminate()
    try:
        server.wait(60)
    except subprocess.TimeoutExpired:  # stopping 10,000 connections on a busy machine
        server.kill()
        server.wait()
        result["server_killed"] = True
    lines = (workdir / "err").read_text(errors="replace").splitlines()
    result["server_errors"] = [line for line in lines if "Error" in line or "ERROR" in line][:20]
    result["server_log"] = Counter(line.split(" ", 3)[-1][:60] for line in lines).most_common(8)
    result["workdir"] = str(workdir)
    return result


def totals(pipes: list[Any]) -> tuple[int, int, int]:
    for pipe in pipes:
        pipe.send("report")
    sums = [0, 0, 0]
    for pipe in pipes:
        for i, value in enumerate(pipe.recv()):
            sums[i] += value
    return sums[0], sums[1], sums[2]


def wait_port(path: Path, server: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("Server is running on"):
                return int(line.rsplit(":", 1)[1])
        if server.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError(f"no server banner: {path.parent}")


def tcp_counters() -> dict[str, int]:
    """The kernel's TCP counters (ListenOverflows, ListenDrops, resets...)."""
    lines = Path("/proc/net/netstat").read_text().splitlines()
    out = {}
    for names, values in zip(lines[::2], lines[1::2], strict=True):
        prefix = names.split(":")[0]
        for k, v in zip(names.split()[1:], values.split()[1:], strict=True):
            out[f"{prefix}.{k}"] = int(v)
    return out


def status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {k: v.strip() for k, v in (line.split(":", 1) for line in lines if ":" in line)}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-probe":
        probe_server(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--settle", type=float, default=2.0, help="seconds between login and measuring")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the server")
    parser.add_argument("--serve", action="append", default=[], help="an extra serve argument")
    parser.add_argument("--pythonpath", help="import the server's messenger package from here")
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--trim", action="store_true", help="then malloc_trim(0) in the server")
    parser.add_argument("--lazy", type=int, default=0, help="every Nth client never reads")
    parser.add_argument("--message", action="store_true", help="one message to everybody, counted")
    args = parser.parse_args()
    print(json.dumps(run(args), indent=1))


if __name__ == "__main__":
    main()

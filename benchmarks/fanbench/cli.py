"""The command line: options, every run in turn, the exit status."""

from __future__ import annotations

import argparse
import resource
from collections.abc import Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fanbench.config import REPORT_WIDTH, SERVERS, TRANSPORTS, Config
from fanbench.report import render_table, report_problems, summarise, write_json
from fanbench.run import Runner, RunResult
from fanbench.server import GENERATOR_CPU, pin_to


def servers(value: str) -> tuple[str, ...]:
    """``--server``: one name, ``both`` (messenger and naive), or names separated by commas."""
    names = ("messenger", "naive") if value == "both" else tuple(dict.fromkeys(value.split(",")))
    unknown = [name for name in names if name not in SERVERS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(SERVERS)} (or both)")
    return names


def rates(value: str) -> tuple[float, ...]:
    """``--rate``: one rate, or several separated by commas (every setup runs at each)."""
    found = tuple(dict.fromkeys(float(part) for part in value.split(",")))
    if any(rate < 0 for rate in found):
        raise argparse.ArgumentTypeError("rates cannot be negative")
    return found


def node_counts(value: str) -> tuple[int, ...]:
    """``--nodes``: how many cluster nodes per setup, separated by commas (0: no Redis)."""
    found = tuple(dict.fromkeys(int(part) for part in value.split(",")))
    if any(count < 0 for count in found):
        raise argparse.ArgumentTypeError("node counts cannot be negative")
    return found


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def build_parser() -> argparse.ArgumentParser:
    """Every option; benchmarks/README.md explains each."""
    parser = argparse.ArgumentParser(
        description="Fan-out benchmark for chat servers (see benchmarks/README.md).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--clients", type=positive, default=500, help="connected readers N")
    parser.add_argument("--senders", type=positive, default=10, help="how many of the N send")
    parser.add_argument("--messages", type=positive, default=200, help="messages per sender")
    parser.add_argument("--size", type=positive, default=64, help="bytes per message line sent")
    add_setup_options(parser)
    parser.add_argument("--stalled", type=int, default=0, help="extra clients that never read")
    parser.add_argument(
        "--server",
        type=servers,
        default="messenger",
        metavar="SERVER[,SERVER...]",
        help="server(s) under test: messenger, naive, ngircd, or several separated by commas"
        " (e.g. messenger,ngircd), alternating in one invocation; both = messenger,naive",
    )
    parser.add_argument(
        "--transport",
        choices=(*TRANSPORTS, "irc", "both"),
        default="tcp",
        help="how the clients connect: tcp (text mode), web (WebSocket, messenger only), irc"
        " (messenger's IRC port), or both (tcp and web), alternating, in one invocation",
    )
    parser.add_argument("--repeat", type=positive, default=1, help="runs per server; the median is shown")
    parser.add_argument("--workers", type=positive, default=2, help="generator processes")
    parser.add_argument("--probes", type=int, default=20, help="receivers that record latency")
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds allowed for login, and again for messages"
    )
    parser.add_argument("--sendq", help="messenger's --sendq (e.g. 1M)")
    parser.add_argument(
        "--idle",
        type=positive,
        metavar="N",
        help="the login storm: log in N clients at once (spread over --workers), then one of them"
        " sends one message to all; --senders, --messages and --rate do not apply",
    )
    parser.add_argument(
        "--db",
        default="file",
        help="messenger's history: 'file' (a new SQLite file per run) or ':memory:' (no disk writes)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON ('-' = stdout)")
    parser.add_argument(
        "--pin", action="store_true", help="run the server on CPU 0 and the generator on CPU 1 (Linux)"
    )
    parser.add_argument(
        "--bans", type=int, default=0, help="messenger: N bans in place (names and addresses)"
    )
    parser.add_argument("--ignores", type=int, default=0, help="messenger: N receivers each ignore someone")
    return parser


def add_setup_options(parser: argparse.ArgumentParser) -> None:
    """``--rate`` and ``--nodes``: lists of values, every setup run at each, alternating."""
    parser.add_argument(
        "--rate",
        type=rates,
        default=(0.0,),
        metavar="RATE[,RATE...]",
        help="messages/s per sender; 0 = flat out; several (e.g. 0,10): each setup at each, alternating",
    )
    parser.add_argument(
        "--nodes",
        type=node_counts,
        default=(),
        metavar="K[,K...]",
        help="messenger as K nodes joined through a fresh redis-server (0: one server without Redis),"
        " clients spread over the nodes; several (e.g. 0,1,2,3) alternate in one invocation",
    )


def parse_args(argv: Sequence[str] | None) -> tuple[Config, str | None]:
    """The configuration the options ask for, and the --json target."""
    parser = build_parser()
    args = parser.parse_args(argv)
    clients = args.idle or args.clients
    if not args.idle and args.senders > clients:
        parser.error("--senders cannot exceed --clients")
    if args.stalled < 0 or args.probes < 0 or args.timeout <= 0:
        parser.error("--stalled and --probes cannot be negative; --timeout must be positive")
    config = Config(
        servers=args.server,
        clients=clients,
        senders=1 if args.idle else args.senders,
        messages=1 if args.idle else args.messages,
        size=args.size,
        rate=0.0 if args.idle else args.rate[0],
        rates=() if args.idle or len(args.rate) == 1 else args.rate,
        nodes=args.nodes,
        stalled=args.stalled,
        workers=min(args.workers, clients),
        probes=args.probes,
        timeout=args.timeout,
        repeat=args.repeat,
        idle=bool(args.idle),
        sendq=args.sendq,
        db=args.db,
        pin=args.pin,
        bans=args.bans,
        ignores=args.ignores,
        transports=TRANSPORTS if args.transport == "both" else (args.transport,),
    )
    if not config.setups:
        parser.error("the naive server has no web port: --transport web needs --server messenger")
    if "ngircd" in config.servers or "irc" in config.transports:
        check_ngircd(parser, args)
    if args.stalled and "web" in config.transports:
        parser.error("--stalled readers are TCP clients: use --transport tcp")
    if args.db not in ("file", ":memory:"):
        parser.error("--db is 'file' or ':memory:'")
    if args.nodes and (args.server != ("messenger",) or args.stalled or args.bans):
        parser.error("--nodes is for --server messenger, without --stalled or --bans")
    if args.bans < 0 or args.ignores < 0 or (args.bans and args.db != "file"):
        parser.error("--bans and --ignores cannot be negative; --bans needs --db file")
    return config, args.json


def check_ngircd(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """What an IRC run cannot do: stalled readers (they log in in text mode), lines over IRC's
    512 bytes, ignores (a messenger command)."""
    if args.stalled or args.ignores:
        parser.error("--stalled and --ignores are for messenger and naive, not ngircd")
    if args.size > 480:
        parser.error("--size above 480 does not fit in an IRC line (512 bytes) with ngircd")


def run_all(config: Config, console: Console) -> list[RunResult]:
    """Every repetition of every setup; servers and transports alternate so drift affects all
    alike."""
    results = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as progress:
        runner = Runner(config, progress)
        for _ in range(config.repeat):
            for setup in config.setups:
                results.append(runner.run(setup))
    return results


def raise_open_files() -> None:
    """Soft limit on open files up to the hard one: 10,000 clients need more than 1,024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; exit status 1 if any run failed or lost messages."""
    config, json_target = parse_args(argv)
    raise_open_files()  # inherited by the worker processes and the server
    if config.pin:
        pin_to(GENERATOR_CPU)()  # the worker processes inherit it
    console = Console(stderr=json_target == "-", highlight=False)
    if not console.is_terminal:
        # a file or pipe would otherwise get 80 columns; a column of figures per setup
        console.width = max(REPORT_WIDTH, 42 + 12 * len(config.setups))
    try:
        results = run_all(config, console)
    except KeyboardInterrupt:
        console.print("interrupted")
        return 130
    summary = summarise(config, results)
    if summary:
        console.print(render_table(config, results, summary))
    report_problems(console, results)
    if json_target:
        write_json(json_target, config, results, summary)
    failed = any(r.error or r.lost or r.server_counts_match is False for r in results)
    return 1 if failed else 0

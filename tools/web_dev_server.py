"""A chat server with its web port, for trying the web page by hand or from tools/web_smoke.py.

    .venv/bin/python tools/web_dev_server.py [--port 0] [--web-port 0] [--db FILE]

Prints ``chat PORT`` and ``web URL`` lines, then serves until stdin closes or Ctrl+C.  Once
``messenger serve`` has its web options this is the same as ``messenger serve --db :memory:``.
"""

from __future__ import annotations

import argparse
import sys
import threading

from messenger.core.accounts import Accounts
from messenger.core.moderation import Moderation
from messenger.core.store import SQLiteStore
from messenger.server import ChatServer, ServerConfig


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--web-port", type=int, default=0)
    parser.add_argument("--db", default=":memory:", help="the SQLite file (history, accounts)")
    parser.add_argument("--user", action="append", default=[], help="NAME:PASSWORD, a registered name")
    args = parser.parse_args()
    server = ChatServer(
        ("127.0.0.1", args.port),
        ServerConfig(),
        store=SQLiteStore(args.db),
        accounts=Accounts(args.db),
        moderation=Moderation(args.db),
    )
    for user in args.user:
        name, _, password = user.partition(":")
        if server.accounts is not None and server.accounts.lookup(name) is None:
            server.accounts.add(name, password)
    web = server.open_web(("127.0.0.1", args.web_port))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    print(f"chat {server.port}", flush=True)
    print(f"web {web.url}", flush=True)
    try:
        sys.stdin.read()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        if server.store is not None:
            server.store.close()  # written by a thread of its own: flush before exiting


if __name__ == "__main__":
    main()

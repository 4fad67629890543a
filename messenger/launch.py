"""The ``messenger`` command's entry point: it imports the command line only once it can catch a
Ctrl+C, so that a Ctrl+C pressed while the program is still starting ends it quietly, as one
pressed at any later moment does, instead of with a traceback."""

from __future__ import annotations

import os
import sys


def main() -> None:
    try:
        from .cli import main as run
    except KeyboardInterrupt:
        # Nothing has been done yet: end the line the ^C was echoed on, and stop as the
        # user asked (status 0, as Ctrl+C at a prompt).
        if sys.stderr is not None:
            sys.stderr.write("\n")
            sys.stderr.flush()
        os._exit(0)
    run()

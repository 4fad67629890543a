"""The chat front ends of ``messenger connect`` and ``send``: what runs once a user is logged in.

Each takes a started ChatLink and returns an exit status: ``run_lines`` for piped input (and
``send``), ``run_listen`` for ``--listen``, ``run_editor`` for a person at a full terminal.  They
print only through the link's view.  The CLI maps what they raise (MessengerError) to one
``error:`` line.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import TextIO

from ..client import ConnectionClosed, LoginError
from ..client.session import ChatLink
from ..client.submit import LineResult, Outcome, submit_line
from ..protocol import DEFAULT_MAX_LINE, TEXT_HELP
from .render import ConsoleView
from .terminal import LineEditor

EXIT_OK = 0
EXIT_FAILURE = 1

CLIENT_HELP = (
    "Type a message and press Enter to send it to everyone; Tab completes commands and names.",
    *TEXT_HELP,
)


def read_lines(stream: TextIO, limit: int) -> Iterator[str | None]:
    """Lines of ``stream`` without their ends; None stands for a line longer than ``limit``
    characters, which is skipped without being held in memory whole."""
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith("\n"):
            while line and not line.endswith("\n"):
                line = stream.readline(limit)
            yield None
            continue
        yield line.rstrip("\r\n")


Submit = Callable[[str], LineResult]


def feed_lines(link: ChatLink, view: ConsoleView, lines: Iterable[str | None], submit: Submit) -> int:
    """Send every line (stopping at ``/quit`` or when the link is gone); return how many lines
    the client itself refused."""
    refused = 0
    for line in lines:
        if line is None:
            refused += 1
            view.error(f"line longer than {DEFAULT_MAX_LINE} characters; not sent")
            continue
        result = submit(line)
        if result.outcome is Outcome.QUIT or (
            result.outcome is Outcome.OFFLINE and not link.options.reconnect
        ):
            break
        refused += report(view, result, "not connected right now; the line was not sent")
    return refused


def report(view: ConsoleView, result: LineResult, offline: str) -> bool:
    """Tell the person what became of a line that was not simply sent; True if it was refused."""
    if result.outcome is Outcome.INVALID:
        view.error(result.message)
        return True
    if result.outcome is Outcome.OFFLINE:
        view.error(offline)
        return True
    if result.outcome is Outcome.HELP:
        for help_line in CLIENT_HELP:
            view.notice(help_line)
    return False


def run_lines(
    link: ChatLink,
    view: ConsoleView,
    lines: Iterable[str | None],
    submit: Submit | None = None,
    interactive: bool = False,
) -> int:
    """Piped input: send every line, wait until the server has answered them all, leave.

    The feeding runs in its own thread so that the main thread stays responsive to Ctrl+C and
    to the connection ending while stdin blocks.  Exit status 1 (for a script) when the server or
    the client refused a line, or the connection was lost.
    """
    done = threading.Event()
    refused = [0]

    def feed() -> None:
        try:
            refused[0] = feed_lines(link, view, lines, submit or partial(submit_line, link))
        except (OSError, ValueError):
            pass  # stdin went away; what was sent is flushed below
        finally:
            done.set()

    link.on_end(done.set)
    threading.Thread(target=feed, name="feeder", daemon=True).start()
    while not done.wait(0.5):
        pass
    if not link.ended.is_set():
        link.flush()
    if link.ended.is_set():
        return link_end_status(link)
    link.leave()
    # A script learns that some of its lines were refused; a person who leaves has simply
    # chosen to stop.
    return EXIT_FAILURE if (refused[0] or link.errors) and not interactive else EXIT_OK


def run_listen(link: ChatLink) -> int:
    """``--listen``: print until the server closes; 0 after its shutdown frame, else an error."""
    while not link.ended.wait(0.5):
        pass
    return link_end_status(link)


def run_editor(link: ChatLink, view: ConsoleView, editor: LineEditor, lines: queue.Queue[list[str]]) -> int:
    """A person at a terminal: the editor runs in this thread and queues what is entered; a
    sender thread sends it, so a slow send never freezes the input line.  Ends when they leave
    (exit 0) or the link ends for good (a login refused on reconnect, or the connection gone
    with reconnecting off)."""
    left = threading.Event()

    def send_entered() -> None:
        while True:
            for line in lines.get():
                result = submit_line(link, line)
                if result.outcome is Outcome.QUIT:
                    left.set()
                    link.leave()
                    editor.interrupt()
                    return
                report(view, result, "not connected right now; the line was not sent (press ↑ to recall it)")

    threading.Thread(target=send_entered, name="sender", daemon=True).start()
    link.on_end(editor.interrupt)
    try:
        editor.run()
    except (EOFError, KeyboardInterrupt):
        left.set()
    if left.is_set() or not link.ended.is_set():
        link.leave()
        return EXIT_OK
    return link_end_status(link)


def link_end_status(link: ChatLink) -> int:
    """Exit status for a link that ended by itself."""
    if link.output_closed is not None:
        return EXIT_OK  # the reader of our output has stopped reading: as if Ctrl+C
    if link.replaced is not None:
        raise ConnectionClosed(f"this session was closed: {link.replaced.message}")
    if link.removed is not None:
        removed = link.removed
        why = f": {removed.message}" if removed.message else ""
        raise ConnectionClosed(f"you were {removed.reason} by {removed.by}{why}")
    if link.refused is not None:
        raise LoginError(link.refused.code, f"could not log in again: {link.refused}")
    if link.shutdown is not None:
        return EXIT_OK
    raise ConnectionClosed(f"the connection to the server was lost ({link.lost})")

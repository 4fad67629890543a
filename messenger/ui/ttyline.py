"""One line read from a terminal, where Ctrl+C is never lost.

``input()`` and ``getpass.getpass()`` block in a read (or readline's select) that a Ctrl+C
arriving just before it began does not interrupt: Python's C handler only notes the signal, and
the Python handler that raises ``KeyboardInterrupt`` waits for the read to return, which it never
does until the person presses Enter.  Here the read waits on the terminal *and* on the signal
wake-up descriptor, which the C handler writes to whenever a signal arrives, before or during the
wait; the pending ``KeyboardInterrupt`` is then raised as soon as the wait returns.

Used only from the main thread (the only one that may set the wake-up descriptor) with a real
terminal; elsewhere the callers keep ``input()``/``getpass``.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import selectors
import signal
import socket
import termios
import threading
from collections.abc import Iterator
from typing import TextIO

MAX_LINE = 4096  # a terminal in canonical mode passes at most 4095 characters and the newline


def can_read_line(stream: TextIO | None) -> bool:
    """Whether ``read_line`` can serve ``stream``: a terminal, read from the main thread."""
    if stream is None or threading.current_thread() is not threading.main_thread():
        return False
    try:
        return os.isatty(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False


def read_line(fd: int, prompt: str, out: TextIO, echo: bool = True) -> str:
    """Write ``prompt`` to ``out``, read one line from terminal ``fd`` (without echo when asked)
    and return it without its newline.  Ctrl+C raises ``KeyboardInterrupt``, Ctrl+D on an empty
    line ``EOFError``, whenever they are pressed."""
    with _wakeup() as woken, _echo_off(fd, enabled=not echo):
        out.write(prompt)
        out.flush()
        line = _read_until_newline(fd, woken)
        if not echo:
            out.write("\n")  # the Enter that was not echoed
            out.flush()
    return line


def ask_password(prompt: str) -> str:
    """``getpass.getpass`` with the same Ctrl+C guarantee: the prompt and the line go through the
    controlling terminal, without echo; with no terminal, or off the main thread, getpass itself."""
    if threading.current_thread() is not threading.main_thread():
        return getpass.getpass(prompt)
    try:
        tty = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return getpass.getpass(prompt)
    with open(tty, "w", encoding="utf-8", errors="replace", closefd=True) as stream:
        return read_line(tty, prompt, stream, echo=False)


def _read_until_newline(fd: int, woken: socket.socket) -> str:
    received = bytearray()
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        selector.register(woken, selectors.EVENT_READ)
        while not received.endswith(b"\n"):
            for key, _ in selector.select():
                if key.fileobj is woken:
                    # A signal arrived: its Python handler runs at the next instruction (Ctrl+C
                    # raises there); any other signal only needs the wake-up byte drained.
                    with contextlib.suppress(BlockingIOError):
                        woken.recv(64)
                    continue
                chunk = os.read(fd, MAX_LINE)
                if not chunk:
                    if received:
                        break  # Ctrl+D after some text: that text is the line
                    raise EOFError
                received += chunk
                if len(received) > MAX_LINE:
                    break
    return received.decode("utf-8", "replace").rstrip("\r\n")


@contextlib.contextmanager
def _wakeup() -> Iterator[socket.socket]:
    """A socket the signal handler writes a byte to, for as long as the read lasts."""
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    previous = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    try:
        yield reader
    finally:
        signal.set_wakeup_fd(previous)
        reader.close()
        writer.close()


@contextlib.contextmanager
def _echo_off(fd: int, enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    before = termios.tcgetattr(fd)
    quiet = list(before)
    quiet[3] &= ~termios.ECHO
    termios.tcsetattr(fd, termios.TCSAFLUSH, quiet)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSAFLUSH, before)

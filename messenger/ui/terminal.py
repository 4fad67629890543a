"""The interactive input line: a prompt_toolkit editor that incoming chat never clobbers.

While ``LineEditor.session`` is prompting, ``patch_stdout`` (entered by the caller) makes every
write to stdout and stderr appear above the input line, which is redrawn with whatever was
being typed.  The editor adds input history (arrow keys), Tab completion of commands and of the
names of online users, and sends a pasted block of lines line by line.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator

from prompt_toolkit import PromptSession
from prompt_toolkit.application import Application
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.formatted_text import AnyFormattedText
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.keys import Keys

from ..protocol.names import name_key
from ..protocol.textmode import COMMAND_NAMES

# The slash commands, from the one table of them in protocol/textmode.py.
COMMANDS = COMMAND_NAMES


class ChatCompleter(Completer):
    """Tab completes a command at the start of the line, a room name after ``#``, and online
    names anywhere; a name that starts a message gets ``: `` after it (``bob: hi``), and ``@bo``
    completes to ``@bob``."""

    def __init__(self, names: Callable[[], Iterable[str]], rooms: Callable[[], Iterable[str]] = list) -> None:
        self.names = names
        self.rooms = rooms

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterator[Completion]:
        before = document.text_before_cursor
        word = document.get_word_before_cursor(WORD=True)
        if word.startswith("/") and before == word:
            for command in COMMANDS:
                if command.startswith(word.lower()):
                    yield Completion(command + " ", start_position=-len(word), display=command)
            return
        if word.startswith("#"):
            for room in self.rooms():
                if room.startswith(word.casefold()):
                    yield Completion(room + " ", start_position=-len(word), display=room)
            return
        stem = word[1:] if word.startswith("@") else word
        starts_line = before == word
        key = name_key(stem)
        for name in sorted(self.names(), key=name_key):
            if name_key(name).startswith(key):
                suffix = ": " if starts_line and not word.startswith("@") else " "
                yield Completion(name + suffix, start_position=-len(stem), display=name)


def _submit_bindings(on_lines: Callable[[list[str]], None]) -> KeyBindings:
    """Enter hands the line over and clears the input without leaving the prompt, so no key
    typed meanwhile can fall into a gap between two prompts.  A bracketed paste that holds line
    ends hands over its complete lines at once; an unfinished last line stays to be finished."""
    bindings = KeyBindings()

    @bindings.add("enter")
    def _enter(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        text = buffer.text
        buffer.reset(append_to_history=True)
        on_lines(text.split("\n"))

    @bindings.add(Keys.BracketedPaste)
    def _paste(event: KeyPressEvent) -> None:
        data = event.data.replace("\r\n", "\n").replace("\r", "\n")
        buffer = event.current_buffer
        buffer.insert_text(data)
        if "\n" not in buffer.text:
            return
        complete, _, rest = buffer.text.rpartition("\n")
        buffer.reset(Document(complete))
        buffer.reset(Document(rest, len(rest)), append_to_history=True)
        on_lines(complete.split("\n"))

    return bindings


class LineEditor:
    """Reads lines from a person at a terminal and hands each batch (one line, or the lines of a
    paste) to ``on_lines``, called in the editor's thread: it must not block.

    ``run`` returns when ``interrupt`` is called from another thread; Ctrl+D on an empty line
    raises EOFError, Ctrl+C KeyboardInterrupt.
    """

    def __init__(
        self,
        names: Callable[[], Iterable[str]],
        prompt: Callable[[], AnyFormattedText],
        on_lines: Callable[[list[str]], None],
        rooms: Callable[[], Iterable[str]] = list,
    ) -> None:
        self.session: PromptSession[str] = PromptSession(
            message=prompt,
            history=InMemoryHistory(),
            completer=ChatCompleter(names, rooms),
            complete_while_typing=False,
            key_bindings=_submit_bindings(on_lines),
            erase_when_done=True,
        )
        self._on_lines = on_lines
        self._interrupted = threading.Event()

    def run(self) -> None:
        # On a full terminal the prompt only returns when interrupted; on a dumb one (TERM=dumb,
        # an Emacs shell) prompt_toolkit's own Enter binding wins and returns each line.
        while not self._interrupted.is_set():
            text = self.session.prompt(pre_run=self._exit_if_interrupted)
            if not self._interrupted.is_set():
                self._on_lines(text.split("\n"))

    def interrupt(self) -> None:
        """End ``run`` (now, or as soon as it starts); safe from any thread."""
        self._interrupted.set()
        app = self.session.app
        loop = app.loop
        if app.is_running and loop is not None:
            loop.call_soon_threadsafe(_exit_app, app)

    def refresh(self) -> None:
        """Redraw the prompt (it shows whether we are online); safe from any thread."""
        app = self.session.app
        if app.is_running:
            app.invalidate()

    def _exit_if_interrupted(self) -> None:
        if self._interrupted.is_set():
            _exit_app(self.session.app)


def _exit_app(app: Application[str]) -> None:
    future = app.future
    if app.is_running and future is not None and not future.done():
        app.exit(result="")

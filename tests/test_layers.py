"""Imports point one way: protocol <- core <- server; protocol <- client <- ui <- cli.

Read from the import statements of every module (no importing), so a wrong-way import fails here
even when nothing exercises it yet.  ``tls`` is the one module shared by both ends (client and
server) and imports nothing of the package.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from messenger import protocol

PACKAGE = Path(__file__).resolve().parent.parent / "messenger"

# What each part of the package may import from the rest of it (itself always allowed).
ALLOWED: dict[str, set[str]] = {
    "_version": set(),
    "protocol": set(),
    "tls": set(),
    "core": {"protocol"},
    "server": {"protocol", "core", "tls", "_version"},
    "client": {"protocol", "tls"},
    "ui": {"protocol", "client"},
    "cluster": {"protocol", "core", "server"},  # several servers as one, through Redis
    "cli": {"protocol", "core", "server", "cluster", "client", "ui", "tls", "_version"},
    "web": set(),  # the web page's files: package data, no code
    "launch": {"cli"},  # the entry point: imports the command line where it can catch Ctrl+C
}


def _part(path: Path) -> str:
    """The part of the package a module belongs to: its subpackage, or its own name at the top."""
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _imported_parts(path: Path) -> set[str]:
    """Which parts of the package the module at ``path`` imports (``__version__`` excepted)."""
    depth = len(path.relative_to(PACKAGE).parts)  # 1 for a top-level module, 2 in a subpackage
    return _imports(path.read_text(encoding="utf-8"), depth)


def _imports(source: str, depth: int) -> set[str]:
    """The parts of the package that ``source``, a module ``depth`` levels down, imports."""
    tree = ast.parse(source)
    parts: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            dotted = [alias.name for alias in node.names if alias.name.startswith("messenger.")]
            parts.update(name.split(".")[1] for name in dotted)
        elif isinstance(node, ast.ImportFrom):
            parts.update(_from_parts(node, depth))
    return parts


def _from_parts(node: ast.ImportFrom, depth: int) -> set[str]:
    """The parts a ``from ... import ...`` statement reaches, resolved against the package root."""
    module = node.module or ""
    if node.level == 0:
        if not (module == "messenger" or module.startswith("messenger.")):
            return set()
        module = module.removeprefix("messenger").lstrip(".")
    elif node.level == depth:
        pass  # relative to the package root: ``from .. import x`` in a subpackage
    elif 1 <= node.level < depth and depth >= 2:
        return set()  # inside the same subpackage (a sibling, or a parent within the part)
    else:
        raise AssertionError(f"unexpected relative import level {node.level}")
    if module:
        return {module.split(".")[0]}
    names = {alias.name for alias in node.names} - {"__version__"}
    return names


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if _part(p) in ALLOWED)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_one_way(path: Path) -> None:
    part = _part(path)
    name = str(path.relative_to(PACKAGE))
    wrong = {other for other in _imported_parts(path) - {part} - ALLOWED[part]}
    assert not wrong, f"{name} ({part}) imports {sorted(wrong)}"


# The protocol modules that turn frames into bytes: the transports' business, never the core's.
ENCODERS = {"codec", "textmode", "irc"}
CORE_MODULES = sorted((PACKAGE / "core").glob("*.py"))


def _protocol_modules(source: str) -> set[str]:
    """Which modules of ``messenger.protocol`` a module of a subpackage imports by name."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.ImportFrom)
            and node.level == 2
            and (node.module or "").startswith("protocol")
        ):
            rest = (node.module or "").split(".")[1:]
            found.update(rest[:1] or {alias.name for alias in node.names})
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("messenger.protocol."):
            found.add((node.module or "").split(".")[2])
    return found


@pytest.mark.parametrize("path", CORE_MODULES, ids=lambda p: p.name)
def test_the_core_encodes_nothing(path: Path) -> None:
    """The core decides who receives a frame; how it becomes bytes is each transport's."""
    assert not _protocol_modules(path.read_text(encoding="utf-8")) & ENCODERS


def test_the_encoder_check_sees_protocol_imports() -> None:
    source = "from ..protocol.codec import encode\nfrom ..protocol import textmode\n"
    source += "from ..protocol.frames import X\n"
    assert _protocol_modules(source) == {"codec", "textmode", "frames"}


def test_every_module_belongs_to_a_part() -> None:
    top = {"__init__", "__main__"}
    unplaced = [p.name for p in PACKAGE.rglob("*.py") if _part(p) not in ALLOWED and _part(p) not in top]
    assert not unplaced, f"modules outside every part: {unplaced}"


def test_the_checker_sees_every_form_of_import() -> None:
    """The checker is not blind: absolute, relative, inside functions, siblings left out."""
    source = (
        "from ..server.delivery import ChatLog\n"
        "from .store import MessageStore\n"
        "from .. import __version__\n"
        "def later() -> None:\n"
        "    import messenger.ui.render\n"
        "    from messenger.cli import main\n"
    )
    assert _imports(source, 2) == {"server", "ui", "cli"}
    assert _imports("from .tls import TLSChannel\nfrom . import client\n", 1) == {"tls", "client"}


def test_every_request_has_a_step_in_the_tcp_handler() -> None:
    """The handler dispatches a request to ``on_<type>``: each client frame must have one, or a
    valid request would fail in the handler instead of being answered."""
    from messenger.protocol.connection import ANSWERED_HERE
    from messenger.protocol.frames import CLIENT_FRAMES
    from messenger.server.handler import ChatConnection

    asked = [cls.TYPE for cls in CLIENT_FRAMES if cls.TYPE not in ANSWERED_HERE]
    missing = [kind for kind in asked if not callable(getattr(ChatConnection, f"on_{kind}", None))]
    assert not missing, f"no on_<type> for {missing}"


# The protocol package does no I/O: it imports only the standard library, and none of its I/O.
FORBIDDEN = {
    "socket",
    "socketserver",
    "threading",
    "selectors",
    "asyncio",
    "ssl",
    "rich",
    "typer",
    "subprocess",
}


def test_protocol_imports_no_io_module() -> None:
    """Every module of the protocol package, found by walking its directory (so a module added
    later is checked too), imports only the standard library and the package's own modules."""
    package = Path(protocol.__file__).parent
    modules = sorted(package.rglob("*.py"))
    assert {path.stem for path in modules} >= {"__init__", "frames", "codec", "lines", "names", "textmode"}
    imported: set[str] = set()
    for path in modules:
        source = path.read_text(encoding="utf-8")
        assert "__import__" not in source and "importlib" not in source
        depth = len(path.relative_to(package).parts)  # 1 for a module of the package itself
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level:
                assert node.level <= depth, f"{path.name} imports from outside the protocol package"
            elif isinstance(node, ast.ImportFrom):
                imported.add((node.module or "").split(".")[0])
    assert imported  # the walk did find the imports
    assert "json" in imported and "unicodedata" in imported
    assert not imported & FORBIDDEN
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}

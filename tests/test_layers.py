"""Imports point one way: protocol <- core <- server; protocol <- client <- ui <- cli.

Read from the import statements of every module (no importing), so a wrong-way import fails here
even when nothing exercises it yet.  ``tls`` is the one module shared by both ends (client and
server) and imports nothing of the package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

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
    "cli": {"protocol", "core", "server", "client", "ui", "tls", "_version"},
}

# Wrong-way imports that exist today, each a seam still to cut (docs/architecture.md): the core
# appends encoded frames to the server's ChatLog instead of emitting events.  This list may only
# shrink.
KNOWN_SEAMS = {("core/registry.py", "server"), ("core/members.py", "server"), ("core/rooms.py", "server")}


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
    elif node.level == 1 and depth == 2:
        return set()  # a sibling in the same subpackage
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
    wrong -= {seam for module, seam in KNOWN_SEAMS if module == name}
    assert not wrong, f"{name} ({part}) imports {sorted(wrong)}"


def test_the_known_seams_are_still_there() -> None:
    """A seam that was cut must leave KNOWN_SEAMS too, so the list never hides a new one."""
    for module, seam in KNOWN_SEAMS:
        assert seam in _imported_parts(PACKAGE / module), f"{module} no longer imports {seam}"


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

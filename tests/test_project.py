"""What a reader of the repository and an installer see: packaging metadata and the docs.

The docs are the contract users read; they must not point at files or trackers a reader of this
repository does not have, and what they quote from the code must be what the code says.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from messenger.protocol import TEXT_HELP

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_the_licence_is_an_spdx_expression() -> None:
    """setuptools deprecates the ``license = { text = … }`` table and warns on every install."""
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from 3.11")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["license"] == "MIT"
    requires = " ".join(project["build-system"]["requires"])
    assert (
        re.search(r"setuptools>=(\d+)", requires) and int(re.search(r"setuptools>=(\d+)", requires)[1]) >= 77
    )


def test_runtime_dependencies_are_bounded() -> None:
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from 3.11")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    typer = next(spec for spec in project["project"]["dependencies"] if spec.startswith("typer"))
    assert ">=" in typer and "<" in typer.replace("<=", "")


@pytest.mark.parametrize("path", DOCS, ids=lambda path: path.name)
def test_docs_point_at_nothing_a_reader_lacks(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "PROTOCOL.md" not in text
    assert not re.search(r"\bissues? #?\d+\b", text, re.IGNORECASE), re.search(
        r".{0,40}\bissues? #?\d+\b.{0,40}", text, re.IGNORECASE
    )


def test_the_protocol_doc_quotes_the_help_text_the_server_sends() -> None:
    text = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    for line in TEXT_HELP:
        assert line in text, line


def test_the_architecture_doc_names_every_command() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for command in ("serve", "connect", "send", "users"):
        assert f"`{command}`" in text, command


def test_performance_figures_name_their_commit() -> None:
    text = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    sections = [s for s in re.split(r"^## ", text, flags=re.MULTILINE)[1:] if re.search(r"\d+\.\d+", s)]
    for section in sections:
        title = section.splitlines()[0]
        assert re.search(r"\bcommit [0-9a-f]{7,40}\b", section), f"no commit named in '{title}'"

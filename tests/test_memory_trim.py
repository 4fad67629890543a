"""The server gives the C allocator's free pages back to the system now and then (after a storm
of logins the per-thread arenas keep them otherwise).  What that frees is measured in
docs/performance.md (memory cannot be counted reliably inside a test); here: that the call is
found where the C library has it, and is a no-op where it has not."""

from __future__ import annotations

import platform

import pytest

from messenger.server import memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_malloc_trim_is_found_and_runs_on_glibc() -> None:
    assert memory._MALLOC_TRIM is not None
    assert isinstance(memory.release_free_memory(), bool)


def test_trimming_is_a_no_op_where_there_is_nothing_to_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "_MALLOC_TRIM", None)
    assert memory.release_free_memory() is False

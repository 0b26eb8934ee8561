"""Atomic writes: a reader finds the old file or the whole new one, never half of one."""

from __future__ import annotations

from pathlib import Path

import pytest

from provenance.files import atomic_open, atomic_write


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    atomic_write(target, "old")
    with pytest.raises(RuntimeError), atomic_open(target) as handle:
        handle.write("half of the new")
        raise RuntimeError("crash")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["report.json"]
    atomic_write(target, b"new \xe2\x9c\x93")
    assert target.read_text(encoding="utf-8") == "new \u2713"
    with pytest.raises(ValueError, match="mode"):
        with atomic_open(target, "a"):
            pass

"""Tests for atomic file and directory output."""

from __future__ import annotations

from pathlib import Path

import pytest

from backbeat.formats.atomic import (
    OutputWriteError,
    atomic_output_dir,
    atomic_write_bytes,
    atomic_write_text,
)


def test_write_text_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "a.txt"
    atomic_write_text(target, "one\n")
    atomic_write_text(target, "two\nlines\n", newline="\r\n")
    assert target.read_bytes() == b"two\r\nlines\r\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.txt"]


def test_write_bytes_failure_keeps_old_content(tmp_path: Path) -> None:
    target = tmp_path / "a.bin"
    atomic_write_bytes(target, b"old")


    with pytest.raises(TypeError):
        atomic_write_bytes(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_write_into_file_parent_is_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputWriteError, match="file"):
        atomic_write_text(blocker / "child.txt", "x")


def test_output_dir_success_and_replace(tmp_path: Path) -> None:
    target = tmp_path / "song"
    with atomic_output_dir(target) as d:
        (d / "notes.chart").write_text("a")
    assert (target / "notes.chart").read_text() == "a"
    with atomic_output_dir(target) as d:
        (d / "song.ini").write_text("b")
    assert sorted(p.name for p in target.iterdir()) == ["song.ini"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song"]


def test_output_dir_failure_leaves_target_untouched(tmp_path: Path) -> None:
    target = tmp_path / "song"
    target.mkdir()
    (target / "keep").write_text("k")
    with pytest.raises(RuntimeError), atomic_output_dir(target) as d:
        (d / "half").write_text("h")
        raise RuntimeError("boom")
    assert sorted(p.name for p in target.iterdir()) == ["keep"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song"]


def test_output_dir_refuses_existing_when_asked(tmp_path: Path) -> None:
    target = tmp_path / "song"
    target.mkdir()
    with pytest.raises(OutputWriteError, match="already exists"), atomic_output_dir(
            target, replace_existing=False):
        pass

"""`-o FILE` writing: atomic, refuses surprises, every failure a message (never a traceback)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from archscope.cli.output import OutputError, write_output


def test_writes_and_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    target = tmp_path / "a.svg"
    write_output(target, "<svg/>")
    assert target.read_text() == "<svg/>"
    with pytest.raises(OutputError, match="exists; pass --force"):
        write_output(target, "other")
    assert target.read_text() == "<svg/>"
    write_output(target, b"new", force=True)
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["a.svg"]  # no temporary file left


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "empty"), ("missing/a.png", "does not exist"), (".", "is a folder"), ("x" * 300, "too long")],
)
def test_bad_paths_are_messages(tmp_path: Path, name: str, message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # and back: a later test of this process may name a relative path
    with pytest.raises(OutputError, match=message):
        write_output(name, "data")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_unwritable_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="permission denied"):
            write_output(folder / "a.html", "data")
    finally:
        folder.chmod(0o700)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
def test_full_device_is_a_message() -> None:
    with pytest.raises(OutputError, match="no space left"):
        write_output("/dev/full", "data" * 1000)


def test_the_file_gets_the_usual_mode(tmp_path: Path) -> None:
    """Not mkstemp's 0600: what `open` would give it under the umask."""
    mask = os.umask(0o022)
    try:
        write_output(tmp_path / "a.py", "x = 1\n")
    finally:
        os.umask(mask)
    assert (tmp_path / "a.py").stat().st_mode & 0o777 == 0o644

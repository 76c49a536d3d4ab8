"""File-system questions that never raise: a name too long for the file system (ENAMETOOLONG), a
path through a file, a loop of links or a NUL byte is simply not a file, folder or spec."""

from __future__ import annotations

from pathlib import Path


def is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


def exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def resolved(path: Path) -> Path | None:
    """``path`` with every link followed (None if that fails)."""
    try:
        return path.resolve()
    except (OSError, ValueError, RuntimeError):  # RuntimeError: a loop of links on Python < 3.13
        return None


def is_inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` (links followed) is ``folder`` or under it (links followed)."""
    inner, outer = resolved(path), resolved(folder)
    return inner is not None and outer is not None and (inner == outer or outer in inner.parents)

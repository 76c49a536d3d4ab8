"""Writing a file the user asked for (`-o FILE`): all or nothing, never over a file by surprise.

The data is written to a temporary file in the target's folder and renamed over the target only
when every byte is on disk (:func:`archscope.atomic.replace_file`), so a full disk, a killed
process or an error half-way leaves no half-written picture or report behind, and a replaced
file keeps its permissions. An existing file is replaced only with ``force`` (the
``--force`` flag). Every failure is an :class:`OutputError` with a message for people, which the
command turns into exit 2 (it is about the command line, not the spec); never an internal error.
"""

from __future__ import annotations

import errno
from pathlib import Path

from archscope.atomic import replace_file


class OutputError(Exception):
    """The output cannot be written; ``str()`` is the message to print."""


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on the device"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied"
    if exc.errno == errno.ENAMETOOLONG:
        return "the name is too long for the file system"
    return exc.strerror or str(exc)


def write_output(path: str | Path, data: bytes | str, *, force: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path written.

    Refuses (OutputError) an empty path, a folder, an existing file without ``force``, a missing
    folder, and any OS error (read-only, full disk, name too long), leaving the target untouched.
    Character devices (``/dev/stdout``, ``/dev/null``) are written directly: they cannot be renamed over.
    """
    if str(path) == "":
        raise OutputError("the output path is empty")
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        if target.is_dir():
            raise OutputError(f"{target}: is a folder; give a file name")
        if target.exists() and not target.is_file():  # a device or pipe: write through
            with open(target, "wb") as f:
                f.write(payload)
            return target
        if target.exists() and not force:
            raise OutputError(f"{target}: the file exists; pass --force to replace it")
        folder = target.parent if str(target.parent) else Path(".")
        if not folder.is_dir():
            raise OutputError(f"{target}: the folder {folder} does not exist")
        replace_file(target, payload)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write: {_reason(exc)}") from None
    return target

"""Replacing a file all at once, the one way archscope writes files (``-o FILE``, the calibration cache).

The bytes go to a fresh temporary file in the target's folder, made by :func:`tempfile.mkstemp`
(a random name opened with ``O_CREAT | O_EXCL``: never a predictable name, never through a link
someone planted there); they are flushed to disk and the file is renamed over the target with
:func:`os.replace`, so a reader sees the old file or the new one, never half of one. The new file
keeps the permissions of the file it replaces (a private 0600 report stays private); a file that
did not exist gets the usual ``0666 & ~umask``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it: put it straight back
    os.umask(mask)
    return mask


def replace_file(target: Path, payload: bytes) -> None:
    """Write ``payload`` to ``target`` atomically (see the module docstring). On any error the
    temporary file is removed, the target is untouched and the ``OSError`` propagates."""
    import tempfile  # here, not at import: it costs every command's start-up ~10 ms

    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)  # the file replaced keeps its permissions
    except FileNotFoundError:
        mode = 0o666 & ~_umask()  # mkstemp makes it private (0600); a new file is the user's usual
    folder = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

"""How much memory the machine has free for `bench` (the memory a network needs comes from the
one static model, :mod:`archscope.passes.memory`)."""

from __future__ import annotations

import os


def available_host_memory() -> int | None:
    """Bytes the OS can give this process now (``MemAvailable``), or None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None

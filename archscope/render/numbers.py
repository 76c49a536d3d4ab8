"""Number formatting shared by every renderer."""

from __future__ import annotations

from typing import Any


def compact(n: float, unit: str = "") -> str:
    """1814073344 → '1.81G'; 0 → '0'. Decimal prefixes (K = 10³), as papers quote them."""
    if n == 0:
        return "0"
    for factor, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= factor:
            return f"{n / factor:.2f}{suffix}{unit}"
    return f"{n:g}{unit}"


def exact(n: int) -> str:
    return f"{n:,}"


def size_bytes(n: float) -> str:
    """Binary prefixes for memory: 44.59 MiB."""
    for factor, suffix in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if n >= factor:
            return f"{n / factor:.2f} {suffix}"
    return f"{n:g} B"


def shape(s: tuple[int, ...] | list[int]) -> str:
    return "×".join(str(d) for d in s)


def ratio(a: float, b: float) -> str:
    return "—" if b == 0 else f"{a / b:.2f}×"


def cell(value: Any, kind: str, exact_numbers: bool = False) -> str:
    """A table value as people read it (the kinds are listed in :mod:`archscope.results.table`; a
    column's kind says what type its values have, so ``value`` is typed by ``kind``, not here)."""
    if value is None:
        return "—" if kind == "ratio" else ""
    if kind == "count":
        return f"{value:,}" if exact_numbers else compact(value)
    if kind == "int":
        return f"{value:,}"
    if kind == "percent":
        return f"{value:.1f}"
    if kind == "ratio":
        return f"{value:.2f}×"
    if kind == "shape":
        return shape(value)
    if kind == "list":
        return "|".join(map(str, value))
    if kind == "bytes":
        return size_bytes(value)
    if kind == "ms":
        return f"{value:.2f}"
    if kind == "rate":
        return f"{value:,.1f}"
    return str(value)

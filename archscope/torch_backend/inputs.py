"""Analysing a spec at another input resolution (for quick checks and benchmarks).

``analyze_at(spec, 64)`` is ``analyze(spec)`` with ``scale.resolution`` set to 64: the same
layers at a smaller input, so every static number is the network's number *at that input*.
``expect:`` is not checked (its numbers are for the spec's own input). Imports no torch.
"""

from __future__ import annotations

from pathlib import Path

from ..api import Analysis, analyze


def analyze_at(source: str | Path, resolution: int | list[int] | None, *, text: str | None = None) -> Analysis:
    """Like :func:`archscope.analyze`, with the input's spatial size replaced by ``resolution``."""
    return analyze(source, text=text, resolution=resolution)

"""Analysing a spec at another input resolution (for quick checks and benchmarks).

``analyze_at(spec, 64)`` is ``analyze(spec)`` with ``scale.resolution`` set to 64: the same
layers at a smaller input, so every static number is the network's number *at that input*.
``expect:`` is not checked (its numbers are for the spec's own input). Imports no torch.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..api import Analysis, analyze, load
from ..bundled import resolve, resolve_path
from ..diagnostics import Collector, Diagnostic, SpecError
from ..elaborate import dedupe, elaborate
from ..report import build_report
from ..spec import load_spec_text
from ..yamlsrc import YScalar, YSeq


def analyze_at(source: str | Path, resolution: int | list[int] | None, *, text: str | None = None) -> Analysis:
    """Like :func:`archscope.analyze`, with the input's spatial size replaced by ``resolution``."""
    if resolution is None:
        return analyze(source, text=text)
    note = None
    try:
        if text is not None:
            spec = load_spec_text(text, str(source), resolver=resolve_path)
        else:
            found = resolve(str(source))
            note = found.note if found else None
            spec = load(source)
    except SpecError as exc:
        return Analysis(str(source), None, None, None, sorted(exc.diagnostics, key=Diagnostic.sort_key))
    span = spec.scale["resolution"][0] if "resolution" in spec.scale else spec.span
    value = (YScalar(resolution, span) if isinstance(resolution, int)
             else YSeq([YScalar(r, span) for r in resolution], span))
    spec = dataclasses.replace(spec, scale={**spec.scale, "resolution": (span, value)}, expect={})
    diags = Collector()
    graph = elaborate(spec, diags)
    report = None
    if graph is not None and not diags.has_errors and graph.output is not None:
        report = build_report(graph, [d for d in diags.items if not d.is_error])
    items = sorted(dedupe(diags.items), key=Diagnostic.sort_key)
    return Analysis(str(source), spec, graph, report, items, note)

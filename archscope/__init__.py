"""archscope: understand, check and compare convolutional network architectures.

The static core (spec, graph, shapes, costs) needs no torch. :func:`build` and the timing
functions import torch when they are called.
"""

from __future__ import annotations

from typing import Any

from .api import Analysis, LintResult, analyze, lint, list_specs, load, summarize
from .diagnostics import Diagnostic, Severity, Span, SpecError
from .report import CONVENTION, LayerRow, Report, Totals

__version__ = "0.1.0"

__all__ = [
    "CONVENTION",
    "Analysis",
    "Diagnostic",
    "LayerRow",
    "LintResult",
    "Report",
    "Severity",
    "Span",
    "SpecError",
    "Totals",
    "analyze",
    "build",
    "lint",
    "list_specs",
    "load",
    "summarize",
]


def __getattr__(name: str) -> Any:
    # torch-backed entry points, imported on first use so that `import archscope` stays light
    if name in ("build", "verify", "bench"):
        from . import torch_backend

        return getattr(torch_backend, name)
    raise AttributeError(f"module 'archscope' has no attribute {name!r}")

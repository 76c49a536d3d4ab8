"""archscope: understand, check and compare convolutional network architectures.

The static core (spec, graph, shapes, costs) needs no torch. :func:`build` and the timing
functions import torch when they are called.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from archscope.api import Analysis, LintResult, analyze, lint, list_specs, load, summarize, summary
    from archscope.diagnostics import Diagnostic, Severity, Span, SpecError
    from archscope.results.report import CONVENTION, LayerRow, Report, Totals

# Every name loads on first use: `import archscope` (and so the `archscope` command, which
# installs its Ctrl-C handler first thing) costs nothing until something is asked for.
_LAZY = {
    **dict.fromkeys(
        ("Analysis", "LintResult", "analyze", "lint", "list_specs", "load", "summarize", "summary"), ".api"
    ),
    **dict.fromkeys(("Diagnostic", "Severity", "Span", "SpecError"), ".diagnostics"),
    **dict.fromkeys(("CONVENTION", "LayerRow", "Report", "Totals"), ".report"),
    **dict.fromkeys(("build", "verify", "bench"), ".torch_backend"),  # torch-backed: imported on first use
}

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
    "summary",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'archscope' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    if module != ".torch_backend":
        globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

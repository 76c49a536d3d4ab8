"""Networks side by side, with ratios to the first (static; no torch)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archscope.api import Analysis, analyze
from archscope.diagnostics import Diagnostic
from archscope.overrides import Overrides
from archscope.passes.conventions import CONVENTIONS_PASS, DEFAULT, ConventionOptions
from archscope.passes.receptive_field import field_cell


@dataclass(frozen=True)
class Comparison:
    analyses: tuple[Analysis, ...]
    convention: str = DEFAULT  # `--convention`: `counted` in each row is that tool's total

    @property
    def ok(self) -> bool:
        return all(a.report is not None and a.ok for a in self.analyses)

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return [d for a in self.analyses for d in a.diagnostics]

    def rows(self) -> list[dict[str, Any]]:
        """One dict per network; ratios are to the first network."""
        out = []
        base = self.analyses[0].report
        counted = [self._counted(a) for a in self.analyses]
        for a, n in zip(self.analyses, counted, strict=True):
            r = a.report
            assert r is not None and base is not None
            t, b = r.totals, base.totals
            out.append(
                {
                    "name": r.name,
                    "title": r.title,
                    "requested": a.source,
                    "resolved_from": a.note,
                    "input": list(r.input),
                    "inputs_label": ", ".join("×".join(map(str, shape)) for _, shape in r.inputs)
                    or "×".join(map(str, r.input)),
                    "depth": t.depth,
                    "params": t.params,
                    "macs": t.macs,
                    "flops": t.flops,
                    "activations": t.activations,
                    "model_bytes": t.model_bytes,
                    "receptive_field": field_cell(r.receptive_field),
                    "params_ratio": t.params / b.params if b.params else None,
                    "macs_ratio": t.macs / b.macs if b.macs else None,
                    "activations_ratio": t.activations / b.activations if b.activations else None,
                    "counted": n,
                    "counted_ratio": n / counted[0] if counted[0] else None,
                }
            )
        return out

    def _counted(self, a: Analysis) -> int:
        """The network's total under the comparison's convention (its MACs under the default)."""
        assert a.report is not None
        if self.convention == DEFAULT or a.graph is None:
            return a.report.totals.macs
        return a.run_pass(CONVENTIONS_PASS, ConventionOptions(self.convention)).total


def compare(
    sources: Iterable[str],
    overrides: Overrides | None = None,
    convention: str = DEFAULT,
    extends_root: str | Path | None = None,
    max_layers: int | None = None,
) -> Comparison:
    """Each source analysed with the same ``overrides`` (e.g. one resolution for all); ``counted``
    in each row is its total under ``convention`` (:mod:`archscope.passes.conventions`)."""
    return Comparison(
        tuple(analyze(s, overrides=overrides, extends_root=extends_root, max_layers=max_layers) for s in sources),
        convention,
    )

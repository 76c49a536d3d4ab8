"""Reports: per-layer rows and totals, as plain data (``to_dict`` for JSON)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from archscope.diagnostics import Collector, Diagnostic
from archscope.graph import Graph
from archscope.ops.registry import Shape, numel
from archscope.passes import conventions
from archscope.passes.costs import BYTES_PER_ELEMENT, Totals
from archscope.passes.manager import run_pass
from archscope.passes.training import Training

__all__ = ["BYTES_PER_ELEMENT", "CONVENTION", "LayerRow", "Report", "Totals", "build_report", "with_convention"]

CONVENTION = (
    "MACs = multiply-accumulates of conv and linear weights and of matrix products of activations "
    "(attention's Q·Kᵀ and A·V), 1 fused multiply-add = 1 MAC, bias adds excluded, as torchvision "
    "counts them (and fvcore, for CNNs); FLOPs = 2 × MACs. "
    "`ops` counts all other elementary work (BN, activations, pooling, adds, bias) separately. "
    "Batch 1; bytes assume float32."
)


@dataclass(frozen=True)
class LayerRow:
    name: str
    op: str
    path: tuple[str, ...]
    blocks: tuple[str, ...]
    inputs: tuple[str, ...]
    output_shape: Shape
    params: int
    buffers: int
    macs: int
    ops: int
    activations: int
    line: int
    trainable_params: int  # `params` when the layer trains, else 0 (elaborate/freeze.py)
    frozen_params: int  # `params` when it is frozen; buffers are never trainable
    backward_input_macs: int = 0  # a training step's backward: the input gradient (passes/training.py)
    backward_weight_macs: int = 0  # and the weight gradient; `macs` is the forward's
    counted: int | float | None = None  # under `--convention` (another tool's count), else None

    def to_dict(self) -> dict[str, Any]:
        extra = {} if self.counted is None else {"counted": self.counted}
        return {
            "name": self.name,
            "op": self.op,
            "block": list(self.path),
            "inputs": list(self.inputs),
            "output_shape": list(self.output_shape),
            "params": self.params,
            "trainable_params": self.trainable_params,
            "frozen_params": self.frozen_params,
            "buffers": self.buffers,
            "macs": self.macs,
            "flops": 2 * self.macs,
            "ops": self.ops,
            "activations": self.activations,
            "backward_input_macs": self.backward_input_macs,
            "backward_weight_macs": self.backward_weight_macs,
            "line": self.line,
        } | extra


@dataclass(frozen=True)
class Report:
    name: str
    file: str
    meta: dict[str, Any]
    input: Shape
    output_shape: Shape
    layers: tuple[LayerRow, ...]
    totals: Totals
    scale: dict[str, float] = field(default_factory=dict)
    warnings: tuple[Diagnostic, ...] = ()
    convention: str = CONVENTION
    inputs: tuple[tuple[str, Shape], ...] = ()  # (name, shape) of every input, in declared order
    outputs: tuple[tuple[str, Shape], ...] = ()  # (name, shape) of every output, in declared order
    training: Training | None = None  # a training step's MACs (passes/training.py)
    receptive_field: dict[str, Any] | None = None  # passes.field.final_dict: the output's field
    counted: conventions.ConventionCount | None = None  # `--convention`: another tool's counts (with_convention)

    @property
    def title(self) -> str:
        return str(self.meta.get("title") or self.name)

    def _totals(self) -> dict[str, Any]:
        totals: dict[str, Any] = self.totals.to_dict()
        if self.receptive_field is not None:
            totals["receptive_field"] = self.receptive_field
        return totals

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "file": self.file,
            "meta": {k: v for k, v in self.meta.items() if k != "title"},
            "input": list(self.input),  # the first input's shape: see `inputs` for several
            "inputs": [{"name": name, "shape": list(shape)} for name, shape in self.inputs],
            "output_shape": list(self.output_shape),  # the first output's shape: see `outputs` for several
            "outputs": [{"name": name, "shape": list(shape)} for name, shape in self.outputs],
            "scale": self.scale,
            "convention": self.convention,
            **({"counted": self.counted.to_dict()} if self.counted is not None else {}),
            "totals": {**self._totals(), **self._training_totals()},
            "layers": [row.to_dict() for row in self.layers],
            "warnings": [d.to_dict() for d in self.warnings],
        }

    def _training_totals(self) -> dict[str, int]:
        """One training step (batch 1): forward MACs and backward MACs (input + weight gradients)."""
        t = self.training
        return {
            "forward_macs": self.totals.macs,
            "backward_macs": t.backward_macs if t else 0,
            "backward_input_macs": t.backward_input_macs if t else 0,
            "backward_weight_macs": t.backward_weight_macs if t else 0,
        }


def build_report(
    graph: Graph,
    totals: Totals,
    warnings: list[Diagnostic],
    training: Training | None = None,
    receptive_field: dict[str, Any] | None = None,
) -> Report:
    """The report of a fully costed graph (``totals`` from :func:`archscope.passes.costs.totals`,
    ``training`` from :func:`archscope.passes.training.training_pass`, ``receptive_field`` from
    :func:`archscope.passes.receptive_field.final_dict`)."""
    assert graph.output is not None and graph.output.shape is not None
    rows = tuple(
        LayerRow(
            node.name,
            node.op,
            node.path,
            node.blocks,
            tuple(n.name for n in node.inputs),
            node.shape,
            node.cost.params,
            node.cost.buffers,
            node.cost.macs,
            node.cost.ops,
            numel(node.shape),
            node.span.line,
            node.trainable_params,
            node.cost.params - node.trainable_params,
            *_backward(training, node.name),
        )
        for node in graph.nodes
        if node.shape is not None and node.cost is not None
    )
    assert len(rows) == totals.layers
    return Report(
        graph.name,
        graph.file,
        dict(graph.meta),
        graph.input.shape or (),
        graph.output.shape,
        rows,
        totals,
        graph.scale,
        tuple(warnings),
        inputs=tuple((node.name, node.shape or ()) for node in graph.inputs),
        outputs=tuple(
            (name, node.shape or ()) for name, node in zip(graph.output_names, graph.outputs, strict=True) if node
        ),
        training=training,
        receptive_field=receptive_field,
    )


def with_convention(report: Report, graph: Graph, name: str) -> Report:
    """``report`` counted under convention ``name`` as well (:mod:`archscope.passes.conventions`):
    each row's and the total's count, and that convention's statement. The default convention
    returns ``report`` unchanged: its counts are the MACs."""
    if name == conventions.DEFAULT:
        return report
    counted = run_pass(conventions.CONVENTIONS_PASS, graph, Collector(), conventions.ConventionOptions(name))
    rows = tuple(replace(row, counted=conventions.cell(counted.layers[row.name])) for row in report.layers)
    return replace(report, layers=rows, counted=counted, convention=counted.convention.statement())


def _backward(training: Training | None, name: str) -> tuple[int, int]:
    layer = training.layers.get(name) if training is not None else None
    return (layer.backward_input_macs, layer.backward_weight_macs) if layer is not None else (0, 0)

"""Reports: per-layer rows and totals, as plain data (``to_dict`` for JSON)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .diagnostics import Diagnostic
from .graph import Graph
from .ops import REGISTRY
from .ops.registry import Shape, numel

BYTES_PER_ELEMENT = 4  # float32

CONVENTION = (
    "MACs = multiply-accumulates of conv and linear weights (1 fused multiply-add = 1 MAC; "
    "bias adds excluded), as torchvision and fvcore count them; FLOPs = 2 × MACs. "
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "op": self.op,
            "block": list(self.path),
            "inputs": list(self.inputs),
            "output_shape": list(self.output_shape),
            "params": self.params,
            "buffers": self.buffers,
            "macs": self.macs,
            "flops": 2 * self.macs,
            "ops": self.ops,
            "activations": self.activations,
            "line": self.line,
        }


@dataclass(frozen=True)
class Totals:
    params: int
    buffers: int
    macs: int
    ops: int
    activations: int
    depth: int  # weighted (conv/linear) layers on the network
    layers: int

    @property
    def flops(self) -> int:
        return 2 * self.macs

    @property
    def activation_bytes(self) -> int:
        return self.activations * BYTES_PER_ELEMENT

    @property
    def model_bytes(self) -> int:
        return (self.params + self.buffers) * BYTES_PER_ELEMENT

    def to_dict(self) -> dict[str, int]:
        return {
            "params": self.params,
            "buffers": self.buffers,
            "macs": self.macs,
            "flops": self.flops,
            "ops": self.ops,
            "activations": self.activations,
            "activation_bytes": self.activation_bytes,
            "model_bytes": self.model_bytes,
            "depth": self.depth,
            "layers": self.layers,
        }


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

    @property
    def title(self) -> str:
        return str(self.meta.get("title") or self.name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "file": self.file,
            "meta": {k: v for k, v in self.meta.items() if k != "title"},
            "input": list(self.input),
            "output_shape": list(self.output_shape),
            "scale": self.scale,
            "convention": self.convention,
            "totals": self.totals.to_dict(),
            "layers": [row.to_dict() for row in self.layers],
            "warnings": [d.to_dict() for d in self.warnings],
        }


def build_report(graph: Graph, warnings: list[Diagnostic]) -> Report:
    """Turn a fully shaped graph into a report. Every node must have a shape and a cost."""
    rows = []
    params = buffers = macs = ops = acts = depth = 0
    for node in graph.nodes:
        cost = node.cost
        assert node.shape is not None and cost is not None, node.name
        elements = numel(node.shape)
        rows.append(
            LayerRow(
                node.name,
                node.op,
                node.path,
                node.blocks,
                tuple(n.name for n in node.inputs),
                node.shape,
                cost.params,
                cost.buffers,
                cost.macs,
                cost.ops,
                elements,
                node.span.line,
            )
        )
        params += cost.params
        buffers += cost.buffers
        macs += cost.macs
        ops += cost.ops
        acts += elements
        depth += REGISTRY[node.op].weighted
    assert graph.output is not None and graph.output.shape is not None
    totals = Totals(params, buffers, macs, ops, acts, depth, len(rows))
    return Report(
        graph.name,
        graph.file,
        dict(graph.meta),
        graph.input.shape or (),
        graph.output.shape,
        tuple(rows),
        totals,
        graph.scale,
        tuple(warnings),
    )

"""Costs: each shaped node's params, buffers, MACs and other ops from its op's cost rule, and
the network's totals.

The totals are known only for a complete graph (elaboration reported no error, so every layer
of the spec is a node) in which every node has a cost: a network with a failed or missing layer
has no total, rather than a quietly wrong one.
"""

from __future__ import annotations

from dataclasses import dataclass

from archscope.diagnostics import Collector, ShapeError
from archscope.elaborate.shapes import report_rule_error
from archscope.graph import SHAPES, Graph
from archscope.ops import REGISTRY
from archscope.ops.registry import numel
from archscope.passes.manager import Pass

BYTES_PER_ELEMENT = 4  # float32


@dataclass(frozen=True)
class Totals:
    params: int
    buffers: int
    macs: int
    ops: int
    activations: int
    depth: int  # weighted (conv/linear) layers on the network
    layers: int
    trainable_params: int  # params of the layers that are not frozen (elaborate/freeze.py)

    @property
    def frozen_params(self) -> int:
        return self.params - self.trainable_params

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
            "trainable_params": self.trainable_params,
            "frozen_params": self.frozen_params,
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


def cost_pass(graph: Graph, diags: Collector) -> Totals | None:
    """Set ``node.cost`` on every node that has a shape; return the totals, if known."""
    for node in graph.nodes:
        if node.shape is None:
            continue
        try:
            node.cost = REGISTRY[node.op].cost(node.attrs, node.known_input_shapes(), node.shape)
        except ShapeError as exc:  # no cost rule raises today; if one does, it is reported like a shape rule
            report_rule_error(node, exc, diags)
    return totals(graph)


COSTS_PASS = Pass("costs", cost_pass, requires=frozenset({SHAPES}))


def totals(graph: Graph) -> Totals | None:
    """The network's totals, or None when they are not known (see the module's docstring)."""
    if not graph.complete or any(out is None or out.shape is None for out in graph.outputs):
        return None
    params = buffers = macs = ops = acts = depth = trainable = 0
    for node in graph.nodes:
        cost = node.cost
        if cost is None or node.shape is None:
            return None
        params += cost.params
        trainable += node.trainable_params
        buffers += cost.buffers
        macs += cost.macs
        ops += cost.ops
        acts += numel(node.shape)
        depth += REGISTRY[node.op].weighted
    return Totals(params, buffers, macs, ops, acts, depth, len(graph.nodes), trainable)

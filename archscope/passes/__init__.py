"""Passes over the elaborated graph, run in order: each is a function ``(graph, diags) -> result``.

A pass reads the graph (and what earlier passes set on its nodes), reports into ``diags`` and
returns a frozen result. Shapes are not a graph pass: the elaborator infers them as it makes
each node (:mod:`.shapes`), because a block sees its input's channel count. To add an analysis
(memory…), write a module with one such function and add it to :data:`PASSES`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from archscope.diagnostics import Collector
from archscope.graph import Graph
from archscope.passes.costs import cost_pass
from archscope.passes.expect import expect_pass
from archscope.passes.receptive_field import field_pass
from archscope.passes.training import training_pass


@dataclass(frozen=True)
class Pass:
    name: str
    run: Callable[[Graph, Collector], Any]
    spec_numbers: bool = False  # checks the spec's own numbers: skipped when overrides change the network


PASSES: tuple[Pass, ...] = (
    Pass("costs", cost_pass),
    Pass("training", training_pass),  # after costs: it reads each node's cost
    Pass("expect", expect_pass, spec_numbers=True),
    Pass("receptive_field", field_pass),
)


def run_passes(graph: Graph, diags: Collector, passes: tuple[Pass, ...] = PASSES) -> Mapping[str, Any]:
    """Run ``passes`` in order; their results by name."""
    return MappingProxyType({p.name: p.run(graph, diags) for p in passes})

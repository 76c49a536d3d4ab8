"""Passes over the elaborated graph, registered in ``PASSES`` in an order that meets every requirement.

A pass is a :class:`~archscope.passes.manager.Pass`: its ``name`` (what it provides: its result's
key, and the fact a later pass may require), its function, the facts it ``requires`` and the type of
the ``options`` it takes, declared in code by the module that defines it (``COSTS_PASS`` in
:mod:`.costs`…). A pass reads the graph (and what earlier passes set on its nodes), reports into
``diags`` and returns a frozen result. Shapes are not a graph pass: the elaborator infers them
as it makes each node (:mod:`archscope.elaborate.shapes`), because a block sees its input's
channel count; passes name them as the fact ``shapes``.

:func:`run_passes` runs every pass that is not *on demand*, in order (:func:`archscope.analyze`
does, and keeps their results). An on-demand pass takes options a caller chooses (``memory``: the
batch, dtype, training step and optimizer; ``conventions``: which tool's counting) and runs when
asked: :func:`run_pass` (``Analysis.run_pass``). Each run checks that what the pass requires has
run on the graph, and importing this package checks the order of :data:`PASSES`
(:func:`~archscope.passes.manager.check_order`): a pass listed before what it requires is an
internal error that names both.

To add an analysis: write a module with its function and its ``Pass`` (with what it requires),
and add the ``Pass`` to :data:`PASSES` after the passes it requires.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from archscope.diagnostics import Collector
from archscope.graph import Graph
from archscope.passes.conventions import CONVENTIONS_PASS
from archscope.passes.costs import COSTS_PASS
from archscope.passes.expect import EXPECT_PASS
from archscope.passes.manager import Pass, PassOrderError, check_order, run_pass
from archscope.passes.memory import MEMORY_PASS
from archscope.passes.receptive_field import FIELD_PASS
from archscope.passes.training import TRAINING_PASS

__all__ = ["BY_NAME", "DEFAULT", "PASSES", "Pass", "PassOrderError", "run_pass", "run_passes"]

PASSES: tuple[Pass[Any], ...] = (
    COSTS_PASS,
    TRAINING_PASS,
    EXPECT_PASS,
    FIELD_PASS,
    MEMORY_PASS,
    CONVENTIONS_PASS,
)
check_order(PASSES)

BY_NAME: Mapping[str, Pass[Any]] = MappingProxyType({p.name: p for p in PASSES})
DEFAULT: tuple[Pass[Any], ...] = tuple(p for p in PASSES if not p.on_demand)  # what `run_passes` runs


def run_passes(graph: Graph, diags: Collector, passes: Iterable[Pass[Any]] = DEFAULT) -> Mapping[str, Any]:
    """Run ``passes`` (every pass that is not on demand, by default) in order; their results by name."""
    return MappingProxyType({p.name: run_pass(p, graph, diags) for p in passes})

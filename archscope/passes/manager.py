"""The pass manager: each pass states what it requires, and runs only where that holds.

A :class:`Pass` is a name, a function and its requirements, in the spirit of torch.fx's
``PassManager`` (passes that state what they need in code, not in a comment):

- ``name`` is what the pass *provides*: the key of its result, and the fact a later pass names
  in its ``requires`` (``costs`` sets every shaped node's ``cost``; ``training`` is a result);
- ``requires``: the facts that must hold before it runs: :data:`SHAPES` (the elaborator's node
  shapes) or the name of a pass that has run on the graph;
- ``options``: the type of the options it takes (a frozen dataclass whose defaults are a valid
  choice), or None. A pass without options is ``run(graph, diags) -> result``, one with options
  ``run(graph, diags, options) -> result``;
- ``on_demand``: run only when a caller asks for it (:func:`run_pass`, with the options it
  chooses: a batch size, a counting convention), not by :func:`run_passes`' default.

The graph records what has run on it (``Graph.provided``). :func:`run_pass` refuses a pass whose
requirement has not run, and :func:`check_order` refuses a sequence of passes in which a pass
comes before what it requires (:data:`archscope.passes.PASSES` is checked on import): both are internal errors (:class:`PassOrderError`), not
diagnostics, since no spec can cause them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from archscope.diagnostics import Collector
from archscope.graph import SHAPES, Graph

R = TypeVar("R")

__all__ = ["SHAPES", "Pass", "PassOrderError", "check_order", "run_pass"]


class PassOrderError(RuntimeError):
    """A pass would run before a fact it requires: a bug in archscope's pass list or a caller."""


@dataclass(frozen=True)
class Pass(Generic[R]):
    """One analysis of the elaborated graph (see the module docstring)."""

    name: str  # what it provides
    run: Callable[..., R]  # (graph, diags) -> R, or (graph, diags, options) -> R when `options` is set
    requires: frozenset[str] = frozenset()
    options: type[Any] | None = None
    on_demand: bool = False  # run when asked for, with options the caller chooses
    spec_numbers: bool = False  # checks the spec's own numbers: skipped when overrides change the network


def check_order(passes: Iterable[Pass[Any]], given: frozenset[str] = frozenset({SHAPES})) -> None:
    """Raise :class:`PassOrderError` unless each pass's requirements are in ``given`` or provided
    by a pass before it."""
    known = set(given)
    for p in passes:
        missing = sorted(p.requires - known)
        if missing:
            names = ", ".join(f"`{m}`" for m in missing)
            raise PassOrderError(f"pass `{p.name}` requires {names}, which no pass before it provides")
        known.add(p.name)


def run_pass(p: Pass[R], graph: Graph, diags: Collector, options: object | None = None) -> R:
    """Run ``p`` on ``graph`` (with ``options``, or its options' defaults) and record that it ran.

    Raises :class:`PassOrderError` when a requirement of ``p`` has not run on ``graph``, and
    :class:`TypeError` for options ``p`` does not take."""
    missing = sorted(p.requires - graph.provided)
    if missing:
        names = ", ".join(f"`{m}`" for m in missing)
        raise PassOrderError(f"pass `{p.name}` requires {names}, which has not run on graph `{graph.name}`")
    if p.options is None:
        if options is not None:
            raise TypeError(f"pass `{p.name}` takes no options, not a {type(options).__name__}")
        result = p.run(graph, diags)
    else:
        chosen = p.options() if options is None else options
        if not isinstance(chosen, p.options):
            raise TypeError(f"pass `{p.name}` takes {p.options.__name__}, not a {type(chosen).__name__}")
        result = p.run(graph, diags, chosen)
    graph.provided.add(p.name)
    return result

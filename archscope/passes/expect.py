"""The ``expect:`` check: the spec's own numbers against the computed ones (E201).

Each key is checked when its computed value is known, whatever else failed: ``params``,
``macs`` and ``buffers`` need the network's totals (a complete graph, every layer costed);
``output`` needs only the output layer's shape, ``outputs`` (name → sizes) those of the
named outputs. A value that is not a count (or a list of
sizes, for ``output``) is reported (E004) whether or not anything can be computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archscope.diagnostics import Collector, brief
from archscope.graph import Graph
from archscope.lang.expr import ExprError, evaluate
from archscope.passes.costs import totals
from archscope.passes.manager import Pass


@dataclass(frozen=True)
class ExpectResult:
    checked: tuple[str, ...] = ()  # compared with the computed value (matching or not)
    unknown: tuple[str, ...] = ()  # well-formed, but nothing to compare with: the network has errors
    malformed: tuple[str, ...] = ()  # reported as E004


def expect_pass(graph: Graph, diags: Collector) -> ExpectResult:
    computed = _computed(graph)
    checked: list[str] = []
    unknown: list[str] = []
    malformed: list[str] = []
    for key, exp in graph.expect.items():
        value = _as_number(exp.value)
        if not _well_formed(key, value):
            what = _WHAT.get(key, "a whole number such as 11_689_512")
            diags.error("E004", f"`expect.{key}` must be {what}", exp.span, expected=what, found=brief(value))
            malformed.append(key)
        elif key not in computed:
            unknown.append(key)
        else:
            checked.append(key)
            want = computed[key]
            if key == "outputs" and isinstance(value, dict):  # only the outputs named (each must be an output)
                want = {k: want.get(k, "no such output") for k in value}
            if value != want:
                diags.error(
                    "E201",
                    f"expected {key} {_show(value)}, computed {_show(want)}",
                    exp.span,
                    expected=_show(value),
                    found=_show(want),
                )
    return ExpectResult(tuple(checked), tuple(unknown), tuple(malformed))


# it compares the network's totals, which need every node's cost
EXPECT_PASS = Pass("expect", expect_pass, requires=frozenset({"costs"}), spec_numbers=True)


def _computed(graph: Graph) -> dict[str, Any]:
    known: dict[str, Any] = {}
    found = totals(graph)
    if found is not None:
        known.update(params=found.params, macs=found.macs, buffers=found.buffers)
    if graph.output is not None and graph.output.shape is not None:
        known["output"] = list(graph.output.shape)
    shapes = [out.shape if out is not None else None for out in graph.outputs]
    if all(shape is not None for shape in shapes):
        known["outputs"] = {
            name: list(shape) for name, shape in zip(graph.output_names, shapes, strict=True) if shape is not None
        }
    return known


def _as_number(value: object) -> object:
    """A string is read as an expression (`'25_557_032'`, `'4 * 10**9'`); anything else as it is."""
    if isinstance(value, str):
        try:
            return evaluate(value.replace("_", ""), {})
        except ExprError:
            pass
    return value


_WHAT = {
    "output": "a list of sizes such as [1000]",
    "outputs": "a mapping of output names to lists of sizes such as {aux: [1000], fc: [1000]}",
}


def _well_formed(key: str, value: object) -> bool:
    if key == "output":
        return _is_sizes(value)
    if key == "outputs":
        return isinstance(value, dict) and bool(value) and all(_is_sizes(v) for v in value.values())
    return _is_count(value)


def _is_sizes(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(_is_count(v) for v in value)


def _is_count(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _show(v: object) -> str:
    return f"{v:,}" if isinstance(v, int) else brief(v)

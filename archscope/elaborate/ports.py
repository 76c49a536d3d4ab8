"""Ports: which output of a multi-output layer a reference or an input takes.

A layer whose op declares ``extra_outputs`` has several outputs: port 0 is its main output and
port ``k`` its extra output ``k - 1``. A reference selects one as ``name.k`` or by the extra
output's declared name (``pool.indices``); an input that the consuming op declares in ``takes``
and that names just the layer gets the output of that name. Each node records the port of each
of its inputs (``Node.ports``), which shapes, costs, lowering and memory read.
"""

from __future__ import annotations

from archscope.diagnostics import Collector, Span
from archscope.graph import Node, Output
from archscope.ops import REGISTRY
from archscope.ops.registry import ExtraOutput, OpDef


def extra_outputs(node: Node) -> tuple[ExtraOutput, ...]:
    """The extra outputs of ``node`` (none for a network input)."""
    op = REGISTRY.get(node.op)
    return op.extra_outputs(node.attrs) if op is not None else ()


def select_output(
    node: Node, base: str, suffix: str, ref: tuple[str, Span], what: str, diags: Collector, notes: tuple[str, ...]
) -> Output | None:
    """Output ``suffix`` (an index or a declared name) of the layer ``node``, written ``base``;
    None after reporting E008 when it has no such output."""
    extras = extra_outputs(node)
    names = [e.name for e in extras]
    if suffix.isdigit() and int(suffix) <= len(extras):
        return Output(node, int(suffix))
    if suffix in names:
        return Output(node, names.index(suffix) + 1)
    has = ", ".join([f"`{base}.{k}`" for k in range(len(extras) + 1)] + [f"`{base}.{n}`" for n in names])
    diags.error(
        "E008",
        f"`{what}{ref[0]}` names no layer, and `{base}` has no output `{suffix}`",
        ref[1],
        expected=f"one of {has}",
        found=ref[0],
        notes=notes,
    )
    return None


def input_ports(op: OpDef, inputs: list[Output]) -> tuple[int, ...]:
    """Which output of its source each input takes: the output referenced, or for an input that
    the op declares in ``takes`` and that names just a layer, that layer's output of that name.
    Empty when every input takes a main output."""
    ports = [n.port for n in inputs]
    for i, wanted in op.takes:
        if i < len(inputs) and ports[i] == 0:
            names = [e.name for e in extra_outputs(inputs[i].node)]
            if wanted in names:
                ports[i] = names.index(wanted) + 1
    return tuple(ports) if any(ports) else ()

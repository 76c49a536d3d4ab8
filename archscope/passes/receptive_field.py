"""Receptive field: per layer and per spatial dim, how many input units one output unit sees
(size), how far apart neighbouring units' fields are (effective stride, or jump) and where the
field of output unit 0 is centred (in input units; input unit 0 is centred at 0).

Araujo, Norris, Sim, "Computing Receptive Fields of CNNs" (Distill 2019): along a path of
windows (k, s, p, d) the size grows by d·(k − 1)·jump, the jump by ×s and the centre by
((d·(k − 1))/2 − p)·jump. Here every op declares which input units output unit ``o`` reads
(:mod:`archscope.ops.receptive_field`) and the pass composes those maps exactly: a node keeps, for one
period of its output units, the first and last input unit each sees. The period is 1 for
integer strides (the closed form above); a transposed conv or an upsample (stride 1/s) makes
neighbouring units see differently placed fields, with period s, and the size is the largest.
On a merge (residual ``add``, inception's ``concat``, dense blocks) the field is the union of
the inputs' fields; when their strides or unit-0 centres differ, a note says so. A global op
(global pooling, group/instance norm statistics, a linear layer) makes the field ``global``:
every later unit sees the whole input, and no number is made up for it. The fields are
unclipped: units near the border see fewer real pixels (the rest is padding).

The phase tables and their composition, and the bound on the work they take, are
:mod:`.field_algebra`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from archscope.diagnostics import Collector
from archscope.graph import SHAPES, Graph, Node
from archscope.passes.field_algebra import NodeField, Work, input_field, node_field
from archscope.passes.manager import Pass


@dataclass(frozen=True)
class LayerField:
    name: str
    op: str
    shape: tuple[int, ...]
    size: tuple[int | None, ...]  # None: global along that dim
    stride: tuple[Fraction | None, ...]
    center: tuple[Fraction | None, ...]
    is_global: bool
    flat: bool = False
    unknown: str = ""

    @property
    def local(self) -> bool:
        return bool(self.size) and not self.is_global and not self.unknown and None not in self.size


@dataclass(frozen=True)
class FieldResult:
    layers: tuple[LayerField, ...]
    final: LayerField | None  # the (first) output's field
    widest: LayerField | None  # the largest local field of any layer (what a unit sees before a global op)
    notes: tuple[str, ...] = field(default_factory=tuple)
    fields: tuple[NodeField, ...] = ()  # each layer's phase tables, in the order of ``layers``
    steps: int = 0  # the phase work done (:class:`.field_algebra.Work`): at most its MAX_STEPS

    def extent(self, name: str, axis: int, unit: int) -> tuple[int, int] | None:
        """The first and last input unit (unclipped) that unit ``unit`` of layer ``name`` sees along ``axis``."""
        index = next(i for i, layer in enumerate(self.layers) if layer.name == name)
        dim = self.fields[index].dims[axis]
        return None if dim is None else dim.extent(unit)


def _layer(node: Node, f: NodeField) -> LayerField:
    return LayerField(
        node.name,
        node.op,
        tuple(node.shape or ()),
        tuple(d.size if d else None for d in f.dims),
        tuple(d.jump if d else None for d in f.dims),
        tuple(d.center if d else None for d in f.dims),
        f.everywhere,
        f.flat,
        f.unknown,
    )


def field_pass(graph: Graph, diags: Collector) -> FieldResult | None:
    """The field of every shaped node (None when a layer failed: no partial answer)."""
    if not graph.complete or any(n.shape is None for n in graph.nodes):
        return None
    fields: dict[int, NodeField] = {id(n): input_field(n) for n in graph.inputs}
    notes: list[str] = []
    layers = []
    work = Work()
    for node in graph.nodes:
        f = node_field(node, [fields[id(n)] for n in node.inputs], notes, work)
        fields[id(node)] = f
        layers.append(_layer(node, f))
    ordered = tuple(fields[id(node)] for node in graph.nodes)
    by_name = {layer.name: layer for layer in layers}
    final = by_name.get(graph.output.name) if graph.output is not None else None
    local = [layer for layer in layers if layer.local]
    widest = max(reversed(local), key=lambda layer: _area(layer.size), default=None)
    return FieldResult(tuple(layers), final, widest, tuple(dict.fromkeys(notes)), ordered, work.steps)


FIELD_PASS = Pass("receptive_field", field_pass, requires=frozenset({SHAPES}))


def _area(size: tuple[int | None, ...]) -> int:
    n = 1
    for s in size:
        n *= s or 1
    return n


def number(x: Fraction | None) -> int | float | None:
    """A field's number for JSON: an integer, or a float for a half unit or a fractional stride."""
    if x is None:
        return None
    return x.numerator if x.denominator == 1 else float(x)


def layer_dict(layer: LayerField) -> dict[str, Any]:
    return {
        "name": layer.name,
        "op": layer.op,
        "output_shape": list(layer.shape),
        "size": list(layer.size),
        "stride": [number(s) for s in layer.stride],
        "center": [number(c) for c in layer.center],
        "global": layer.is_global,
        "flat": layer.flat,
        "unknown": layer.unknown or None,
    }


def final_dict(result: FieldResult) -> dict[str, Any]:
    """The network's receptive field (its first output's) and the widest local field before it."""
    final = result.final
    out: dict[str, Any] = {"global": False, "size": None, "stride": None, "center": None}
    if final is not None:
        whole = layer_dict(final)
        out = {k: whole[k] for k in ("global", "size", "stride", "center", "unknown")}
        if final.is_global:  # no number for a field that is the whole input
            out.update(size=None, stride=None, center=None)
    widest = result.widest
    out["widest"] = None if widest is None else {k: layer_dict(widest)[k] for k in ("name", "size", "stride", "center")}
    return out


def fraction_text(x: Any) -> str:
    if isinstance(x, Fraction):
        return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"
    return f"{x:g}" if isinstance(x, float) else str(x)


def dims(values: Any) -> str:
    """(427, 427) → `427×427`; a global dim reads `global`."""
    return "×".join("global" if v is None else fraction_text(v) for v in values)


def field_cell(rf: dict[str, Any] | None) -> str:
    """Compare's cell: `427×427`, or `global (427×427)` with the widest local field before it."""
    if rf is None or rf.get("unknown"):
        return "?"
    widest = rf.get("widest")
    if rf["global"] or not rf["size"]:
        return "global" + (f" ({dims(widest['size'])})" if widest else "")
    return dims(rf["size"])


def field_words(rf: dict[str, Any] | None) -> str:
    """The network's field in words (``final_dict``)."""
    if rf is None:
        return "unknown"
    if rf.get("unknown"):
        return f"unknown: {rf['unknown']}"
    widest = rf.get("widest")
    if rf["global"]:
        text = "global: every output unit sees the whole input"
        if widest:
            text += (
                f" (widest local field {dims(widest['size'])}, stride {dims(widest['stride'])}, at `{widest['name']}`)"
            )
        return text
    if not rf["size"]:
        return "none: the output has no spatial dims" + (
            f" (widest local field {dims(widest['size'])})" if widest else ""
        )
    centre = ", ".join(fraction_text(c) for c in rf["center"])
    return f"{dims(rf['size'])}, stride {dims(rf['stride'])}, unit 0 centred at input ({centre})"

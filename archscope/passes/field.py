"""Receptive field: per layer and per spatial dim, how many input units one output unit sees
(size), how far apart neighbouring units' fields are (effective stride, or jump) and where the
field of output unit 0 is centred (in input units; input unit 0 is centred at 0).

Araujo, Norris, Sim, "Computing Receptive Fields of CNNs" (Distill 2019): along a path of
windows (k, s, p, d) the size grows by d·(k − 1)·jump, the jump by ×s and the centre by
((d·(k − 1))/2 − p)·jump. Here every op declares which input units output unit ``o`` reads
(:mod:`archscope.ops.field`) and the pass composes those maps exactly: a node keeps, for one
period of its output units, the first and last input unit each sees. The period is 1 for
integer strides (the closed form above); a transposed conv or an upsample (stride 1/s) makes
neighbouring units see differently placed fields, with period s, and the size is the largest.
On a merge (residual ``add``, inception's ``concat``, dense blocks) the field is the union of
the inputs' fields; when their strides or unit-0 centres differ, a note says so. A global op
(global pooling, group/instance norm statistics, a linear layer) makes the field ``global``:
every later unit sees the whole input, and no number is made up for it. The fields are
unclipped: units near the border see fewer real pixels (the rest is padding).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from math import lcm
from typing import Any

from ..diagnostics import Collector
from ..graph import Graph, Node
from ..ops import REGISTRY
from ..ops.field import Taps

MAX_PERIOD = 4096  # phases kept per dim; beyond this the field is reported unknown

Span = tuple[int, int] | None  # first and last input unit one output unit sees (None: none)


@dataclass(frozen=True)
class DimField:
    """One spatial dim: ``spans[φ]`` for output units ``φ + m·P`` shifted by ``m·P·jump`` (P = len(spans))."""

    jump: Fraction
    spans: tuple[Span, ...]

    def extent(self, n: int) -> Span:
        period = len(self.spans)
        base = self.spans[n % period]
        if base is None:
            return None
        shift = int((n // period) * period * self.jump)
        return base[0] + shift, base[1] + shift

    @property
    def size(self) -> int:
        return max((hi - lo + 1 for lo, hi in filter(None, self.spans)), default=0)

    @property
    def center(self) -> Fraction | None:
        first = self.spans[0]
        return None if first is None else Fraction(first[0] + first[1], 2)


@dataclass(frozen=True)
class NodeField:
    """``dims``: one per spatial dim of the output (None: global along it); ``flat``: no spatial
    dims (after flatten); ``unknown``: why there is no static answer."""

    dims: tuple[DimField | None, ...] = ()
    everywhere: bool = False  # every unit sees the whole input
    flat: bool = False
    unknown: str = ""


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

    def extent(self, name: str, axis: int, unit: int) -> tuple[int, int] | None:
        """The first and last input unit (unclipped) that unit ``unit`` of layer ``name`` sees along ``axis``."""
        index = next(i for i, layer in enumerate(self.layers) if layer.name == name)
        dim = self.fields[index].dims[axis]
        return None if dim is None else dim.extent(unit)


IDENTITY = DimField(Fraction(1), ((0, 0),))


def _input_field(node: Node) -> NodeField:
    rank = len(node.shape) - 1 if node.shape else 0
    return NodeField(dims=(IDENTITY,) * rank) if rank else NodeField(flat=True)


def _apply(dim: DimField, taps: Taps) -> DimField | str:
    base = dim.spans[0]
    if len(dim.spans) == 1 and base is not None and taps.ratio.denominator == 1 and dim.jump.denominator == 1:
        # integer strides: one phase, and the first and last source bound the field (the closed form)
        sources = taps.sources(0)
        if not sources:
            return DimField(dim.jump * taps.ratio, (None,))
        jump = dim.jump.numerator
        return DimField(dim.jump * taps.ratio, ((base[0] + sources[0] * jump, base[1] + sources[-1] * jump),))
    period = (taps.ratio / len(dim.spans)).denominator
    if period > MAX_PERIOD:
        return f"the fields repeat only every {period} units"
    spans: list[Span] = []
    for phase in range(period):
        seen = [e for e in (dim.extent(n) for n in taps.sources(phase)) if e is not None]
        spans.append((min(e[0] for e in seen), max(e[1] for e in seen)) if seen else None)
    return DimField(dim.jump * taps.ratio, tuple(spans))


def _union(node: Node, dims: list[DimField], notes: list[str], axis: int) -> DimField:
    first = dims[0]
    if all(d == first for d in dims[1:]):
        return first
    centers = {None if d.spans[0] is None else d.spans[0][0] + d.spans[0][1] for d in dims}
    if any(d.jump != first.jump for d in dims) or len(centers) > 1:
        names = ", ".join(
            f"`{src.name}` stride {_num(d.jump)} centre {_num(d.center)}" for src, d in zip(node.inputs, dims)
        )
        notes.append(f"`{node.name}`: its inputs' fields are not aligned: {names}; the union is shown")
    period = lcm(*(len(d.spans) for d in dims))
    spans: list[Span] = []
    for phase in range(period):
        seen = [e for e in (d.extent(phase) for d in dims) if e is not None]
        spans.append((min(e[0] for e in seen), max(e[1] for e in seen)) if seen else None)
    return DimField(dims[0].jump, tuple(spans))


def _same(node: Node, inputs: list[NodeField], notes: list[str]) -> NodeField:
    rank = len(node.shape) - 1 if node.shape else 0
    if len(inputs) == 1 and node.inputs[0].shape == node.shape:  # elementwise on one input: its field
        return inputs[0]
    if not rank:
        return NodeField(everywhere=any(f.everywhere for f in inputs), flat=not all(f.everywhere for f in inputs))
    dims: list[DimField | None] = []
    shapes = node.input_shapes()
    for axis in range(rank):
        here: list[DimField] = []
        for src, f, shape in zip(node.inputs, inputs, shapes):
            d = f.dims[axis] if axis < len(f.dims) else None
            if d is not None and shape is not None and shape[1 + axis] == 1 and node.shape[1 + axis] > 1:
                notes.append(f"`{node.name}` broadcasts `{src.name}` (size 1 along dim {axis}); its field is left out")
                continue
            here.append(d)  # type: ignore[arg-type]
        dims.append(None if any(d is None for d in here) or not here else _union(node, here, notes, axis))
    return NodeField(dims=tuple(dims), everywhere=all(d is None for d in dims))


def node_field(node: Node, inputs: list[NodeField], notes: list[str]) -> NodeField:
    """The field of one node from its inputs' fields and its op's declared fact."""
    rank = len(node.shape) - 1 if node.shape else 0
    lost = next((f for f in inputs if f.unknown), None)
    if lost is not None:
        return lost
    fact = REGISTRY[node.op].receptive_field(node.attrs)  # type: ignore[misc]
    if fact.kind == "unknown":
        return NodeField(unknown=f"`{node.name}`: {fact.reason}")
    if fact.kind == "global" or (inputs and all(f.everywhere for f in inputs)):
        return NodeField(dims=(None,) * rank, everywhere=True)
    if fact.kind == "flat":
        return NodeField(flat=True)
    if fact.kind == "same":
        return _same(node, inputs, notes)
    source = inputs[0]  # taps: the values' input (unpooling's switches are positions, not values)
    per_dim = fact.taps(node.attrs, node.input_shapes(), node.shape)
    dims: list[DimField | None] = []
    for axis, taps in enumerate(per_dim):
        d = source.dims[axis] if axis < len(source.dims) else None
        if d is None or taps is None:
            dims.append(None)
            continue
        composed = _apply(d, taps)
        if isinstance(composed, str):
            return NodeField(unknown=f"`{node.name}`: {composed}")
        dims.append(composed)
    return NodeField(dims=tuple(dims), everywhere=all(d is None for d in dims))


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
    fields: dict[int, NodeField] = {id(n): _input_field(n) for n in graph.inputs}
    notes: list[str] = []
    layers = []
    for node in graph.nodes:
        f = node_field(node, [fields[id(n)] for n in node.inputs], notes)
        fields[id(node)] = f
        layers.append(_layer(node, f))
    ordered = tuple(fields[id(node)] for node in graph.nodes)
    by_name = {layer.name: layer for layer in layers}
    final = by_name.get(graph.output.name) if graph.output is not None else None
    local = [layer for layer in layers if layer.local]
    widest = max(reversed(local), key=lambda layer: _area(layer.size), default=None)
    return FieldResult(tuple(layers), final, widest, tuple(dict.fromkeys(notes)), ordered)


def _area(size: tuple[int | None, ...]) -> int:
    n = 1
    for s in size:
        n *= s or 1
    return n


def _num(x: Fraction | None) -> str:
    if x is None:
        return "—"
    return str(x.numerator) if x.denominator == 1 else f"{float(x):g}" if x.denominator in (2, 4, 8) else str(x)


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

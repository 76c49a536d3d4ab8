"""The receptive-field algebra: a node's field from its inputs' fields and its op's taps, in bounded work.

A node keeps, per spatial dim, a phase table (:class:`DimField`): for one period of its output
units, the first and last input unit each sees, and the jump between periods. :func:`node_field`
composes a node's table from its inputs' (:mod:`.receptive_field` walks the graph and explains
the method).

The work is bounded whatever the strides and kernels say (a spec is untrusted input). A node
with one phase costs O(1): the closed form, whatever its kernel. A node with P phases looks, per
phase, at the units its taps read, and where those are an arithmetic run (a ``range``: every
window, transposed conv, adaptive pool) at no more than 2·P of them (:func:`_reach`), so a kernel
of a million costs what a kernel of 2·P does. The phases are capped at :data:`MAX_PERIOD` (a
merge of branches whose periods have a large least common multiple included), and the pass's
phase work as a whole at :data:`MAX_STEPS` steps (:class:`Work`). Past either cap the
field is not computed: the layer says why (``unknown``: "not computed: …"), and so does every layer
that reads it. No number is made up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from math import gcd, lcm

from archscope.graph import Node
from archscope.ops import REGISTRY
from archscope.ops.receptive_field import Taps

MAX_PERIOD = 4096  # phases kept per dim; beyond this the field is reported unknown
MAX_STEPS = 200_000  # phases built and units looked up by one pass (:class:`Work`); beyond this: unknown

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
        shift = int((n // period) * self._period_shift)
        return base[0] + shift, base[1] + shift

    @cached_property
    def _period_shift(self) -> Fraction | int:
        """``P·jump``: how far the fields move per period (an integer, as the phase tables are built)."""
        step = len(self.spans) * self.jump
        return step.numerator if step.denominator == 1 else step

    @cached_property
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


IDENTITY = DimField(Fraction(1), ((0, 0),))


class Spent(Exception):
    """The pass's phase work reached :data:`MAX_STEPS`."""


class Work:
    """The phase work of one pass, in steps: one phase built (its taps asked for, its span
    stored), one unit looked up in a phase table, one phase compared. ``spend`` raises
    :class:`Spent`, spending nothing, where ``n`` more would pass the limit (about 0.15 s of CPU at :data:`MAX_STEPS`; the bundled specs
    need at most 11,000: U-Net's bilinear upsampling)."""

    def __init__(self, limit: int = MAX_STEPS) -> None:
        self.limit = limit
        self.steps = 0

    def spend(self, n: int) -> None:
        if self.steps + n > self.limit:
            raise Spent
        self.steps += n

    def reason(self) -> str:
        return f"not computed: its phase table would take the pass past its limit of {self.limit:,} steps"


def _too_long(period: int, what: str) -> str:
    count = f"{period:,}" if period < 10**15 else "more than 10¹⁵"
    return f"not computed: {what} repeat only every {count} units (at most {MAX_PERIOD:,} phases are kept)"


def input_field(node: Node) -> NodeField:
    rank = len(node.shape) - 1 if node.shape else 0
    return NodeField(dims=(IDENTITY,) * rank) if rank else NodeField(flat=True)


def _reach(dim: DimField, sources: Sequence[int], work: Work) -> Span:
    """The first and last input unit that ``dim``'s units ``sources`` see together.

    Units one period ``P`` apart see fields ``P·jump`` > 0 apart, so along an ascending run
    ``a, a + q, …`` (a ``range``) the residues mod ``P`` repeat every ``c = P/gcd(q, P)`` units
    and each repeat lies further right: the first ``c`` units hold the least first unit and the
    last ``c`` the greatest last unit. At most 2·``P`` units are looked at, however long the run."""
    period = len(dim.spans)
    count = len(sources)
    cycle = period // gcd(sources.step, period) if count > 2 and isinstance(sources, range) and sources.step > 0 else 0
    if cycle and count > 2 * cycle:
        work.spend(2 * cycle + 1)
        firsts = [e[0] for e in map(dim.extent, sources[:cycle]) if e is not None]
        lasts = [e[1] for e in map(dim.extent, sources[-cycle:]) if e is not None]
    else:
        work.spend(count + 1)
        seen = [e for e in map(dim.extent, sources) if e is not None]
        firsts, lasts = [e[0] for e in seen], [e[1] for e in seen]
    return (min(firsts), max(lasts)) if firsts else None


def _apply(dim: DimField, taps: Taps, work: Work) -> DimField | str:
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
        return _too_long(period, "the fields")
    spans = tuple(_reach(dim, taps.sources(phase), work) for phase in range(period))
    return DimField(dim.jump * taps.ratio, spans)


def _union(node: Node, dims: list[DimField], notes: list[str], work: Work) -> DimField | str:
    first = dims[0]
    if all(d is first for d in dims[1:]):
        return first
    work.spend(sum(len(d.spans) for d in dims))
    if all(d == first for d in dims[1:]):
        return first
    period = lcm(*(len(d.spans) for d in dims))
    if period > MAX_PERIOD:
        return _too_long(period, "its inputs' fields together")
    centers = {None if d.spans[0] is None else d.spans[0][0] + d.spans[0][1] for d in dims}
    if any(d.jump != first.jump for d in dims) or len(centers) > 1:
        names = ", ".join(
            f"`{src.name}` stride {_num(d.jump)} centre {_num(d.center)}" for src, d in zip(node.inputs, dims)
        )
        notes.append(f"`{node.name}`: its inputs' fields are not aligned: {names}; the union is shown")
    spans: list[Span] = []
    for phase in range(period):
        work.spend(len(dims) + 1)
        seen = [e for e in (d.extent(phase) for d in dims) if e is not None]
        spans.append((min(e[0] for e in seen), max(e[1] for e in seen)) if seen else None)
    return DimField(dims[0].jump, tuple(spans))


def _same(node: Node, inputs: list[NodeField], notes: list[str], work: Work) -> NodeField:
    out_shape = node.shape or ()
    rank = len(out_shape) - 1 if out_shape else 0
    if len(inputs) == 1 and node.inputs[0].shape == node.shape:  # elementwise on one input: its field
        return inputs[0]
    if not rank:
        return NodeField(everywhere=any(f.everywhere for f in inputs), flat=not all(f.everywhere for f in inputs))
    dims: list[DimField | None] = []
    shapes = node.input_shapes()
    for axis in range(rank):
        here: list[DimField | None] = []
        for src, f, shape in zip(node.inputs, inputs, shapes):
            d = f.dims[axis] if axis < len(f.dims) else None
            if d is not None and shape is not None and shape[1 + axis] == 1 and out_shape[1 + axis] > 1:
                notes.append(f"`{node.name}` broadcasts `{src.name}` (size 1 along dim {axis}); its field is left out")
                continue
            here.append(d)
        local = [d for d in here if d is not None]
        if len(local) < len(here) or not here:
            dims.append(None)
            continue
        united = _union(node, local, notes, work)
        if isinstance(united, str):
            return NodeField(unknown=f"`{node.name}`: {united}")
        dims.append(united)
    return NodeField(dims=tuple(dims), everywhere=all(d is None for d in dims))


def node_field(node: Node, inputs: list[NodeField], notes: list[str], work: Work | None = None) -> NodeField:
    """The field of one node from its inputs' fields and its op's declared fact; past the pass's
    ``work`` limit, unknown (not computed)."""
    work = work if work is not None else Work()
    try:
        return _node_field(node, inputs, notes, work)
    except Spent:
        return NodeField(unknown=f"`{node.name}`: {work.reason()}")


def _node_field(node: Node, inputs: list[NodeField], notes: list[str], work: Work) -> NodeField:
    rank = len(node.shape) - 1 if node.shape else 0
    lost = next((f for f in inputs if f.unknown), None)
    if lost is not None:
        return lost
    rule = REGISTRY[node.op].receptive_field
    assert rule is not None  # every op declares one (tests/ops/test_op_facts.py)
    fact = rule(node.attrs)
    if fact.kind == "unknown":
        return NodeField(unknown=f"`{node.name}`: {fact.reason}")
    if fact.kind == "global" or (inputs and all(f.everywhere for f in inputs)):
        return NodeField(dims=(None,) * rank, everywhere=True)
    if fact.kind == "flat":
        return NodeField(flat=True)
    if fact.kind == "same":
        return _same(node, inputs, notes, work)
    if fact.kind == "permuted":  # a view of reordered spatial dims: each keeps its input dim's field
        source, axes = inputs[0], fact.axes(rank)
        return NodeField(dims=tuple(source.dims[i] if i < len(source.dims) else None for i in axes))
    source = inputs[0]  # taps: the values' input (unpooling's switches are positions, not values)
    per_dim = fact.taps(node.attrs, node.input_shapes(), node.shape)
    dims: list[DimField | None] = []
    for axis, taps in enumerate(per_dim):
        d = source.dims[axis] if axis < len(source.dims) else None
        if d is None or taps is None:
            dims.append(None)
            continue
        composed = _apply(d, taps, work)
        if isinstance(composed, str):
            return NodeField(unknown=f"`{node.name}`: {composed}")
        dims.append(composed)
    return NodeField(dims=tuple(dims), everywhere=all(d is None for d in dims))


def _num(x: Fraction | None) -> str:
    if x is None:
        return "—"
    return str(x.numerator) if x.denominator == 1 else f"{float(x):g}" if x.denominator in (2, 4, 8) else str(x)

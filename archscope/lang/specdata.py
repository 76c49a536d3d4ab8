"""The data of a parsed spec: :class:`NetworkSpec` and its parts, located (every value keeps its
YAML node or span until the elaborator evaluates it). :mod:`archscope.lang.spec` builds them."""

from __future__ import annotations

from dataclasses import dataclass, field

from archscope.diagnostics import Span
from archscope.lang.ynodes import YNode


@dataclass
class LayerEntry:
    op: str
    op_span: Span
    span: Span
    name: str | None = None
    name_span: Span | None = None
    inputs: list[tuple[str, Span]] | None = None
    repeat: YNode | None = None
    cond: YNode | None = None
    otherwise: tuple[str, Span] | None = None  # `else:`: what stands in for the layer when its `if:` is false
    args: dict[str, tuple[Span, YNode]] = field(default_factory=dict)
    ignore: tuple[str, ...] = ()  # warning codes not reported for this layer (or anywhere in this block instance)


@dataclass
class BlockDef:
    name: str
    span: Span
    args: dict[str, tuple[Span, YNode]]
    layers: list[LayerEntry]
    output: tuple[str, Span] | None
    doc: str = ""
    inputs: tuple[str, ...] = ()  # `inputs: [x, skip]`: the names of its inputs; none: one input, `input`


@dataclass(frozen=True)
class Expectation:
    """One ``expect:`` entry: the value as written (plain data, not yet checked) and where."""

    key: str
    value: object
    span: Span


@dataclass(frozen=True)
class LayerPattern:
    """One ``freeze:``/``unfreeze:`` glob over qualified layer names; ``span`` None: an override."""

    text: str
    span: Span | None = None


@dataclass
class NetworkSpec:
    name: str
    file: str
    span: Span
    meta: dict[str, object]
    input: YNode | None
    params: dict[str, tuple[Span, YNode]]
    scale: dict[str, tuple[Span, YNode]]
    blocks: dict[str, BlockDef]
    layers: list[LayerEntry]
    output: tuple[str, Span] | None
    expect: dict[str, Expectation]
    layers_span: Span | None = None
    params_span: Span | None = None  # the `params:` key, where an override of an unknown name is reported
    inputs: dict[str, YNode] | None = None  # `inputs:` (several named inputs), in declared order
    outputs: list[tuple[str, Span]] | None = None  # `outputs:` (several outputs), in declared order
    freeze: tuple[LayerPattern, ...] = ()
    unfreeze: tuple[LayerPattern, ...] = ()
    extends_span: Span | None = None  # the child's `extends:` value, where what it inherits is reported

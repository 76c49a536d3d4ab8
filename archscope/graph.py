"""The graph IR: nodes in topological order, each with its resolved attributes, inputs,
source span, block path, and (after the passes) its static shape and cost."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from archscope.diagnostics import Span
from archscope.ops.registry import Cost, Shape

if TYPE_CHECKING:
    from archscope.lang.specdata import Expectation

SHAPES = "shapes"  # what the elaborator provides: every node's shape, where it can be inferred


@dataclass(eq=False)
class Node:
    name: str  # qualified: `layer1.0.conv1`
    op: str  # op name; `input` for the network input
    attrs: dict[str, Any]
    inputs: list[Node]
    span: Span
    path: tuple[str, ...] = ()  # enclosing block instances, outermost first
    blocks: tuple[str, ...] = ()  # their block types
    shape: Shape | None = None
    cost: Cost | None = None
    users: int = 0
    ignore: frozenset[str] = frozenset()  # warning codes not reported for it (`ignore:` of it or its block instances)
    notes: tuple[str, ...] = ()  # where the node comes from (`in `b_1` (block `b` used at …)`), for diagnostics
    # which output of its source each input takes (0: the main one; k: the op's extra output k - 1);
    # empty: every input takes its source's main output
    ports: tuple[int, ...] = ()
    extra_shapes: tuple[Shape, ...] = ()  # the shapes of the op's extra outputs, in declared order
    trainable: bool = True  # its parameters train (False: frozen): the one record, set by elaborate/freeze.py

    def port(self, i: int) -> int:
        """Which output of its source input ``i`` takes."""
        return self.ports[i] if self.ports else 0

    def known_shape(self) -> Shape:
        """The output's shape, in a graph without errors (where every shape is known)."""
        if self.shape is None:
            raise ValueError(f"`{self.name}` has no shape: the spec has errors")
        return self.shape

    def port_shape(self, port: int) -> Shape | None:
        """The shape of output ``port`` (0: the main output)."""
        if port == 0 or self.shape is None:
            return self.shape
        return self.extra_shapes[port - 1] if port <= len(self.extra_shapes) else None

    def input_shapes(self) -> list[Shape | None]:
        """The shape of each input, as this node takes it (the right output of its source)."""
        if not self.ports:
            return [n.shape for n in self.inputs]
        return [n.port_shape(p) for n, p in zip(self.inputs, self.ports, strict=True)]

    def known_input_shapes(self) -> list[Shape]:
        """The shape of each input, for a node that has a shape (shape inference gives one only
        to a node whose inputs all have theirs)."""
        shapes = self.input_shapes()
        known = [shape for shape in shapes if shape is not None]
        if len(known) != len(shapes):
            raise ValueError(f"an input of `{self.name}` has no shape: the spec has errors")
        return known

    @property
    def trainable_params(self) -> int:
        """The parameters that train: all of them, or none when the layer is frozen (buffers never train)."""
        return self.cost.params if self.cost is not None and self.trainable else 0

    def __repr__(self) -> str:
        return f"Node({self.name!r}, {self.op!r}, shape={self.shape})"


class Output(NamedTuple):
    """One output of a node: ``port`` 0 is its main output, ``k`` its op's extra output ``k - 1``."""

    node: Node
    port: int = 0

    @property
    def shape(self) -> Shape | None:
        return self.node.port_shape(self.port)


@dataclass
class Graph:
    name: str
    file: str
    meta: dict[str, Any]
    input: Node  # the first input
    nodes: list[Node]  # topological order, the inputs excluded
    output: Node | None  # the first output
    expect: dict[str, Expectation] = field(default_factory=dict)
    scale: dict[str, Any] = field(default_factory=dict)
    # the multipliers the spec applies: `width` when it calls `ch()`, `depth` when it calls `rep()`
    # (an override of any other changes nothing: W104)
    scaled: frozenset[str] = frozenset()
    complete: bool = False  # elaboration reported no error: every layer of the spec is a node here
    inputs: list[Node] = field(default_factory=list)  # every input (op `input`), in declared order
    outputs: list[Node | None] = field(default_factory=list)  # every output, in declared order
    output_names: list[str] = field(default_factory=list)  # as `outputs:` names them (else the layer's name)
    # the facts known of its nodes: `shapes`, then the name of each pass run on it (archscope.passes.manager)
    provided: set[str] = field(default_factory=lambda: {SHAPES})

    def __post_init__(self) -> None:
        if not self.inputs:
            self.inputs = [self.input]
        if not self.outputs:
            self.outputs = [self.output]
        if not self.output_names:
            self.output_names = [out.name if out is not None else "" for out in self.outputs]

"""The graph IR: nodes in topological order, each with its resolved attributes, inputs,
source span, block path, and (after the passes) its static shape and cost."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .diagnostics import Span
from .ops.registry import Cost, Shape

if TYPE_CHECKING:
    from .spec import Expectation


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

    def __repr__(self) -> str:
        return f"Node({self.name!r}, {self.op!r}, shape={self.shape})"


@dataclass
class Graph:
    name: str
    file: str
    meta: dict[str, Any]
    input: Node
    nodes: list[Node]  # topological order, the input excluded
    output: Node | None
    expect: dict[str, Expectation] = field(default_factory=dict)
    scale: dict[str, Any] = field(default_factory=dict)
    complete: bool = False  # elaboration reported no error: every layer of the spec is a node here

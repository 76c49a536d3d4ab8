"""The picture of a network as data: boxes (a layer, a block, or N repeated blocks) and arrows.

`archscope draw` and the HTML report draw this model; :mod:`archscope.render.diagram` writes it as
Mermaid or Graphviz text. Nothing here imports a drawing library.

Which boxes (the *level*):

* default: one box per use of a block, and the N instances of a repeated block (``n: 3``, named
  ``layer1.0``…``layer1.2``) collapse into one box ``bottleneck ×3`` (their params and MACs summed,
  the output shape of the last): ResNet-50 draws as its stem, four stages and its head. Layers
  outside blocks are one box each.
* ``depth=N``: the groups of ``summary --depth N`` (N components of the dotted name); consecutive
  groups that are identical instances of one repeated block (same ops, shapes, params and MACs)
  collapse into one box ``×N``.
* ``expand``: nothing collapses; without ``depth`` every layer is a box, inside a frame per block.

Size: :func:`layout_size` counts what Graphviz's ``dot`` must place, and :data:`MAX_NODES` bounds
what archscope hands it (SVG, PNG, the report); the text formats have no bound (they are linear).

Arrows: one per pair of boxes that a tensor passes between. An arrow into a layer that merges
inputs (its op's ``merge`` fact: a residual sum, a concat, a scale) from any box but the nearest
one before it is a *skip* (a residual shortcut, a concat from an earlier stage): the picture dashes
it and labels it with the merge. Every input and every output of the network is a box.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archscope.graph import Graph, Node
from archscope.ops import REGISTRY
from archscope.ops.registry import Shape

# The most nodes (boxes, and the ranks long arrows cross: see layout_size) that archscope gives `dot`.
# dot's time grows much faster than that count: a flat spec whose joins reach far back measured
# 2,512 nodes (100 boxes) in 0.5 s of CPU, 5,379 (150 boxes) in 4.2 s, 200 boxes over 30 s; 300
# such layers took 68-77 s and 1,000 never finished. Every bundled spec's default diagram is under
# 200 nodes; `--expand` of densenet201 is 2,691 (0.7 s).
MAX_NODES = 3_000


@dataclass(frozen=True)
class Box:
    id: str  # `n0`, `n1`…: stable, in drawing order
    name: str  # the layer or group name (`layer1`, `layer1.1–2`), or the input's/output's name
    kind: str  # `input`, `output`, `layer` (one layer) or `block` (a group of layers)
    op: str  # the layer's op, or the block's type (`bottleneck`); `` for inputs and outputs
    shape: Shape
    params: int = 0
    macs: int = 0
    count: int = 1  # N of a collapsed `×N`
    layers: int = 1  # how many layers it stands for
    frame: str = ""  # the block instance it is drawn inside (expanded views), else ""

    @property
    def what(self) -> str:
        """`conv2d`, `bottleneck ×3`."""
        return f"{self.op} ×{self.count}" if self.count > 1 else self.op


@dataclass(frozen=True)
class Arrow:
    src: str
    dst: str
    merge: str = ""  # how the destination combines it (`residual`, `concat`, `scale`): set on skips
    skip: bool = False  # into a merge, from a box other than the nearest one before it


@dataclass(frozen=True)
class Diagram:
    name: str
    title: str
    boxes: tuple[Box, ...]
    arrows: tuple[Arrow, ...]
    frames: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # (instance, label)

    def box(self, box_id: str) -> Box:
        return next(b for b in self.boxes if b.id == box_id)


def _key(node: Node, depth: int | None, expand: bool) -> str:
    if depth:
        return ".".join(node.name.split(".")[:depth])
    if expand or not node.path:
        return node.name
    return node.path[0]


def _repeat_parent(key: str) -> str | None:
    """`layer1` for `layer1.2` (an instance of a repeated entry), else None."""
    parent, _, index = key.rpartition(".")
    return parent if parent and index.isdigit() else None


def _block_type(key: str, nodes: list[Node]) -> str:
    """The block the group is an instance of (or the repeated entry whose instances it holds)."""
    first = nodes[0]
    if len(nodes) == 1 and first.name == key:
        return first.op
    for instance, block in zip(first.path, first.blocks):
        if instance == key or _repeat_parent(instance) == key:
            return block
    return "group"


def _signature(key: str, nodes: list[Node]) -> tuple:
    """What makes two instances identical: each layer's relative name, op, shapes, params and MACs."""
    cut = len(key) + 1
    return tuple(
        (
            n.name[cut:],
            n.op,
            n.shape,
            tuple(i.shape for i in n.inputs),
            n.cost.params if n.cost else 0,
            n.cost.macs if n.cost else 0,
        )
        for n in nodes
    )


def _units(graph: Graph, depth: int | None, expand: bool) -> list[tuple[str, list[Node]]]:
    """Consecutive runs of layers with one key (a key met again later starts a new unit)."""
    units: list[tuple[str, list[Node]]] = []
    for node in graph.nodes:
        key = _key(node, depth, expand)
        if not units or units[-1][0] != key:
            units.append((key, []))
        units[-1][1].append(node)
    return units


def _collapse(units: list[tuple[str, list[Node]]], depth: int | None) -> list[tuple[list[str], list[list[Node]]]]:
    """Runs of chained instances of one repeated block, each run one entry (their keys, their layers)."""
    out: list[tuple[list[str], list[list[Node]]]] = []
    last_match = None
    for key, nodes in units:
        parent = _repeat_parent(key)
        match: tuple[Any, ...] | None
        if parent is None:
            match = None
        elif depth:  # identical instances only
            match = (parent, _block_type(key, nodes), _signature(key, nodes))
        else:  # every instance of the repeated entry
            match = (parent, _block_type(key, nodes))
        if match is not None and match == last_match:
            # chained: the instance reads only itself and the instance before it
            inside = {id(n) for n in nodes} | {id(n) for n in out[-1][1][-1]}
            if all(id(i) in inside for n in nodes for i in n.inputs):
                out[-1][0].append(key)
                out[-1][1].append(nodes)
                continue
        out.append(([key], [nodes]))
        last_match = match
    return out


def _name(keys: list[str], depth: int | None) -> str:
    """`layer1` for all of `layer1.0`…`layer1.2`; `layer1.1–2` for some of them."""
    if len(keys) == 1:
        return keys[0]
    parent = _repeat_parent(keys[0])
    first, last = keys[0].rpartition(".")[2], keys[-1].rpartition(".")[2]
    if not depth and first == "0":
        return str(parent)
    return f"{parent}.{first}–{last}"


def build_diagram(graph: Graph, depth: int | None = None, expand: bool = False) -> Diagram:
    """The boxes and arrows of a fully shaped and costed ``graph`` (see the module docstring)."""
    units = _units(graph, depth, expand)
    entries = [([key], [nodes]) for key, nodes in units] if expand else _collapse(units, depth)
    boxes: list[Box] = []
    where: dict[int, str] = {}  # id(node) → box id
    for node in graph.inputs:
        box_id = f"n{len(boxes)}"
        boxes.append(Box(box_id, node.name, "input", "", node.shape or ()))
        where[id(node)] = box_id
    frames: dict[str, str] = {}
    for keys, instances in entries:
        key = keys[0]
        box_id = f"n{len(boxes)}"
        layers = [n for nodes in instances for n in nodes]
        first, last = layers[0], layers[-1]
        single = len(layers) == 1 and first.name == key
        frame = ""
        if expand and first.path and key != first.path[0] and key.startswith(first.path[0] + "."):
            frame = first.path[0]
            frames.setdefault(frame, f"{frame} · {first.blocks[0]}")
        boxes.append(
            Box(
                box_id,
                _name(keys, depth),
                "layer" if single else "block",
                first.op if single else _block_type(key, instances[0]),
                last.shape or (),
                sum(n.cost.params for n in layers if n.cost),
                sum(n.cost.macs for n in layers if n.cost),
                len(instances),
                len(layers),
                frame,
            )
        )
        for n in layers:
            where[id(n)] = box_id
    order = {b.id: i for i, b in enumerate(boxes)}
    arrows: dict[tuple[str, str], Arrow] = {}
    for node in graph.nodes:
        dst = where[id(node)]
        merge = REGISTRY[node.op].merge if node.op in REGISTRY else ""
        sources = [where.get(id(source)) for source in node.inputs]
        nearest = max((order[s] for s in sources if s is not None and s != dst), default=-1)
        for src in sources:
            if src is None or src == dst:
                continue
            skip = bool(merge) and order[src] != nearest
            arrow = Arrow(src, dst, merge if skip else "", skip)
            if (src, dst) not in arrows or skip:
                arrows[(src, dst)] = arrow
    for name, result in zip(graph.output_names, graph.outputs, strict=True):
        if result is None or id(result) not in where:
            continue
        box_id = f"n{len(boxes)}"
        boxes.append(Box(box_id, name, "output", "", result.shape or ()))
        arrows[(where[id(result)], box_id)] = Arrow(where[id(result)], box_id)
    return Diagram(
        graph.name,
        str(graph.meta.get("title") or graph.name),
        tuple(boxes),
        tuple(arrows.values()),
        tuple(frames.items()),
    )


def layout_size(diagram: Diagram) -> int:
    """The nodes ``dot`` places for ``diagram``: each box, plus a node for each rank an arrow crosses
    beyond the next (dot breaks a long arrow into a chain of virtual nodes), ranks doubled when arrows
    carry labels (dot then puts the labels on ranks of their own). A box's rank is the longest chain
    of arrows from an input, as dot ranks it. dot's time grows with this count, not with the boxes
    alone: a long skip costs as many nodes as the ranks it spans."""
    sources: dict[str, list[str]] = {}
    for arrow in diagram.arrows:
        sources.setdefault(arrow.dst, []).append(arrow.src)
    rank: dict[str, int] = {}
    for box in diagram.boxes:  # in drawing order, which follows the graph's
        rank[box.id] = max((rank[s] + 1 for s in sources.get(box.id, ()) if s in rank), default=0)
    per_rank = 2 if any(a.merge for a in diagram.arrows) else 1
    return len(diagram.boxes) + sum(max(0, per_rank * (rank[a.dst] - rank.get(a.src, 0)) - 1) for a in diagram.arrows)

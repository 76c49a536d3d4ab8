"""Shapes: a node's output shape from its op's shape rule, with the op's shape warnings.

This runs on each node the moment the elaborator makes it, not over the finished graph: a
block is expanded with its input's channel count in scope (``in_channels``), so shapes must be
known while the graph is being built. A rule that fails is reported with the layer name, its
span and the input shapes; the node's shape stays unknown, and so do the shapes that depend on
it, without further errors.
"""

from __future__ import annotations

from archscope.diagnostics import Collector, ShapeError
from archscope.graph import Node
from archscope.ops.registry import OpDef, Source, fmt_shapes


def infer_shape(node: Node, op: OpDef, diags: Collector) -> None:
    """Set ``node.shape`` (and ``node.extra_shapes``); every input of ``node`` must have a shape."""
    shapes = node.known_input_shapes()
    try:
        if op.check_inputs is not None:
            op.check_inputs(node.attrs, [Source(n.op, n.attrs, tuple(n.known_input_shapes())) for n in node.inputs])
        node.shape = tuple(op.shape(node.attrs, shapes))
        extras = op.extra_outputs(node.attrs)
        if extras:  # each extra output has its own shape rule, or the main output's shape
            node.extra_shapes = tuple(
                tuple(e.shape(node.attrs, shapes)) if e.shape is not None else node.known_shape() for e in extras
            )
        warnings = op.warnings(node.attrs, shapes)
    except ShapeError as exc:
        node.shape = None
        report_rule_error(node, exc, diags)
        return
    for w in warnings:
        if w.code in node.ignore:  # `ignore: [W101]` on the layer or an enclosing block instance
            continue
        diags.warning(
            w.code,
            f"`{node.name}` ({op.name}): {w.message}",
            node.span,
            layer=node.name,
            input_shape=input_shapes(node),
            notes=node.notes,
        )


def input_shapes(node: Node) -> str:
    return fmt_shapes(node.input_shapes())


def report_rule_error(node: Node, exc: ShapeError, diags: Collector) -> None:
    """An op rule's error, with what the rule cannot know: the layer, its span and its inputs."""
    diags.error(
        exc.code,
        f"`{node.name}` ({node.op}): {exc.message}",
        node.span,
        layer=node.name,
        expected=exc.expected,
        found=exc.found,
        input_shape=input_shapes(node),
        notes=node.notes,
    )

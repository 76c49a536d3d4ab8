"""Elaboration: a located :class:`NetworkSpec` and its :class:`Overrides` → a :class:`Graph`.

The network-wide values come first (:mod:`.values`: ``scale:``, ``params:``, the input shape,
each read from the overrides where one is given); then each scope is named and ordered
(:mod:`.scopes`) and its entries built into nodes (:mod:`.builder`). Shapes are inferred as
nodes are made, because blocks see their input's channel count; costs and the ``expect:``
check are passes over the finished graph (:mod:`archscope.passes`).
"""

from __future__ import annotations

from ..diagnostics import Collector, Diagnostic
from ..graph import Graph, Node
from ..overrides import Overrides
from ..spec import NetworkSpec
from .builder import Builder, Scope, TooBig
from .values import Values, network_values

__all__ = ["dedupe", "elaborate"]


def elaborate(spec: NetworkSpec, overrides: Overrides, diags: Collector) -> Graph | None:
    """The graph of ``spec`` (None when a safety limit stopped elaboration); problems go to ``diags``."""
    first = len(diags.items)
    try:
        graph = _elaborate(spec, overrides, diags)
    except TooBig:
        return None
    except RecursionError:
        diags.error("E011", "blocks are nested too deeply", spec.span)
        return None
    graph.complete = not any(d.is_error for d in diags.items[first:])
    return graph


def _elaborate(spec: NetworkSpec, overrides: Overrides, diags: Collector) -> Graph:
    values = Values(diags)
    network = network_values(spec, overrides, values)
    span = spec.input.span if spec.input is not None else spec.span
    root = Node("input", "input", {}, [], span, shape=network.input_shape)
    builder = Builder(spec, values, network.env, diags)
    out = builder.scope(spec.layers, network.env, Scope("", root, output=spec.output))
    if out is not None:
        out.users += 1
    if not builder.dangling:  # a reference to no layer may have meant any unused one: say nothing then
        _unused_outputs(builder.nodes, out, diags)
    return Graph(
        spec.name,
        spec.file,
        spec.meta,
        root,
        builder.nodes,
        out,
        spec.expect,
        {"width": network.scale.width, "depth": network.scale.depth},
    )


def _unused_outputs(nodes: list[Node], out: Node | None, diags: Collector) -> None:
    for node in nodes:
        if node.users == 0 and node is not out and node.shape is not None and "W102" not in node.ignore:
            # (a failed layer says enough)
            diags.warning("W102", f"the output of `{node.name}` is never used", node.span, layer=node.name)


def dedupe(diags: list[Diagnostic]) -> list[Diagnostic]:
    """Errors in a block definition repeat once per instance: keep the first of each."""
    seen: dict[tuple, int] = {}
    out: list[Diagnostic] = []
    for d in diags:
        message = d.message.replace(f"`{d.layer}`", "") if d.layer else d.message
        key = (d.code, d.span, message, d.expected, d.found, d.input_shape)
        if key in seen:
            continue
        seen[key] = len(out)
        out.append(d)
    return out

"""Elaboration: a located :class:`NetworkSpec` and its :class:`Overrides` → a :class:`Graph`.

The network-wide values come first (:mod:`.values`: ``scale:``, ``params:``, the input shape,
each read from the overrides where one is given); then each scope is named and ordered
(:mod:`.scopes`) and its entries built into nodes (:mod:`.builder`). Shapes are inferred as
nodes are made, because blocks see their input's channel count; costs and the ``expect:``
check are passes over the finished graph (:mod:`archscope.passes`).
"""

from __future__ import annotations

from typing import Any

from archscope.diagnostics import Collector, Diagnostic, Span
from archscope.elaborate.builder import Builder
from archscope.elaborate.freeze import freeze_layers
from archscope.elaborate.references import Scope
from archscope.elaborate.values import TooBig, Values, network_values
from archscope.graph import Graph, Node, Output
from archscope.lang.specdata import LayerPattern, NetworkSpec
from archscope.overrides import Overrides

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
    freeze = spec.freeze + tuple(LayerPattern(p) for p in overrides.freeze)
    freeze_layers(graph, freeze, spec.unfreeze + tuple(LayerPattern(p) for p in overrides.unfreeze), diags)
    return graph


def _elaborate(spec: NetworkSpec, overrides: Overrides, diags: Collector) -> Graph:
    values = Values(diags)
    network = network_values(spec, overrides, values)
    if spec.inputs is None:
        spans = [spec.input.span if spec.input is not None else spec.span]
    else:
        spans = [node.span for node in spec.inputs.values()]
    roots = [
        Node(name, "input", {}, [], span, shape=shape)
        for (name, shape), span in zip(network.input_shapes.items(), spans, strict=True)
    ]
    builder = Builder(spec, values, network.env, diags)
    named = tuple((root.name, Output(root)) for root in roots) if spec.inputs is not None else ()
    at = Scope("", Output(roots[0]), output=spec.output, inputs=named)
    if spec.outputs is None:
        found = [builder.scope(spec.layers, network.env, at)]
    else:
        found = builder.scope_outputs(spec.layers, network.env, at, spec.outputs)
    refs: list[tuple[str, Span] | None] = list(spec.outputs) if spec.outputs else [None]
    outs = [_main_output(out, ref, diags) for out, ref in zip(found, refs, strict=True)]
    for out in outs:
        if out is not None:
            out.users += 1
    _unused_scale(spec, overrides, network.used, diags)
    if not builder.dangling:  # a reference to no layer may have meant any unused one: say nothing then
        _unused_outputs(builder.nodes, outs, diags)
    return Graph(
        spec.name,
        spec.file,
        spec.meta,
        roots[0],
        builder.nodes,
        outs[0],
        spec.expect,
        {"width": network.scale.width, "depth": network.scale.depth},
        inputs=roots,
        outputs=outs,
        output_names=[ref[0] for ref in spec.outputs] if spec.outputs else [],
        scaled=frozenset(key for key, fn in SCALE_FUNCTIONS if fn in network.used),
    )


SCALE_FUNCTIONS = (("width", "ch"), ("depth", "rep"))  # a multiplier and the function that applies it


def _unused_scale(spec: NetworkSpec, overrides: Overrides, used: set[str], diags: Collector) -> None:
    """W104: a ``width``/``depth`` override on a spec that never calls ``ch()``/``rep()`` changes nothing."""
    for key, fn in SCALE_FUNCTIONS:
        if getattr(overrides, key) is not None and fn not in used:
            diags.warning(
                "W104",
                f"the override `{key}` changes nothing: the spec never calls `{fn}()`",
                spec.span,
                expected=f"channels written `{fn}(64)`" if fn == "ch" else "repeats written `n: rep(3)`",
                found=f"no `{fn}()` in the spec",
            )


def _main_output(out: Output | None, ref: tuple[str, Span] | None, diags: Collector) -> Node | None:
    """A network output is a layer's main output (one of its extra outputs cannot be one yet)."""
    if out is None or out.port == 0:
        return out.node if out is not None else None
    span = ref[1] if ref is not None else out.node.span
    diags.error(
        "E008",
        f"`{out.node.name}.{out.port}` is an extra output: a network output must be a layer's main output",
        span,
        expected=f"`{out.node.name}`, or a layer that takes `{out.node.name}.{out.port}`",
        found=f"{out.node.name}.{out.port}",
    )
    return None


def _unused_outputs(nodes: list[Node], outs: list[Node | None], diags: Collector) -> None:
    declared = {id(out) for out in outs if out is not None}
    for node in nodes:
        if node.users == 0 and id(node) not in declared and node.shape is not None and "W102" not in node.ignore:
            # (a failed layer says enough)
            diags.warning("W102", f"the output of `{node.name}` is never used", node.span, layer=node.name)


def dedupe(diags: list[Diagnostic]) -> list[Diagnostic]:
    """Errors in a block definition repeat once per instance: keep the first of each."""
    seen: dict[tuple[Any, ...], int] = {}
    out: list[Diagnostic] = []
    for d in diags:
        message = d.message.replace(f"`{d.layer}`", "") if d.layer else d.message
        key = (d.code, d.span, message, d.expected, d.found, d.input_shape)
        if key in seen:
            continue
        seen[key] = len(out)
        out.append(d)
    return out

"""Edits of an inherited ``layers:`` list: a child spec changes its parent's layers by name.

``replace: {fc: {op: linear, out: 10}}``, ``insert_before: {fc: [layers…]}``,
``insert_after: {relu: [layers…]}`` and ``remove: [names…]`` name layers of the parent's
top-level ``layers:`` (an explicit ``name:``, or ``op_k`` as the elaborator names unnamed ones).
Every edit names a layer *of the parent*, so their order in the file does not matter; the result
is, for each parent layer in order: what ``insert_before`` puts there, the layer itself (or its
``replace``-ment, or nothing if removed), then what ``insert_after`` puts there. A replacement
keeps the replaced layer's name unless it gives its own. Edits reach only the top-level list: a
dotted name (``layer1.conv1``) is an error; to change a block, redefine it under ``blocks:`` (the
child's block of a name replaces the parent's).
"""

from __future__ import annotations

from archscope.diagnostics import Collector, Span
from archscope.lang.ynodes import YMap, YNode, YScalar, YSeq
from archscope.names import Names

EDIT_KEYS = ("replace", "insert_before", "insert_after", "remove")


def parent_layer_names(layers: YSeq) -> list[str | None]:
    """The name the elaborator gives each entry: its own ``name:``, or ``op_k`` (k-th unnamed ``op``)."""
    explicit = {n for n in (_explicit(item) for item in layers.items) if n}
    counters: dict[str, int] = {}
    names: list[str | None] = []
    for item in layers.items:
        name = _explicit(item)
        if name is not None:
            names.append(name)
            continue
        op = item.value if isinstance(item, YScalar) else item.get("op") if isinstance(item, YMap) else None
        op = op.value if isinstance(op, YScalar) else op
        if not isinstance(op, str):
            names.append(None)
            continue
        k = counters.get(op, 0)
        while f"{op}_{k + 1}" in explicit:
            k += 1
        counters[op] = k + 1
        names.append(f"{op}_{k + 1}")
    return names


def _explicit(item: YNode) -> str | None:
    node = item.get("name") if isinstance(item, YMap) else None
    return node.value if isinstance(node, YScalar) and isinstance(node.value, str) else None


def apply_edits(layers: YSeq, edits: YMap, diags: Collector) -> YSeq:
    """``layers`` with the edits of ``edits`` (a child's top-level map) applied; bad edits are reported and skipped."""
    names = parent_layer_names(layers)
    known = Names(n for n in names if n)  # a set for `in`, and the "did you mean" index, made once
    before = _placed(edits.get("insert_before"), "insert_before", known, diags)
    after = _placed(edits.get("insert_after"), "insert_after", known, diags)
    replaced = {
        name: _renamed(node, name, span)
        for name, (span, node) in _named(edits.get("replace"), "replace", known, diags).items()
    }
    removed = _removed(edits.get("remove"), known, diags)
    for gone, span in removed.items():
        if gone in replaced:
            diags.error(
                "E013",
                f"layer `{gone}` is both removed and replaced",
                span,
                expected="one edit per layer",
                found="`remove` and `replace`",
            )
    out: list[YNode] = []
    for name, item in zip(names, layers.items):
        if name is None:  # an entry without a name (nor an op): no edit can name it
            out.append(item)
            continue
        out.extend(before.get(name, ()))
        if name not in removed:
            out.append(replaced.get(name, item))
        out.extend(after.get(name, ()))
    return YSeq(out, layers.span)


def _named(node: YNode | None, key: str, known: Names, diags: Collector) -> dict[str, tuple[Span, YNode]]:
    """The entries of ``key: {name: …}`` whose name is a layer of the parent."""
    if node is None:
        return {}
    if not isinstance(node, YMap):
        diags.error("E004", f"`{key}` must map layer names to layers", node.span, expected="a mapping", found=node.kind)
        return {}
    return {name: entry for name, entry in node.items.items() if _found(name, entry[0], key, known, diags)}


def _placed(node: YNode | None, key: str, known: Names, diags: Collector) -> dict[str, list[YNode]]:
    """``insert_before``/``insert_after``: a layer name → the layers to put there (one, or a list)."""
    return {
        name: list(value.items) if isinstance(value, YSeq) else [value]
        for name, (_, value) in _named(node, key, known, diags).items()
    }


def _removed(node: YNode | None, known: Names, diags: Collector) -> dict[str, Span]:
    if node is None:
        return {}
    items = node.items if isinstance(node, YSeq) else [node]
    out = {}
    for item in items:
        if not (isinstance(item, YScalar) and isinstance(item.value, str)):
            diags.error("E004", "`remove` lists layer names", item.span, expected="a layer name", found=item.kind)
        elif _found(item.value, item.span, "remove", known, diags):
            out[item.value] = item.span
    return out


def _found(name: str, span: Span, key: str, known: Names, diags: Collector) -> bool:
    if name in known:
        return True
    if "." in name:
        block_hint = "; edits reach only the top-level `layers:` (redefine the block under `blocks:` to change it)"
        diags.error("E008", f"`{key}: {name}` names no top-level layer of the parent{block_hint}", span, found=name)
        return False
    hint = known.near(name)
    diags.error(
        "E008",
        f"`{key}: {name}` names no layer of the parent" + (f"; did you mean `{hint}`?" if hint else ""),
        span,
        expected="a name in the parent's `layers:`",
        found=name,
    )
    return False


def _renamed(node: YNode, name: str, span: Span) -> YNode:
    """A replacement keeps the replaced layer's name unless it gives its own."""
    if isinstance(node, YScalar) and isinstance(node.value, str):
        return YMap({"op": (span, node), "name": (span, YScalar(name, span))}, node.span)
    if isinstance(node, YMap) and "name" not in node.items:
        return YMap({**node.items, "name": (span, YScalar(name, span))}, node.span)
    return node

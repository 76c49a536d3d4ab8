"""Freezing (transfer learning: "replace the head, freeze the rest"): which layers train.

Every layer starts trainable. Then every ``freeze`` pattern is applied (the spec's ``freeze:``,
then those the caller adds: ``--freeze``, ``analyze(freeze=...)``), then every ``unfreeze``
pattern in the same way, so ``freeze: ["*"]`` with ``unfreeze: [fc]`` trains only ``fc``
whatever order the patterns are written in.

A pattern is an ``fnmatch`` glob over qualified layer names (case-sensitive; ``*`` also crosses
dots, so ``layer1*`` matches ``layer10`` too). A pattern that names a block instance or a
repeat group (``layer1``, ``layer1.0``) covers every layer inside it. The result is recorded in
one place, ``node.trainable`` on the graph; ``node.trainable_params``, the report's counts and
the lowering's ``requires_grad`` derive from it. Freezing is about parameters only: buffers
(BatchNorm's running statistics) are not parameters and never train, frozen or not. A pattern
that matches no layer is warned about (W103), with the nearest name.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..diagnostics import Collector
from ..graph import Graph, Node
from ..ops.registry import suggest

if TYPE_CHECKING:
    from ..specdata import LayerPattern


def freeze_layers(
    graph: Graph, freeze: tuple[LayerPattern, ...], unfreeze: tuple[LayerPattern, ...], diags: Collector
) -> None:
    """Set ``node.trainable`` on every node of ``graph`` (see the module docstring)."""
    if not freeze and not unfreeze:
        return
    groups = _groups(graph.nodes)
    for patterns, key in ((freeze, "freeze"), (unfreeze, "unfreeze")):
        for pattern in patterns:
            matched = _matches(pattern.text, groups)
            if not matched and graph.complete:  # with a failed layer missing from the graph, say nothing
                _warn(pattern, key, groups, diags)
            for node in matched:
                node.trainable = key == "unfreeze"


def _groups(nodes: Iterable[Node]) -> dict[str, list[Node]]:
    """Every layer name and every enclosing dotted prefix (block instance, repeat group) → its layers."""
    out: dict[str, list[Node]] = {}
    for node in nodes:
        parts = node.name.split(".")
        for i in range(1, len(parts) + 1):
            out.setdefault(".".join(parts[:i]), []).append(node)
    return out


def _matches(pattern: str, groups: dict[str, list[Node]]) -> list[Node]:
    match = re.compile(fnmatch.translate(pattern)).match
    seen: dict[Node, None] = {}
    for name, nodes in groups.items():
        if match(name):
            seen.update(dict.fromkeys(nodes))
    return list(seen)


def _warn(pattern: LayerPattern, key: str, groups: dict[str, list[Node]], diags: Collector) -> None:
    depth = pattern.text.count(".")  # `layer5` → `layer4`, not `layer3.5`: names as deep as the pattern first
    hint = suggest(pattern.text, [g for g in groups if g.count(".") == depth]) or suggest(pattern.text, list(groups))
    origin = "" if pattern.span is not None else " (given by the caller, not in the spec)"
    diags.warning(
        "W103",
        f"`{key}` pattern `{pattern.text}`{origin} matches no layer" + (f"; did you mean `{hint}`?" if hint else ""),
        pattern.span,
        expected="a layer name, a block instance or repeat group (`layer1`, `layer1.0`), or a glob (`layer4.*`)",
        found=f"`{pattern.text}`",
    )

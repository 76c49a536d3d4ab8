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

import bisect
import fnmatch
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from archscope.diagnostics import Collector
from archscope.graph import Graph, Node
from archscope.names import Names

if TYPE_CHECKING:
    from archscope.lang.specdata import LayerPattern


MAX_GLOB_WORK = 1_000_000  # names that the globs of one graph compare, and layers they mark (~0.15 s)


def freeze_layers(
    graph: Graph, freeze: tuple[LayerPattern, ...], unfreeze: tuple[LayerPattern, ...], diags: Collector
) -> None:
    """Set ``node.trainable`` on every node of ``graph`` (see the module docstring).

    The work is bounded, whatever the number of patterns: a name without ``*``, ``?`` or ``[``
    is looked up; a pattern written twice is matched once; a glob compares only the names that
    start as it does (``layer4.*``: those under ``layer4``). Past :data:`MAX_GLOB_WORK` names
    compared and layers marked, the next glob is refused (E011) and freezing stops there."""
    if not freeze and not unfreeze:
        return
    groups = _groups(graph.nodes)
    index = _Index(groups)
    nearest = _Nearest(groups)
    for patterns, key in ((freeze, "freeze"), (unfreeze, "unfreeze")):
        found: dict[str, bool] = {}  # pattern text → it matched a layer
        for pattern in patterns:
            if pattern.text not in found:
                matched = index.matches(pattern, key, diags)
                if matched is None:
                    return
                for node in matched:
                    node.trainable = key == "unfreeze"
                found[pattern.text] = bool(matched)
            if not found[pattern.text] and graph.complete:  # with a failed layer missing, say nothing
                _warn(pattern, key, nearest, diags)


def _groups(nodes: Iterable[Node]) -> dict[str, list[Node]]:
    """Every layer name and every enclosing dotted prefix (block instance, repeat group) → its layers."""
    out: dict[str, list[Node]] = {}
    for node in nodes:
        parts = node.name.split(".")
        for i in range(1, len(parts) + 1):
            out.setdefault(".".join(parts[:i]), []).append(node)
    return out


class _Index:
    """The groups, sorted once (on the first glob), and the work the globs have done."""

    def __init__(self, groups: dict[str, list[Node]]) -> None:
        self.groups = groups
        self.ordered: list[str] | None = None
        self.work = 0

    def matches(self, pattern: LayerPattern, key: str, diags: Collector) -> list[Node] | None:
        """The layers ``pattern`` covers; None when the glob work is spent (reported)."""
        text = pattern.text
        literal = re.split(r"[*?\[]", text, maxsplit=1)[0]
        if literal == text:  # no wildcard: one name
            return list(self.groups.get(text, ()))
        if self.ordered is None:
            self.ordered = sorted(self.groups)
        lo = bisect.bisect_left(self.ordered, literal)
        hi = bisect.bisect_left(self.ordered, literal + "\U0010ffff") if literal else len(self.ordered)
        self.work += hi - lo
        if self.work > MAX_GLOB_WORK:
            diags.error(
                "E011",
                f"`{key}` pattern `{text}`: the globs compare more than {MAX_GLOB_WORK:,} layer names in all;"
                " it and the patterns after it are not applied",
                pattern.span,
                expected="fewer globs, or globs that start with a name (`layer4.*` compares only the names under `layer4`)",
                found=f"{len(self.groups):,} names and groups to compare",
            )
            return None
        match = re.compile(fnmatch.translate(text)).match
        seen: dict[Node, None] = {}
        for name in self.ordered[lo:hi]:
            if match(name):
                nodes = self.groups[name]
                self.work += len(nodes)
                seen.update(dict.fromkeys(nodes))
        return list(seen)


class _Nearest:
    """The "did you mean" of a pattern that matches nothing: the names as deep as the pattern first
    (`layer5` → `layer4`, not `layer3.5`), then any; each index made once, on the first miss."""

    def __init__(self, groups: dict[str, list[Node]]) -> None:
        self.groups = groups
        self.any = Names(groups)
        self.by_depth: dict[int, Names] | None = None

    def near(self, text: str) -> str | None:
        if self.by_depth is None:
            deep: dict[int, list[str]] = {}
            for name in self.groups:
                deep.setdefault(name.count("."), []).append(name)
            self.by_depth = {depth: Names(names) for depth, names in deep.items()}
        level = self.by_depth.get(text.count("."))
        return (level.near(text) if level is not None else None) or self.any.near(text)


def _warn(pattern: LayerPattern, key: str, nearest: _Nearest, diags: Collector) -> None:
    hint = nearest.near(pattern.text)
    origin = "" if pattern.span is not None else " (given by the caller, not in the spec)"
    diags.warning(
        "W103",
        f"`{key}` pattern `{pattern.text}`{origin} matches no layer" + (f"; did you mean `{hint}`?" if hint else ""),
        pattern.span,
        expected="a layer name, a block instance or repeat group (`layer1`, `layer1.0`), or a glob (`layer4.*`)",
        found=f"`{pattern.text}`",
    )

"""The small checkers the spec parser (:mod:`archscope.lang.spec`) reads YAML nodes with: a
mapping, a string, a name, known keys, variable names, a reference; each reports what is wrong
at the node's place and returns None (or nothing) rather than raising.
"""

from __future__ import annotations

import re
from pathlib import Path

from archscope.diagnostics import Collector, Span
from archscope.lang.ynodes import YMap, YNode, YScalar
from archscope.names import suggest

NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")  # whole text: fullmatch (`$` would allow a final newline)


def visible(text: str) -> str:
    """``text`` with each character that is not printable (a newline, a tab) written as its escape."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def type_name(node: YNode) -> str:
    if isinstance(node, YScalar):
        v = node.value
        return "null" if v is None else type(v).__name__
    return node.kind


class SpecReader:
    """The checkers; :class:`~archscope.lang.spec.SpecParser` reads a whole spec with them."""

    def __init__(self, diags: Collector):
        self.d = diags

    # -- small checkers ---------------------------------------------------------------
    def mapping(self, node: YNode | None, what: str) -> YMap | None:
        if node is None:
            return None
        if not isinstance(node, YMap):
            self.d.error("E004", f"{what} must be a mapping", node.span, expected="a mapping", found=type_name(node))
            return None
        return node

    def string(self, node: YNode, what: str) -> str | None:
        if isinstance(node, YScalar) and isinstance(node.value, str):
            return node.value
        self.d.error("E004", f"{what} must be a string", node.span, expected="a string", found=type_name(node))
        return None

    def name(self, node: YNode, what: str) -> str | None:
        text = self.string(node, what)
        if text is not None and not NAME_RE.fullmatch(text):
            self.d.error(
                "E004",
                f"{what} `{visible(text)}` is not a valid name",
                node.span,
                expected="letters, digits, `_` or `-`, not starting with a digit",
                found=visible(text),
            )
            return None
        return text

    def file_name(self, file: str, span: Span, name_node: YNode | None) -> str:
        """The network's name when the spec gives none: its file's name, which must be a valid
        name as `name:` must (it heads tables, names CSV rows and the exported class); an
        invalid `name:` was reported already, so its file's name stands in silently."""
        stem = Path(file).stem
        if name_node is None and not NAME_RE.match(stem):
            self.d.error(
                "E004",
                f"the spec has no `name:` and its file's name `{stem}` is not a valid name",
                span,
                expected="letters, digits, `_` or `-`, not starting with a digit",
                found=stem,
                notes=("give the spec a `name:`, or rename the file",),
            )
        return stem

    def unknown_keys(self, m: YMap, allowed: tuple[str, ...], where: str) -> None:
        for key in m.items:
            if key not in allowed:
                hint = suggest(key, allowed)
                self.d.error(
                    "E003",
                    f"unknown key `{key}` in {where}" + (f"; did you mean `{hint}`?" if hint else ""),
                    m.key_span(key),
                    expected=", ".join(f"`{k}`" for k in allowed),
                    found=f"`{key}`",
                )

    def items(self, node: YNode | None, what: str) -> dict[str, tuple[Span, YNode]]:
        m = self.mapping(node, what)
        if not m:
            return {}
        out = {}
        for k, entry in m.items.items():
            if not NAME_RE.fullmatch(k) or "-" in k:
                self.d.error(
                    "E004",
                    f"`{visible(k)}` in {what} is not a valid variable name",
                    entry[0],
                    expected="letters, digits and `_`",
                    found=visible(k),
                )
                continue
            out[k] = entry
        return out

    def keyed(self, node: YNode | None, what: str, allowed: tuple[str, ...]) -> dict[str, tuple[Span, YNode]]:
        m = self.mapping(node, what)
        if not m:
            return {}
        self.unknown_keys(m, allowed, what)
        return {k: v for k, v in m.items.items() if k in allowed}

    def ref(self, node: YNode | None, what: str) -> tuple[str, Span] | None:
        if node is None:
            return None
        text = self.string(node, what)
        return (text, node.span) if text else None

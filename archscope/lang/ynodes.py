"""The located YAML nodes every stage reads a spec from: :class:`YScalar`, :class:`YMap` and
:class:`YSeq`, each with the :class:`~archscope.diagnostics.Span` of its text, made by
:mod:`archscope.lang.yamlsrc`.
"""

from __future__ import annotations

from typing import Any

from archscope.diagnostics import Diagnostic, Span, SpecError


class YNode:
    __slots__ = ("span",)
    kind = "node"
    span: Span  # set by every subclass's __init__ (an annotation only: the slot holds the value)


class YScalar(YNode):
    __slots__ = ("value",)
    kind = "scalar"

    def __init__(self, value: Any, span: Span):
        self.value = value
        self.span = span

    def __repr__(self) -> str:
        return f"YScalar({self.value!r})"


class YMap(YNode):
    """An ordered mapping from string keys to ``(key_span, value_node)``."""

    __slots__ = ("items",)
    kind = "mapping"

    def __init__(self, items: dict[str, tuple[Span, YNode]], span: Span):
        self.items = items
        self.span = span

    def get(self, key: str) -> YNode | None:
        entry = self.items.get(key)
        return entry[1] if entry else None

    def key_span(self, key: str) -> Span:
        return self.items[key][0]


class YSeq(YNode):
    __slots__ = ("items",)
    kind = "sequence"

    def __init__(self, items: list[YNode], span: Span):
        self.items = items
        self.span = span


def error(code: str, message: str, span: Span, **kw: Any) -> SpecError:
    """One located diagnostic, raised as a :class:`SpecError`."""
    return SpecError([Diagnostic(code, message, span, **kw)])


def to_python(node: YNode) -> Any:
    """Plain Python value of a node (mappings become dicts). Shared (aliased) nodes stay shared."""
    memo: dict[int, Any] = {}

    def walk(n: YNode) -> Any:
        if isinstance(n, YScalar):
            return n.value
        got = memo.get(id(n))
        if got is not None:
            return got
        if isinstance(n, YSeq):
            out: Any = []
            memo[id(n)] = out
            out.extend(walk(c) for c in n.items)
        else:
            assert isinstance(n, YMap), n  # the third and last node kind
            out = {}
            memo[id(n)] = out
            for k, (_, v) in n.items.items():
                out[k] = walk(v)
        return out

    return walk(node)

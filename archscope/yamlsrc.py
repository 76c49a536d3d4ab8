"""Load YAML into a tree of located nodes.

PyYAML's ``compose`` gives nodes with marks; we turn them into small ``YMap`` / ``YSeq`` /
``YScalar`` objects that keep a :class:`Span` each, so every later error can point at the
exact key or value. This is also where input hazards are stopped: duplicate keys (PyYAML
silently keeps the last), alias bombs, runaway nesting, non-UTF-8 bytes and empty files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .diagnostics import Diagnostic, Span, SpecError

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RESOLVED: dict[tuple[str, tuple[bool, bool]], str] = {}


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """PyYAML resolves the tag of every plain scalar with regular expressions, in Python. Spec
    files repeat the same few scalars (`conv2d`, `3`, `true`) thousands of times, so the
    resolution is memoised (bounded): a 20,000-layer spec composes 2× faster."""

    def resolve(self, kind, value, implicit):  # noqa: ANN001, ANN201 - PyYAML's signature
        if kind is not yaml.ScalarNode or len(value) > 32:
            return super().resolve(kind, value, implicit)
        key = (value, implicit)
        tag = _RESOLVED.get(key)
        if tag is None:
            tag = super().resolve(kind, value, implicit)
            if len(_RESOLVED) < 4096:
                _RESOLVED[key] = tag
        return tag

_scalars = yaml.constructor.SafeConstructor()

MAX_NODES = 5_000_000  # distinct YAML nodes in one file
MAX_DEPTH = 64  # nesting of mappings and sequences
MAX_BYTES = 64 * 1024 * 1024

_TAG = "tag:yaml.org,2002:"


class YNode:
    __slots__ = ("span",)
    kind = "node"


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


def _span(node: yaml.Node, file: str) -> Span:
    s, e = node.start_mark, node.end_mark
    return Span(file, s.line + 1, s.column + 1, e.line + 1, e.column + 1)


def _error(code: str, message: str, span: Span, **kw) -> SpecError:
    return SpecError([Diagnostic(code, message, span, **kw)])


class _Converter:
    def __init__(self, file: str):
        self.file = file
        self.memo: dict[int, YNode] = {}
        self.errors: list[Diagnostic] = []

    def convert(self, node: yaml.Node, depth: int = 0) -> YNode:
        done = self.memo.get(id(node))
        if done is not None:  # an alias: share the converted node, never expand it again
            return done
        if len(self.memo) >= MAX_NODES:
            raise _error("E011", f"the file has more than {MAX_NODES:,} YAML nodes", _span(node, self.file))
        if depth > MAX_DEPTH:
            raise _error(
                "E011", f"nesting is deeper than {MAX_DEPTH} levels", _span(node, self.file),
                expected=f"at most {MAX_DEPTH} levels", found="deeper",
            )
        span = _span(node, self.file)
        if isinstance(node, yaml.ScalarNode):
            out: YNode = YScalar(self._scalar(node), span)
        elif isinstance(node, yaml.SequenceNode):
            seq = YSeq([], span)
            self.memo[id(node)] = seq
            seq.items = [self.convert(child, depth + 1) for child in node.value]
            return seq
        else:
            out = self._mapping(node, span, depth)
        self.memo[id(node)] = out
        return out

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        tag = node.tag
        if tag == _TAG + "int":
            value = node.value
            if value.isdigit() and (value[0] != "0" or value == "0"):  # plain decimal: the common case
                return int(value)
            return _scalars.construct_yaml_int(node)
        if tag == _TAG + "float":
            return _scalars.construct_yaml_float(node)
        if tag == _TAG + "bool":
            return _scalars.construct_yaml_bool(node)
        if tag == _TAG + "null":
            return None
        return node.value

    def _mapping(self, node: yaml.MappingNode, span: Span, depth: int) -> YMap:
        items: dict[str, tuple[Span, YNode]] = {}
        merged: dict[str, tuple[Span, YNode]] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                for source in self._merge_sources(value_node, depth):
                    for k, entry in source.items.items():
                        merged.setdefault(k, entry)
                continue
            key_span = _span(key_node, self.file)
            if not isinstance(key_node, yaml.ScalarNode):
                self.errors.append(
                    Diagnostic("E004", "mapping keys must be plain strings", key_span,
                               expected="a string key", found=f"a {key_node.id}")
                )
                continue
            key = str(self._scalar(key_node))
            if key in items:
                first = items[key][0]
                self.errors.append(
                    Diagnostic("E002", f"duplicate key `{key}` (first defined at line {first.line})",
                               key_span, expected="each key once", found=f"`{key}` twice")
                )
                continue
            items[key] = (key_span, self.convert(value_node, depth + 1))
        for k, entry in merged.items():
            items.setdefault(k, entry)
        return YMap(items, span)

    def _merge_sources(self, node: yaml.Node, depth: int) -> list[YMap]:
        nodes = node.value if isinstance(node, yaml.SequenceNode) else [node]
        out = []
        for n in nodes:
            converted = self.convert(n, depth + 1)
            if isinstance(converted, YMap):
                out.append(converted)
            else:
                self.errors.append(Diagnostic("E004", "`<<` merges only mappings", converted.span))
        return out


def parse_yaml(text: str, file: str) -> YNode:
    """Parse one YAML document into located nodes; raise :class:`SpecError` with every problem."""
    if not text.strip():
        raise _error("E001", "the file is empty", Span(file, 1, 1), expected="a YAML mapping", found="nothing")
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        span = Span(file, mark.line + 1, mark.column + 1) if mark else Span(file, 1, 1)
        what = " ".join(part for part in (exc.context, exc.problem) if part)
        raise _error("E001", f"invalid YAML: {what}", span) from None
    except yaml.YAMLError as exc:
        raise _error("E001", f"invalid YAML: {exc}", Span(file, 1, 1)) from None
    except RecursionError:
        raise _error("E011", "nesting is too deep to parse", Span(file, 1, 1)) from None
    if root is None:
        raise _error("E001", "the file holds no YAML document", Span(file, 1, 1))
    conv = _Converter(file)
    try:
        tree = conv.convert(root)
    except RecursionError:
        raise _error("E011", "nesting is too deep to parse", Span(file, 1, 1)) from None
    if conv.errors:
        raise SpecError(conv.errors)
    return tree


def read_source(path: Path, display: str | None = None) -> str:
    """Read a spec file as UTF-8 text, turning OS and encoding problems into diagnostics."""
    name = display or str(path)
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise _error("E000", "this is a directory, not a spec file", Span(name, 1, 1)) from None
    except OSError as exc:
        raise _error("E000", f"cannot read the file: {exc.strerror or exc}", Span(name, 1, 1)) from None
    if len(data) > MAX_BYTES:
        raise _error("E011", f"the file is larger than {MAX_BYTES // 2**20} MiB", Span(name, 1, 1))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        raise _error(
            "E000", f"the file is not UTF-8 (byte 0x{data[exc.start]:02x})", Span(name, line, col),
            expected="UTF-8 text", found=f"byte 0x{data[exc.start]:02x}",
        ) from None


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
            out = {}
            memo[id(n)] = out
            for k, (_, v) in n.items.items():
                out[k] = walk(v)
        return out

    return walk(node)

"""PyYAML's parser events → located nodes (:mod:`archscope.lang.ynodes`), for
:mod:`archscope.lang.yamlsrc`: the nesting, the aliases, the number of nodes and the size of an
integer literal are bounded here, as each event comes, before anything recurses or converts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml

from archscope.diagnostics import Diagnostic, Span, brief
from archscope.lang.ynodes import YMap, YNode, YScalar, YSeq, error
from archscope.limits import max_yaml_nodes

_RESOLVED: dict[tuple[str, tuple[bool, bool]], str] = {}


if TYPE_CHECKING:  # the loaders it is mixed into are resolvers; at run time it is a plain mixin

    class _Resolver:
        def resolve(self, kind: Any, value: str, implicit: Any) -> Any: ...

else:
    _Resolver = object


class MemoisedResolve(_Resolver):
    """PyYAML resolves the tag of every plain scalar with regular expressions, in Python. Spec
    files repeat the same few scalars (`conv2d`, `3`, `true`) thousands of times, so the
    resolution is memoised (bounded): a 20,000-layer spec composes 2× faster."""

    def resolve(self, kind: Any, value: str, implicit: Any) -> Any:
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


MAX_DEPTH = 64  # nesting of mappings and sequences


MAX_ALIAS_EXPANSION = 1_000_000  # nodes that aliases may stand for (billion laughs)


MAX_INT_DIGITS = 1000  # an integer literal with more digits (in any base) is refused: no size is that large


_TAG = "tag:yaml.org,2002:"


class _Collection:
    """A mapping or sequence whose end event has not come yet."""

    __slots__ = ("is_map", "start", "anchor", "items", "size", "key", "merged")

    def __init__(self, is_map: bool, start: Any, anchor: str | None):
        self.is_map = is_map
        self.start = start
        self.anchor = anchor
        self.items: Any = {} if is_map else []
        self.size = 1  # nodes, with every alias expanded
        self.key: Any = None  # a mapping's pending key: a YScalar, _MERGE or _BAD_KEY
        self.merged: list[YMap] = []


_MERGE, _BAD_KEY = object(), object()  # a pending `<<` key; a key that is not a scalar


_MERGE_TAG = _TAG + "merge"


_PLAIN_TAGS = frozenset({_TAG + "str"})  # scalars whose value is the text itself (see _scalar)


_new_span = tuple.__new__  # Span(...) without the NamedTuple's Python-level __new__


_E = yaml.events


class EventBuilder:
    """YAML events → located nodes, with an explicit stack.

    Not ``yaml.compose``: libyaml's composer recurses in C once per nesting level, and a few
    tens of thousands of ``[`` crash the interpreter (a segfault, not an exception). Building
    from the parser's events bounds the nesting before anything recurses, sees every alias
    where it is used, and skips PyYAML's node objects."""

    def __init__(self, file: str):
        self.file = file
        self.anchors: dict[str, tuple[YNode, int] | None] = {}  # None: still being built
        self.expanded = 0  # nodes that aliases stand for
        self.count = 0
        self.max_nodes = max_yaml_nodes()  # distinct YAML nodes in one file (archscope.limits)
        self.errors: list[Diagnostic] = []

    def span(self, start: Any, end: Any) -> Span:
        return Span(self.file, start.line + 1, start.column + 1, end.line + 1, end.column + 1)

    def build(self, text: str, loader_class: type) -> YNode | None:
        loader = loader_class(text)
        try:
            return self._run(loader)
        finally:
            loader.dispose()

    def _run(self, loader: Any) -> YNode | None:
        """Read events until the stream ends; each handler returns a finished node (and its size
        with aliases expanded) or None when the event only opens, closes or marks something.

        Plain scalars (most events in a spec: `conv2d`, `3`, `true`) are handled inline, with the
        span built directly: this loop is ~half of the time of a large file."""
        self.get_event, self.resolve = loader.get_event, loader.resolve
        self.stack: list[_Collection] = []
        self.documents = 0
        handlers = {
            _E.ScalarEvent: self._on_scalar,
            _E.AliasEvent: self._alias,
            _E.SequenceStartEvent: self._on_start,
            _E.MappingStartEvent: self._on_start,
            _E.SequenceEndEvent: self._on_end,
            _E.MappingEndEvent: self._on_end,
            _E.DocumentStartEvent: self._on_document,
        }
        root: YNode | None = None
        stack = self.stack
        get_event, file, new_span, scalar_event, stream_end = (
            self.get_event,
            self.file,
            _new_span,
            _E.ScalarEvent,
            _E.StreamEndEvent,
        )
        plain, int_tag = _PLAIN_TAGS, _TAG + "int"
        while True:
            event = get_event()
            kind = type(event)
            if kind is scalar_event and event.anchor is None and event.tag is None and stack:
                # the fast path of _on_scalar: no anchor, no explicit tag, inside a collection
                self.count += 1
                if self.count > self.max_nodes or len(stack) > MAX_DEPTH:
                    self._count(event, len(stack))
                value, implicit = event.value, event.implicit
                tag = _RESOLVED.get((value, implicit)) or self.resolve(yaml.ScalarNode, value, implicit)
                parent = stack[-1]
                if tag in plain or (tag == int_tag and value.isdigit() and value[0] != "0" and len(value) <= 18):
                    start, end = event.start_mark, event.end_mark
                    node = YScalar(
                        value if tag in plain else int(value),
                        new_span(Span, (file, start.line + 1, start.column + 1, end.line + 1, end.column + 1)),
                    )
                elif tag == _MERGE_TAG and parent.is_map and parent.key is None:
                    parent.key = _MERGE
                    continue
                else:
                    node = YScalar(self._scalar(tag, value, event), self.span(event.start_mark, event.end_mark))
                if parent.is_map:
                    self._add(parent, node, 1)
                else:
                    parent.items.append(node)
                    parent.size += 1
                continue
            if kind is stream_end:
                return root
            handler = handlers.get(kind)
            done = handler(event) if handler is not None else None  # stream start, document end: nothing
            if done is None:
                continue
            if stack:
                self._add(stack[-1], *done)
            else:
                root = done[0]

    def _on_scalar(self, event: Any) -> tuple[YNode, int] | None:
        stack = self.stack
        self._count(event, len(stack))
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag == _MERGE_TAG and stack and stack[-1].is_map and stack[-1].key is None:
            stack[-1].key = _MERGE
            return None
        node = YScalar(self._scalar(tag, event.value, event), self.span(event.start_mark, event.end_mark))
        if event.anchor is not None:
            self._anchor(event, (node, 1))
        return node, 1

    def _on_start(self, event: Any) -> None:
        self._count(event, len(self.stack))
        if event.anchor is not None:
            self._anchor(event, None)
        self.stack.append(_Collection(type(event) is _E.MappingStartEvent, event.start_mark, event.anchor))

    def _on_end(self, event: Any) -> tuple[YNode, int]:
        done = self.stack.pop()
        span = self.span(done.start, event.end_mark)
        node: YNode
        if done.is_map:
            for source in done.merged:  # explicit keys win, then the first source that has the key
                for k, entry in source.items.items():
                    done.items.setdefault(k, entry)
            node = YMap(done.items, span)
        else:
            node = YSeq(done.items, span)
        if done.anchor is not None:
            self.anchors[done.anchor] = (node, done.size)
        return node, done.size

    def _on_document(self, event: Any) -> None:
        self.documents += 1
        if self.documents > 1:
            raise error(
                "E001",
                "invalid YAML: expected a single document in the stream but found another document",
                self.span(event.start_mark, event.end_mark),
            )

    def _count(self, event: Any, depth: int) -> None:
        self.count += 1
        if self.count > self.max_nodes:
            raise error(
                "E011",
                f"the file has more than {self.max_nodes:,} YAML nodes",
                self.span(event.start_mark, event.end_mark),
                expected=f"at most {self.max_nodes:,} (10 for each layer `--max-layers` allows)",
                found="more",
            )
        if depth > MAX_DEPTH:
            raise error(
                "E011",
                f"nesting is deeper than {MAX_DEPTH} levels",
                self.span(event.start_mark, event.end_mark),
                expected=f"at most {MAX_DEPTH} levels",
                found="deeper",
            )

    def _anchor(self, event: Any, entry: tuple[YNode, int] | None) -> None:
        if event.anchor in self.anchors:
            raise error(
                "E001",
                f"invalid YAML: the anchor `&{event.anchor}` is defined twice",
                self.span(event.start_mark, event.end_mark),
            )
        self.anchors[event.anchor] = entry

    def _alias(self, event: Any) -> tuple[YNode, int]:
        self._count(event, len(self.stack))  # each use is a node of the document, and work to read
        if event.anchor not in self.anchors:
            raise error(
                "E001",
                f"invalid YAML: the alias `*{event.anchor}` names no anchor before it",
                self.span(event.start_mark, event.end_mark),
            )
        entry = self.anchors[event.anchor]
        if entry is None:
            raise error(
                "E011",
                f"the alias `*{event.anchor}` is inside the node it refers to",
                self.span(event.start_mark, event.end_mark),
                expected="aliases of finished nodes",
                found="a recursive alias",
            )
        node, size = entry
        # shared, never copied; but later passes and reports may walk the expansion: bound it
        self.expanded += size
        if self.expanded > MAX_ALIAS_EXPANSION:
            raise error(
                "E011",
                f"aliases expand to more than {MAX_ALIAS_EXPANSION:,} YAML nodes (an alias bomb?)",
                self.span(event.start_mark, event.end_mark),
                expected=f"at most {MAX_ALIAS_EXPANSION:,} nodes from aliases",
                found=f"{self.expanded:,} or more",
            )
        return node, size

    def _add(self, parent: _Collection, node: YNode, size: int) -> None:
        if not parent.is_map:
            parent.items.append(node)
            parent.size += size
            return
        key = parent.key
        if key is None:  # this node is a key
            if isinstance(node, YScalar):
                parent.key = node
            else:
                self.errors.append(
                    Diagnostic(
                        "E004",
                        "mapping keys must be plain strings",
                        node.span,
                        expected="a string key",
                        found=f"a {node.kind}",
                    )
                )
                parent.key = _BAD_KEY
            return
        parent.key = None
        parent.size += size
        if key is _BAD_KEY:
            return
        if key is _MERGE:
            for source in node.items if isinstance(node, YSeq) else [node]:
                if isinstance(source, YMap):
                    parent.merged.append(source)
                else:
                    self.errors.append(Diagnostic("E004", "`<<` merges only mappings", source.span))
            return
        name = str(key.value)
        first = parent.items.get(name)
        if first is not None:
            self.errors.append(
                Diagnostic(
                    "E002",
                    f"duplicate key `{name}` (first defined at line {first[0].line})",
                    key.span,
                    expected="each key once",
                    found=f"`{name}` twice",
                )
            )
            return
        parent.items[name] = (key.span, node)

    def _scalar(self, tag: str, value: str, event: Any) -> Any:
        try:
            if tag == _TAG + "int":
                if value.isdigit() and (value[0] != "0" or value == "0") and len(value) <= MAX_INT_DIGITS:
                    return int(value)  # plain decimal: the common case
                return self._big_int(tag, value, event)
            if tag == _TAG + "float":
                return _scalars.construct_yaml_float(yaml.ScalarNode(tag, value))
            if tag == _TAG + "bool":
                return _scalars.construct_yaml_bool(yaml.ScalarNode(tag, value))
        except (ValueError, KeyError, IndexError):  # a tag on a wrong value (`!!int relu`, `!!int`), a huge number
            kind = tag[len(_TAG) :]
            digits = sum(ch.isdigit() for ch in value)
            self.errors.append(
                Diagnostic(
                    "E004",
                    f"a number of {digits:,} digits is too large"
                    if digits > 1000
                    else f"`{value}` is not a valid `!!{kind}`"
                    if value
                    else f"an empty value is not a valid `!!{kind}`",
                    self.span(event.start_mark, event.end_mark),
                    expected=f"a YAML {kind}",
                    found=brief(value),
                )
            )
            return value
        if tag == _TAG + "null":
            return None
        return value

    def _big_int(self, tag: str, value: str, event: Any) -> Any:
        """Any other integer form (hex, octal, binary, base 60, signs, `_`): a literal of more than
        :data:`MAX_INT_DIGITS` digits, in whatever base, is refused before it is converted (a base-60
        conversion is quadratic, and Python refuses to print an integer of more than 4,300 digits)."""
        digits = sum(ch.isalnum() for ch in value) - (value.lstrip("+-")[1:2] in ("x", "o", "b"))
        number = None if digits > MAX_INT_DIGITS else _scalars.construct_yaml_int(yaml.ScalarNode(tag, value))
        if number is not None and number.bit_length() <= MAX_INT_DIGITS * 3:  # 3 bits a digit: ≤ 10^903
            return number
        self.errors.append(
            Diagnostic(
                "E004",
                f"a number of {digits:,} digits is too large",
                self.span(event.start_mark, event.end_mark),
                expected=f"an integer of at most {MAX_INT_DIGITS:,} digits",
                found=brief(value),
            )
        )
        return value

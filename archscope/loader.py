"""Loading a spec: a file or a text → located YAML → (``extends:`` merged) → :class:`NetworkSpec`.

``extends: parent`` reads the parent (a path next to the child, or a bundled name found by the
resolver), merges :data:`MERGED_KEYS` key by key and lets the child replace the rest; the
parent's problems are reported with a note that says which ``extends:`` read it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from .diagnostics import Collector, Diagnostic, Span, SpecError
from .edits import EDIT_KEYS, apply_edits
from .spec import NetworkSpec, SpecParser, type_name
from .yamlsrc import MAX_BYTES, YMap, YNode, YScalar, YSeq, parse_yaml
from .yamlsrc import error as _error

MERGED_KEYS = ("params", "scale", "blocks")  # merged key by key under `extends`; others replaced
MAX_EXTENDS = 8
NOT_INHERITED = ("name", "title", "expect", "family_default")
STRUCTURE_KEYS = ("layers", "blocks", *EDIT_KEYS)  # a child that sets one of these is another network
CITATION_KEYS = ("paper", "source", "url")  # a child with none of its own does not inherit these:
NOT_CITED = (*CITATION_KEYS, "year", "notes")  # ...it says `extends parent (parent's citation)` instead

Resolver = Callable[[str, Path | None], Path | None]


def load_spec_file(
    path: Path, display: str | None = None, resolver: Resolver | None = None, _chain: tuple[str, ...] = ()
) -> NetworkSpec:
    """Parse a spec file (following ``extends``); raise :class:`SpecError` with every problem."""
    display = display or str(path)
    text = read_source(path, display)
    return load_spec_text(
        text, display, base_dir=path.parent, resolver=resolver, _chain=_chain + (str(path.resolve()),)
    )


def load_spec_text(
    text: str,
    file: str = "<spec>",
    base_dir: Path | None = None,
    resolver: Resolver | None = None,
    _chain: tuple[str, ...] = (),
) -> NetworkSpec:
    root = parse_yaml(text, file)
    diags = Collector()
    lineage: dict[str, str] = {}
    if isinstance(root, YMap) and "extends" in root.items:
        root = _extend(root, base_dir, resolver, _chain, diags, lineage)
    elif isinstance(root, YMap):
        for key in EDIT_KEYS:
            if key in root.items:
                diags.error(
                    "E013",
                    f"`{key}` edits the layers of a parent, and this spec has no `extends:`",
                    root.key_span(key),
                    expected="`extends: <parent>` beside the edits, or a plain `layers:`",
                    found=f"`{key}`",
                )
    spec = SpecParser(diags).network(root, file)
    spec.meta.update(lineage)
    if diags.has_errors:
        raise SpecError(diags.items)
    return spec


def _extend(
    root: YMap,
    base_dir: Path | None,
    resolver: Resolver | None,
    chain: tuple[str, ...],
    diags: Collector,
    lineage: dict[str, str],
) -> YMap:
    """``root`` with its ``extends:`` parent's keys under its own (see :data:`MERGED_KEYS`), the
    parent's ``layers:`` edited (:mod:`archscope.edits`); ``lineage`` gets ``extends`` (the
    parent's name) and ``extends_citation`` when the child is another network with no citation."""
    node = root.items["extends"][1]
    target = node.value if isinstance(node, YScalar) and isinstance(node.value, str) else None
    if target is None:
        raise _e012(
            "`extends` must name a spec", node, expected="a spec name or a relative path", found=type_name(node)
        )
    path = _parent_path(target, base_dir, resolver)
    if path is None:
        raise _e012(
            f"`extends: {target}` names no spec file or bundled spec",
            node,
            expected="a bundled name or a path next to this file",
            found=target,
        )
    if str(path.resolve()) in chain or len(chain) > MAX_EXTENDS:
        raise _e012(
            f"`extends: {target}` makes a cycle or is nested too deep",
            node,
            found=" → ".join(Path(c).stem for c in chain),
        )
    inherited: dict[str, str] = {}
    parent = _read_parent(path, f"while reading `extends: {target}` at {node.span}", resolver, chain, inherited)
    if not isinstance(parent, YMap):
        raise _e012(f"`extends: {target}` is not a mapping", node)
    merged = _merged(parent, root, diags)
    if any(k in root.items for k in CITATION_KEYS):
        return merged
    if any(k in root.items for k in STRUCTURE_KEYS):
        name = parent.get("name")
        lineage["extends"] = name.value if isinstance(name, YScalar) else path.stem
        cited = (parent.get(k) for k in ("paper", "source"))
        lineage["extends_citation"] = " · ".join(str(c.value) for c in cited if isinstance(c, YScalar))
        lineage["extends_citation"] = lineage["extends_citation"] or inherited.get("extends_citation", "")
        for key in NOT_CITED:
            if key not in root.items:
                merged.items.pop(key, None)
    else:  # a variant (params, scale, input) of a parent that is itself another network
        lineage.update(inherited)
    return merged


def _e012(message: str, node: YNode, **kw: str) -> SpecError:
    return SpecError([Diagnostic("E012", message, node.span, **kw)])


def _parent_path(target: str, base_dir: Path | None, resolver: Resolver | None) -> Path | None:
    """A `.yaml` path next to the child first, then whatever the resolver finds (bundled names)."""
    if base_dir is not None and target.endswith((".yaml", ".yml")):
        candidate = base_dir / target
        if candidate.is_file():
            return candidate
    return resolver(target, base_dir) if resolver is not None else None


def _read_parent(
    path: Path, note: str, resolver: Resolver | None, chain: tuple[str, ...], lineage: dict[str, str]
) -> YNode:
    """The parent's YAML (itself extended, its lineage into ``lineage``); its problems carry ``note``."""
    try:
        parent = parse_yaml(read_source(path, str(path)), str(path))
        if isinstance(parent, YMap) and "extends" in parent.items:
            diags = Collector()
            parent = _extend(parent, path.parent, resolver, chain + (str(path.resolve()),), diags, lineage)
            if diags.has_errors:
                raise SpecError(diags.items)
    except SpecError as exc:
        raise SpecError([replace(d, notes=d.notes + (note,)) for d in exc.diagnostics]) from None
    return parent


def _merged(parent: YMap, root: YMap, diags: Collector) -> YMap:
    items = dict(parent.items)
    for key, entry in root.items.items():
        if key == "extends" or key in EDIT_KEYS:
            continue
        if key in MERGED_KEYS and key in items and isinstance(items[key][1], YMap) and isinstance(entry[1], YMap):
            merged = dict(items[key][1].items)
            merged.update(entry[1].items)
            items[key] = (entry[0], YMap(merged, entry[1].span))
        else:
            items[key] = entry
    for key in NOT_INHERITED:  # the child is its own network: its own name, title and numbers
        if key not in root.items:
            items.pop(key, None)
    edits = [k for k in EDIT_KEYS if k in root.items]
    layers = items.get("layers")
    if edits and "layers" in root.items:
        diags.error(
            "E013",
            f"`{edits[0]}` edits the parent's layers, and this spec replaces them with its own `layers:`",
            root.key_span(edits[0]),
            expected="edits or `layers:`, not both",
            found=f"`{edits[0]}` and `layers:`",
        )
    elif edits and layers is not None and isinstance(layers[1], YSeq):
        items["layers"] = (layers[0], apply_edits(layers[1], root, diags))
    return YMap(items, root.span)


def read_source(path: Path, display: str | None = None) -> str:
    """Read a spec file as UTF-8 text, turning OS and encoding problems into diagnostics."""
    name = display or str(path)
    try:
        with path.open("rb") as f:
            data = f.read(MAX_BYTES + 1)  # never more: a huge file is refused without being read
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
            "E000",
            f"the file is not UTF-8 (byte 0x{data[exc.start]:02x})",
            Span(name, line, col),
            expected="UTF-8 text",
            found=f"byte 0x{data[exc.start]:02x}",
        ) from None

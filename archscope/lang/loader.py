"""Loading a spec: a file or a text → located YAML → (``extends:`` merged) → :class:`NetworkSpec`.

``extends: parent`` reads the parent (a path next to the child, or a bundled name found by the
resolver), merges :data:`MERGED_KEYS` key by key and lets the child replace the rest; the
parent's problems are reported with a note that says which ``extends:`` read it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from archscope.diagnostics import Collector, Diagnostic, Span, SpecError
from archscope.lang.edits import EDIT_KEYS, apply_edits
from archscope.lang.spec import SpecParser
from archscope.lang.spec_reader import type_name
from archscope.lang.specdata import NetworkSpec
from archscope.lang.yamlsrc import MAX_BYTES, parse_yaml
from archscope.lang.ynodes import YMap, YNode, YScalar, YSeq
from archscope.lang.ynodes import error as _error
from archscope.paths import is_file, is_inside, resolved

MERGED_KEYS = ("params", "scale", "blocks")  # merged key by key under `extends`; others replaced
MAX_EXTENDS = 8
NOT_INHERITED = ("name", "title", "expect", "family_default")
STRUCTURE_KEYS = ("layers", "blocks", *EDIT_KEYS)  # a child that sets one of these is another network
CITATION_KEYS = ("paper", "source", "url")  # a child with none of its own does not inherit these:
NOT_CITED = (*CITATION_KEYS, "year", "notes")  # ...it says `extends parent (parent's citation)` instead

Resolver = Callable[[str, Path | None], Path | None]


def load_spec_file(
    path: Path,
    display: str | None = None,
    resolver: Resolver | None = None,
    _chain: tuple[str, ...] = (),
    extends_root: Path | None = None,
) -> NetworkSpec:
    """Parse a spec file (following ``extends``); raise :class:`SpecError` with every problem."""
    display = display or str(path)
    text = read_source(path, display)
    return load_spec_text(
        text,
        display,
        base_dir=path.parent,
        resolver=resolver,
        _chain=_chain + (str(resolved(path) or path),),
        extends_root=extends_root,
    )


def load_spec_text(
    text: str,
    file: str = "<spec>",
    base_dir: Path | None = None,
    resolver: Resolver | None = None,
    _chain: tuple[str, ...] = (),
    extends_root: Path | None = None,
) -> NetworkSpec:
    """Parse spec text. ``extends:`` paths are confined to ``base_dir`` (the spec's folder) or
    ``extends_root`` (see :func:`confined_path`); names go to ``resolver`` (bundled specs)."""
    root = parse_yaml(text, file)
    diags = Collector()
    lineage: dict[str, str] = {}
    extends_span = None
    if isinstance(root, YMap) and "extends" in root.items:
        extends_span = root.items["extends"][1].span
        root = _extend(root, base_dir, resolver, _chain, diags, lineage, extends_root)
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
    spec.extends_span = extends_span
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
    extends_root: Path | None = None,
) -> YMap:
    """``root`` with its ``extends:`` parent's keys under its own (see :data:`MERGED_KEYS`), the
    parent's ``layers:`` edited (:mod:`archscope.lang.edits`); ``lineage`` gets ``extends`` (the
    parent's name) and ``extends_citation`` when the child is another network with no citation."""
    node = root.items["extends"][1]
    target = node.value if isinstance(node, YScalar) and isinstance(node.value, str) else None
    if target is None:
        raise _e012(
            "`extends` must name a spec", node, expected="a spec name or a relative path", found=type_name(node)
        )
    path = confined_path(target, node, base_dir, resolver, extends_root)
    real = str(resolved(path) or path)
    if real in chain or len(chain) > MAX_EXTENDS:
        raise _e012(
            f"`extends: {_shown(target)}` makes a cycle or is nested too deep",
            node,
            found=" → ".join(Path(c).stem for c in chain),
        )
    inherited: dict[str, str] = {}
    parent = _read_parent(path, target, node, resolver, chain, inherited, extends_root)
    if not isinstance(parent, YMap) or not any(k in parent.items for k in ("layers", "extends")):
        # not an archscope spec: refused without a word of what it holds
        raise _e012(
            f"`extends: {_shown(target)}` is not an archscope spec",
            node,
            expected="a mapping with `layers:` (or its own `extends:`)",
            found="another kind of file",
        )
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


def _e012(message: str, node: YNode, **kw: Any) -> SpecError:
    return SpecError([Diagnostic("E012", message, node.span, **kw)])


def _shown(target: str) -> str:
    return target if len(target) <= 80 else target[:60] + "…"


WIDER_ROOT = "a folder above can be allowed with `--extends-root DIR` or `extends-root` in `[tool.archscope]`"


def confined_path(
    target: str,
    node: YNode,
    base_dir: Path | None,
    resolver: Resolver | None,
    extends_root: Path | None = None,
    key: str = "extends",
    wider: str = WIDER_ROOT,
) -> Path:
    """The file ``key: target`` names (``extends:``, a sweep file's ``spec:``), confined: a bundled
    name (or family), or a relative ``.yaml``/``.yml`` path that resolves, links followed, inside
    ``base_dir`` (the folder of the file that names it), or inside ``extends_root`` when one is set.
    Never an absolute path, never a `..` that leaves those folders, never a file of another kind: a
    file linted in CI cannot make archscope read (and echo) files it was not asked to check.
    Refusals are E012 at ``node``; ``wider`` says how a wider folder is allowed."""
    shown, what = _shown(target), "spec" if key == "extends" else "file"
    is_path = target.endswith((".yaml", ".yml")) or "/" in target or "\\" in target
    if is_path and base_dir is not None and not Path(target).is_absolute():
        candidate = base_dir / target
        if is_file(candidate) and target.endswith((".yaml", ".yml")):
            roots = [r for r in (base_dir, extends_root) if r is not None]
            if any(is_inside(candidate, r) for r in roots):
                return candidate
            raise _e012(
                f"`{key}: {shown}` leaves the folder of this {what}",
                node,
                expected="a bundled name, or a path inside "
                + " or ".join(f"`{r}`" for r in roots)
                + " (links followed)",
                found=shown,
                notes=(wider,),
            )
    if Path(target).is_absolute() or (is_path and not target.endswith((".yaml", ".yml"))):
        raise _e012(
            f"`{key}: {shown}` is not a bundled name or a relative path to a `.yaml` spec",
            node,
            expected=f"a bundled name, or a relative `.yaml` path inside the folder of this {what}",
            found=shown,
        )
    found = resolver(target, base_dir) if resolver is not None and "/" not in target and "\\" not in target else None
    if found is None:
        raise _e012(
            f"`{key}: {shown}` names no spec file or bundled spec",
            node,
            expected="a bundled name or a path next to this file",
            found=shown,
        )
    return found


def _read_parent(
    path: Path,
    target: str,
    node: YNode,
    resolver: Resolver | None,
    chain: tuple[str, ...],
    lineage: dict[str, str],
    extends_root: Path | None,
) -> YNode:
    """The parent's YAML (itself extended, its lineage into ``lineage``). Its problems are reported
    at the child's ``extends:`` line, the parent's own place in a note: every diagnostic is in a
    file the user named, and no line of the parent is echoed."""
    try:
        parent = parse_yaml(read_source(path, str(path)), str(path))
        if isinstance(parent, YMap) and "extends" in parent.items:
            diags = Collector()
            real = str(resolved(path) or path)
            parent = _extend(parent, path.parent, resolver, chain + (real,), diags, lineage, extends_root)
            if diags.has_errors:
                raise SpecError(diags.items)
    except SpecError as exc:
        raise SpecError([inherited_at(d, node.span, _shown(target)) for d in exc.diagnostics]) from None
    return parent


def inherited_at(d: Diagnostic, span: Span, target: str) -> Diagnostic:
    """``d`` (located in a parent spec) moved to ``span`` in the child, its own place in a note."""
    if d.span is None:
        return replace(d, span=span)
    return replace(d, span=span, notes=(f"in `extends: {target}`, at {d.span}",) + d.notes)


def relocate_inherited(diags: list[Diagnostic], spec: NetworkSpec) -> list[Diagnostic]:
    """Diagnostics that elaboration located in an ``extends:`` parent, moved into the child: to the
    child's ``params:`` (or ``scale:``) entry whose name the parent's line uses, else to its
    ``extends:`` line; the parent's place becomes a note. A GitHub annotation can then attach."""
    if spec.extends_span is None:
        return diags
    own = {
        name: value.span
        for table in (spec.params, spec.scale)
        for name, (kspan, value) in table.items()
        if kspan.file == spec.file
    }
    out = []
    for d in diags:
        if d.span is None or d.span.file == spec.file:
            out.append(d)
            continue
        words = set(re.findall(r"[A-Za-z_]\w*", _line_at(d.span)))
        used = [name for name in own if name in words]
        at = own[used[0]] if used else spec.extends_span
        out.append(replace(d, span=at, notes=(f"inherited through `extends:`, at {d.span}",) + d.notes))
    return out


def _line_at(span: Span) -> str:
    """The text of ``span``'s line from its column (a parent spec, already read once)."""
    lines = _parent_lines(span.file)
    return lines[span.line - 1][span.col - 1 :] if 1 <= span.line <= len(lines) else ""


@lru_cache(maxsize=16)
def _parent_lines(file: str) -> tuple[str, ...]:
    try:
        return tuple(read_source(Path(file)).splitlines())
    except SpecError:
        return ()


def _merged(parent: YMap, root: YMap, diags: Collector) -> YMap:
    items = dict(parent.items)
    for key, entry in root.items.items():
        if key == "extends" or key in EDIT_KEYS:
            continue
        old = items[key][1] if key in items else None
        if key in MERGED_KEYS and isinstance(old, YMap) and isinstance(entry[1], YMap):
            merged = dict(old.items)
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
        if path.stat().st_size > MAX_BYTES:  # a regular file that large is refused before it is opened
            raise _error("E011", f"the file is larger than {MAX_BYTES // 2**20} MiB", Span(name, 1, 1))
        with path.open("rb") as f:
            data = f.read(MAX_BYTES + 1)  # never more (a device or pipe has no size to ask first)
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

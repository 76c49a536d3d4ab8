"""Sweep files: a sweep too long for the command line, as YAML, with errors located as in specs.

.. code-block:: yaml

    spec: resnet50                 # a bundled name, or a spec file in this file's folder
    grid:                          # the axes: a list, one value, or "LO:HI:STEP" / "LO:HI"
      width: [0.5, 0.75, 1.0]
      resolution: "160:224:32"
    random: 20                     # draw 20 variants instead of the grid (ranges "LO:HI" allowed)
    seed: 1
    sort: macs                     # a metric (archscope.explore.sweep.METRICS)
    pareto: [macs, predicted_ms]   # the two metrics of the Pareto front
    train: true                    # also the peak memory of a training step

A key it does not know or a value of the wrong type is E014; an axis that cannot apply is E015;
a ``spec:`` that leaves the sweep file's folder (an absolute path, a `..`, a link) is E012, as
``extends:`` is, and the file it names is never read.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from archscope.diagnostics import Diagnostic, Span, SpecError
from archscope.explore.sweep import METRICS
from archscope.explore.variants import Axis, AxisError, check_axis, parse_range
from archscope.lang.yamlsrc import parse_yaml
from archscope.lang.ynodes import YMap, YNode, YScalar, YSeq, to_python

KEYS = ("spec", "grid", "random", "seed", "sort", "pareto", "train")
SPEC_ELSEWHERE = "a spec elsewhere is named on the command line: `archscope sweep SPEC --grid KEY=VALUES`"


@dataclass(frozen=True)
class SweepFile:
    spec: str  # as resolved: a path beside the sweep file, or the name as written
    axes: tuple[Axis, ...]
    random: int | None = None
    seed: int = 0
    sort: str | None = None
    pareto: tuple[str, str] | None = None
    train: bool = False
    spec_span: Span | None = None


def read_sweep_text(text: str, file: str) -> SweepFile:
    """The sweep file's settings (axes not yet checked against the spec: :func:`check_axes`);
    raises :class:`SpecError` with every E014/E015 found."""
    from archscope.names import suggest

    root = parse_yaml(text, file)
    if not isinstance(root, YMap):
        raise SpecError([_e14("a sweep file is a mapping of settings", root.span, "a mapping", root.kind)])
    problems: list[Diagnostic] = []
    for key in root.items:
        if key not in KEYS:
            hint = suggest(key, list(KEYS))
            problems.append(
                _e14(
                    f"unknown sweep setting `{key}`" + (f"; did you mean `{hint}`?" if hint else ""),
                    root.key_span(key),
                    ", ".join(KEYS),
                    key,
                )
            )
    spec_node = root.get("spec")
    spec = ""
    if spec_node is None:
        problems.append(Diagnostic("E005", "a sweep file needs `spec:`", root.span, expected="spec: resnet50"))
    elif not isinstance(spec_node, YScalar) or not isinstance(spec_node.value, str) or not spec_node.value:
        problems.append(_e14("`spec` is a spec file or bundled name", spec_node.span, "a name", _kind(spec_node)))
    else:
        spec = _spec_source(spec_node, Path(file).parent, problems)
    random_n = _integer(root, "random", problems, low=1)
    seed = _integer(root, "seed", problems, low=0)
    sort = _metric(root.get("sort"), problems)
    pareto = None
    node = root.get("pareto")
    if node is not None:
        if not isinstance(node, YSeq) or len(node.items) != 2:
            problems.append(
                _e14("`pareto` is two metrics: `[macs, predicted_ms]`", node.span, "two names", _kind(node))
            )
        else:
            names = [name for name in (_metric(item, problems) for item in node.items) if name]
            if len(names) == 2:
                pareto = (names[0], names[1])
    train = False
    node = root.get("train")
    if node is not None:
        if isinstance(node, YScalar) and isinstance(node.value, bool):
            train = node.value
        else:
            problems.append(_e14("`train` is true or false", node.span, "a boolean", _kind(node)))
    axes = _axes(root.get("grid"), problems)
    if problems:
        raise SpecError(problems)
    return SweepFile(spec, tuple(axes), random_n, seed or 0, sort, pareto, train, spec_node.span if spec_node else None)


def example_diagnostics(text: str, file: str = "sweep.yaml") -> list[Diagnostic]:
    """What reading the sweep file ``text`` and checking its axes against its spec reports (the
    examples of E014 and E015 in :mod:`archscope.codes`)."""
    from archscope.explore.sweep import load_source

    try:
        found = read_sweep_text(text, file)
        check_axes(found, load_source(found.spec))
    except SpecError as exc:
        return list(exc.diagnostics)
    return []


def check_axes(sweep: SweepFile, spec: Any) -> None:
    """E015 for every axis of ``sweep`` that cannot apply to ``spec`` (a NetworkSpec)."""
    problems = []
    for axis in sweep.axes:
        try:
            check_axis(axis, spec, sweep.random is not None)
        except AxisError as exc:
            exc = AxisError(str(exc), axis, exc.on_key)
            problems.append(Diagnostic("E015", str(exc), exc.span or axis.span))
    if problems:
        raise SpecError(problems)


def _spec_source(node: YScalar, folder: Path, problems: list[Diagnostic]) -> str:
    """``spec:``'s spec, confined as ``extends:`` is (:func:`archscope.lang.loader.confined_path`): a
    bundled name (kept as written) or a relative ``.yaml`` path inside the sweep file's folder (its
    path). An absolute path, a `..` or a link out of the folder is E012, its target never read."""
    from archscope.lang.bundled import resolve_bundled
    from archscope.lang.loader import confined_path

    name = str(node.value)
    try:
        found = confined_path(name, node, folder, resolve_bundled, key="spec", wider=SPEC_ELSEWHERE)
    except SpecError as exc:
        problems.extend(exc.diagnostics)
        return ""
    return str(found) if found == folder / name else name


def _axes(node: YNode | None, problems: list[Diagnostic]) -> list[Axis]:
    if node is None:
        return []
    if not isinstance(node, YMap):
        problems.append(_e14("`grid` maps each axis to its values", node.span, "a mapping", _kind(node)))
        return []
    axes = []
    for key, (key_span, value) in node.items.items():
        try:
            if isinstance(value, YScalar) and isinstance(value.value, str):
                found = parse_range(key, value.value, value.span)
                found = replace(found, key_span=key_span) if found else None
                axes.append(found or Axis(key, (value.value,), span=value.span, key_span=key_span))
            elif isinstance(value, YSeq) and value.items:
                axes.append(Axis(key, tuple(to_python(v) for v in value.items), span=value.span, key_span=key_span))
            elif isinstance(value, YScalar):
                axes.append(Axis(key, (value.value,), span=value.span, key_span=key_span))
            else:
                problems.append(
                    Diagnostic("E015", f"`{key}`: give a list of values or a range", value.span, found=_kind(value))
                )
        except AxisError as exc:
            problems.append(Diagnostic("E015", str(exc), value.span))
    return axes


def _integer(root: YMap, key: str, problems: list[Diagnostic], low: int) -> int | None:
    node = root.get(key)
    if node is None:
        return None
    value = node.value if isinstance(node, YScalar) else None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        problems.append(_e14(f"`{key}` is an integer ≥ {low}", node.span, f"≥ {low}", _kind(node)))
        return None
    return value


def _metric(node: YNode | None, problems: list[Diagnostic]) -> str | None:
    from archscope.names import suggest

    if node is None:
        return None
    value = node.value if isinstance(node, YScalar) else None
    if value in METRICS:
        return value
    hint = suggest(str(value), list(METRICS)) if isinstance(value, str) else None
    problems.append(
        _e14(
            f"`{value}` is not a metric" + (f"; did you mean `{hint}`?" if hint else ""),
            node.span,
            ", ".join(METRICS),
            _kind(node),
        )
    )
    return None


def _kind(node: YNode) -> str:
    return repr(node.value) if isinstance(node, YScalar) else node.kind


def _e14(message: str, span: Span, expected: str, found: str) -> Diagnostic:
    return Diagnostic("E014", message, span, expected=expected, found=found)

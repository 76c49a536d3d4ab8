"""The library API. Functions return data; they never print and never exit.

>>> import archscope
>>> report = archscope.summarize("resnet18")
>>> report.totals.params
11689512
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .bundled import BundledSpec, bundled, resolve, resolve_path
from .diagnostics import Collector, Diagnostic, Span, SpecError, brief
from .elaborate import dedupe, elaborate
from .graph import Graph
from .report import Report, build_report
from .spec import NetworkSpec, load_spec_file, load_spec_text


class UnknownSpec(SpecError):
    """A name that is neither a file, a bundled spec nor a family."""


def load(source: str | Path) -> NetworkSpec:
    """Parse a spec given by path, bundled name, bundled file name or family name."""
    found = resolve(str(source))
    if found is None and Path(source).is_dir():
        raise UnknownSpec(
            [
                Diagnostic(
                    "E000",
                    f"`{source}` is a folder, not a spec file",
                    Span(str(source), 1, 1),
                    expected="one spec file or bundled name (`archscope lint` checks folders)",
                    found="a folder",
                )
            ]
        )
    if found is None and Path(source).exists():
        raise UnknownSpec(
            [
                Diagnostic(
                    "E000",
                    f"`{source}` is not a regular file (a device, pipe or socket?)",
                    Span(str(source), 1, 1),
                    expected="a spec file",
                    found=str(source),
                )
            ]
        )
    if found is None:
        names = ", ".join(sorted(bundled()))
        raise UnknownSpec(
            [
                Diagnostic(
                    "E000",
                    f"no spec file or bundled spec named `{source}`",
                    Span(str(source), 1, 1),
                    expected="a path to a .yaml file, or one of: " + names,
                    found=str(source),
                )
            ]
        )
    return load_spec_file(found.path, resolver=resolve_path)


@dataclass
class Analysis:
    """Everything archscope knows statically about one spec."""

    source: str
    spec: NetworkSpec | None
    graph: Graph | None
    report: Report | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    note: str | None = None  # e.g. how a family name was resolved

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if not d.is_error]

    @property
    def ok(self) -> bool:
        return not self.errors


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Parsing and elaboration allocate many small objects and no garbage cycles; Python's
    cyclic collector rescanning them made a 100,000-layer spec 3× slower per layer than a
    1,000-layer one. Pause it for the duration and restore the caller's setting."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def analyze(source: str | Path, *, text: str | None = None, resolution: int | list[int] | None = None) -> Analysis:
    """Parse, elaborate, shape-check and cost a spec; check its ``expect:``. Never raises on bad input.

    ``resolution`` replaces the input's spatial size (as ``scale.resolution`` does); the
    ``expect:`` numbers, which are for the spec's own input, are then not checked."""
    with _gc_paused():
        return _analyze(source, text, resolution)


def _with_resolution(spec: NetworkSpec, resolution: int | list[int]) -> NetworkSpec:
    from dataclasses import replace

    from .yamlsrc import YScalar, YSeq

    span = spec.scale["resolution"][0] if "resolution" in spec.scale else spec.span
    value = (
        YScalar(resolution, span) if isinstance(resolution, int) else YSeq([YScalar(r, span) for r in resolution], span)
    )
    return replace(spec, scale={**spec.scale, "resolution": (span, value)}, expect={})


def _analyze(source: str | Path, text: str | None, resolution: int | list[int] | None = None) -> Analysis:
    note = None
    try:
        if text is not None:
            spec = load_spec_text(text, str(source), resolver=resolve_path)
        else:
            found = resolve(str(source))
            note = found.note if found else None
            spec = load(source)
    except SpecError as exc:
        return Analysis(str(source), None, None, None, sorted(dedupe(exc.diagnostics), key=Diagnostic.sort_key))
    if resolution is not None:
        spec = _with_resolution(spec, resolution)
    diags = Collector()
    graph = elaborate(spec, diags)
    report = None
    if graph is not None and not diags.has_errors and graph.output is not None:
        report = build_report(graph, [d for d in diags.items if not d.is_error])
        check_expect(graph, report, diags)
    items = sorted(dedupe(diags.items), key=Diagnostic.sort_key)
    return Analysis(str(source), spec, graph, report, items, note)


def summarize(source: str | Path) -> Report:
    """The report of a spec; raises :class:`SpecError` (with every diagnostic) if it has errors."""
    result = analyze(source)
    if result.report is None or result.errors:
        raise SpecError(result.errors or result.diagnostics)
    return result.report


def check_expect(graph: Graph, report: Report, diags: Collector) -> None:
    """Compare the spec's ``expect:`` numbers with the computed ones (E201)."""
    from .expr import ExprError, evaluate
    from .yamlsrc import YScalar, to_python

    computed = {
        "params": report.totals.params,
        "macs": report.totals.macs,
        "buffers": report.totals.buffers,
        "output": list(report.output_shape),
    }
    for key, (_, node) in graph.expect.items():
        value = to_python(node)
        if isinstance(node, YScalar) and isinstance(value, str):
            try:
                value = evaluate(value.replace("_", ""), {})
            except ExprError:
                pass
        shaped = (
            isinstance(value, list) and bool(value) and all(_is_count(v) for v in value)
            if key == "output"
            else _is_count(value)
        )
        if not shaped:
            what = "a list of sizes such as [1000]" if key == "output" else "a whole number such as 11_689_512"
            diags.error("E004", f"`expect.{key}` must be {what}", node.span, expected=what, found=brief(value))
            continue
        want = computed[key]
        if value != want:

            def show(v: object) -> str:
                return f"{v:,}" if isinstance(v, int) else brief(v)

            diags.error(
                "E201",
                f"expected {key} {show(value)}, computed {show(want)}",
                node.span,
                expected=show(value),
                found=show(want),
            )


def _is_count(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


@dataclass(frozen=True)
class LintResult:
    files: tuple[str, ...]
    analyses: tuple[Analysis, ...]
    usage_errors: tuple[Diagnostic, ...] = ()

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return [d for a in self.analyses for d in a.diagnostics] + list(self.usage_errors)

    @property
    def error_count(self) -> int:
        return sum(d.is_error for d in self.diagnostics)

    @property
    def warning_count(self) -> int:
        return sum(not d.is_error for d in self.diagnostics)


SPEC_SUFFIXES = (".yaml", ".yml")


def collect_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[Diagnostic]]:
    """Expand folders to the spec files inside them (recursively, sorted)."""
    files: list[Path] = []
    problems: list[Diagnostic] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            found = sorted(f for f in path.rglob("*") if f.suffix in SPEC_SUFFIXES and f.is_file())
            if not found:
                problems.append(Diagnostic("E000", "the folder holds no .yaml spec files", Span(str(path), 1, 1)))
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            found = resolve(str(p))
            if found is None and path.exists():
                problems.append(
                    Diagnostic(
                        "E000",
                        "not a regular file (a device, pipe or socket?)",
                        Span(str(p), 1, 1),
                        expected="a spec file or a folder",
                        found=str(p),
                    )
                )
            elif found is None:
                problems.append(
                    Diagnostic("E000", "no such file, folder or bundled spec", Span(str(p), 1, 1), found=str(p))
                )
            else:
                files.append(found.path)
    return files, problems


def lint(paths: Iterable[str | Path], on_file: Callable[[int, int, Path], None] | None = None) -> LintResult:
    """Check every spec under ``paths``: structure, shapes, and ``expect:`` numbers.

    ``on_file(done, total, path)`` is called before each file (for progress displays)."""
    files, problems = collect_files(paths)
    analyses = []
    for i, f in enumerate(files):
        if on_file is not None:
            on_file(i, len(files), f)
        analyses.append(analyze(f))
    return LintResult(tuple(str(f) for f in files), tuple(analyses), tuple(problems))


def list_specs() -> list[BundledSpec]:
    return list(bundled().values())

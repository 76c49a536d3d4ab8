"""The library API. Functions return data; they never print and never exit.

>>> import archscope
>>> report = archscope.summarize("resnet18")
>>> report.totals.params
11689512
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from archscope.diagnostics import Collector, Diagnostic, Span, SpecError
from archscope.elaborate import dedupe, elaborate
from archscope.graph import Graph
from archscope.lang.bundled import BundledSpec, bundled, resolve, resolve_bundled
from archscope.lang.loader import load_spec_file, load_spec_text, relocate_inherited
from archscope.lang.specdata import NetworkSpec
from archscope.limits import layer_limit, suggestion_budget
from archscope.overrides import NONE as NO_OVERRIDES
from archscope.overrides import Overrides
from archscope.passes import DEFAULT as DEFAULT_PASSES
from archscope.passes import Pass, run_pass, run_passes
from archscope.passes.receptive_field import final_dict
from archscope.paths import exists, is_dir, is_file, is_inside
from archscope.results.report import Report, build_report

R = TypeVar("R")


class UnknownSpec(SpecError):
    """A name that is neither a file, a bundled spec nor a family."""


def load(source: str | Path, extends_root: str | Path | None = None) -> NetworkSpec:
    """Parse a spec given by path, bundled name, bundled file name or family name.

    ``extends:`` may name bundled specs and relative ``.yaml`` paths inside the spec's folder, or
    inside ``extends_root`` when given (see :func:`archscope.lang.loader.confined_path`)."""
    found = resolve(str(source))
    if found is None and is_dir(Path(source)):
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
    if found is None and exists(Path(source)):
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
    root = Path(extends_root) if extends_root is not None else None
    return load_spec_file(found.path, resolver=resolve_bundled, extends_root=root)


@dataclass
class Analysis:
    """Everything archscope knows statically about one spec."""

    source: str
    spec: NetworkSpec | None
    graph: Graph | None
    report: Report | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    note: str | None = None  # e.g. how a family name was resolved
    overrides: Overrides = NO_OVERRIDES  # what the caller changed (resolution, params)
    passes: Mapping[str, Any] = field(default_factory=dict)  # each pass's result, by name (`costs`, `expect`)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if not d.is_error]

    @property
    def ok(self) -> bool:
        return not self.errors

    def run_pass(self, p: Pass[R], options: object | None = None) -> R:
        """Run pass ``p`` on the graph, with ``options`` (or its options' defaults): an on-demand
        pass, ``analysis.run_pass(MEMORY_PASS, MemoryOptions(batch=8, train=True))`` (see
        :mod:`archscope.passes`). What it reports joins :attr:`diagnostics`. ``ValueError`` when
        there is no graph (the spec did not load or elaborate)."""
        if self.graph is None:
            raise ValueError(f"`{self.source}` has no graph to run pass `{p.name}` on: it has errors")
        diags = Collector()
        result = run_pass(p, self.graph, diags, options)
        if diags.items:
            self.diagnostics = _finished(self.diagnostics + diags.items)
        return result

    def _repr_html_(self) -> str:
        """A notebook shows the layer table, its totals and the counting convention (or the
        diagnostics, when the spec has errors)."""
        import html

        from archscope.render.html_table import table_html
        from archscope.render.summary import summary_table

        problems = "".join(f"<li>{html.escape(_diagnostic_line(d))}</li>" for d in self.diagnostics)
        listed = f"<ul>{problems}</ul>" if problems else ""
        if self.report is None or self.errors:
            return f"<p>archscope: {html.escape(self.source)} has errors</p>{listed}"
        return table_html(summary_table(self.report), caption=self.report.name) + listed

    def __str__(self) -> str:
        """The terminal table (what ``print(archscope.summary(model, (3, 224, 224)))`` shows)."""
        if self.report is None or self.errors:
            return "\n".join(_diagnostic_line(d) for d in self.diagnostics) or f"{self.source}: no report"
        from archscope.render.emit import OutputFormat, emit
        from archscope.render.summary import summary_table

        return emit(summary_table(self.report), OutputFormat.table)


def _diagnostic_line(d: Diagnostic) -> str:
    from archscope.render.diagnostics import format_text

    return format_text(d, with_source=False, hint=False)


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


def analyze(
    source: str | Path | Any,
    *,
    text: str | None = None,
    input_shape: Sequence[int] | Mapping[str, Sequence[int]] | None = None,
    resolution: int | list[int] | None = None,
    params: Mapping[str, Any] | None = None,
    freeze: Iterable[str] | None = None,
    unfreeze: Iterable[str] | None = None,
    overrides: Overrides | None = None,
    extends_root: str | Path | None = None,
    max_layers: int | None = None,
) -> Analysis:
    """Parse, elaborate, shape-check and cost a spec; check its ``expect:``. Never raises on bad input.

    ``resolution`` replaces the input's spatial size (as ``scale.resolution`` does: an integer is
    height and width, so a video input keeps its frames) and ``params``
    replaces values of the spec's ``params:`` (``params={"num_classes": 10}``); both are shortcuts
    for the fields of ``overrides``. When the network is changed this way, the ``expect:``
    numbers, which are for the spec's own network, are not checked.

    ``freeze`` and ``unfreeze`` are layer-name globs added after the spec's own ``freeze:`` and
    ``unfreeze:`` (every freeze applies first, then every unfreeze; see
    :mod:`archscope.elaborate.freeze`): ``freeze=["*"], unfreeze=["fc"]`` trains only ``fc``. They
    change no count, so ``expect:`` is still checked.

    ``extends_root`` is a folder where ``extends:`` paths may lead besides the spec's own folder.

    ``max_layers`` raises (or lowers) the layer limit, 10,000 by default (:mod:`archscope.limits`);
    a value outside 1..1,000,000 is a ``ValueError``.

    ``source`` may also be a PyTorch ``nn.Module`` (with ``input_shape``, without the batch: ``(3,
    224, 224)``, or a mapping of input names to shapes): it is imported as ``archscope import``
    does (torch.fx; see :mod:`archscope.lang.importers`) and the analysis is that of the spec it
    becomes. A module archscope cannot express gives E301/E302 diagnostics, not an exception."""
    if not isinstance(source, (str, Path)):
        return _analyze_object(source, input_shape)
    given = overrides or NO_OVERRIDES
    if resolution is not None:
        given = replace(given, resolution=tuple(resolution) if isinstance(resolution, list) else resolution)
    if params is not None:
        given = replace(given, params=params)
    if freeze is not None:
        given = replace(given, freeze=(freeze,) if isinstance(freeze, str) else tuple(freeze))
    if unfreeze is not None:
        given = replace(given, unfreeze=(unfreeze,) if isinstance(unfreeze, str) else tuple(unfreeze))
    with layer_limit(max_layers), suggestion_budget(), _gc_paused():
        return _analyze(source, text, given, extends_root)


def _refused(what: str, message: str, expected: str, found: str) -> Analysis:
    return Analysis(f"<{what}>", None, None, None, [Diagnostic("E000", message, expected=expected, found=found)])


def _analyze_object(source: Any, input_shape: Any) -> Analysis:
    """An ``nn.Module`` (imported), or a diagnostic saying what ``analyze`` takes."""
    what = type(source).__name__
    if not (callable(source) and hasattr(source, "named_modules") and hasattr(source, "parameters")):
        message = f"`analyze` takes a spec path, a bundled name or an nn.Module, not a {what}"
        return _refused(what, message, "a path, a name or an nn.Module", what)
    if input_shape is None:
        message = f"analysing a {what} needs its input shape: `input_shape=(3, 224, 224)` (without the batch)"
        return _refused(what, message, "input_shape", "none")
    from archscope.lang.importers.module import import_module

    shapes = {k: tuple(v) for k, v in input_shape.items()} if isinstance(input_shape, Mapping) else tuple(input_shape)
    name = _module_name(what)
    result = import_module(source, shapes, name=name, source=f"<{what}>", analyze=analyze)
    if result.text is None:
        return Analysis(f"<{what}>", None, None, None, list(result.diagnostics))
    analysis = analyze(f"{name}.yaml", text=result.text)
    return replace(analysis, note=f"imported from a {what} (archscope import)")


def _module_name(class_name: str) -> str:
    from archscope.lang.importers.network import Names

    return Names().make(class_name.lower())


def summary(
    source: str | Path | Any, input_shape: Sequence[int] | Mapping[str, Sequence[int]] | None = None
) -> Analysis:
    """The analysis of a spec, a bundled name or an ``nn.Module`` (``archscope.summary(model, (3, 224,
    224))``, as torchinfo's ``summary`` is called): it prints as the layer table, and a notebook shows
    it as an HTML table. Never raises on bad input: see ``.diagnostics``."""
    return analyze(source, input_shape=input_shape)


def _analyze(
    source: str | Path, text: str | None, overrides: Overrides, extends_root: str | Path | None = None
) -> Analysis:
    """The pipeline: text → located spec → graph (with the overrides) → passes → report."""
    note = None
    try:
        if text is not None:
            root = Path(extends_root) if extends_root is not None else None
            spec = load_spec_text(text, str(source), resolver=resolve_bundled, extends_root=root)
        else:
            found = resolve(str(source))
            note = found.note if found else None
            spec = load(source, extends_root)
    except SpecError as exc:
        return Analysis(str(source), None, None, None, _finished(exc.diagnostics), note, overrides)
    return _analyze_spec(spec, overrides, str(source), note)


def analyze_spec(
    spec: NetworkSpec,
    overrides: Overrides = NO_OVERRIDES,
    *,
    source: str | None = None,
    skip: Collection[str] = (),
) -> Analysis:
    """:func:`analyze` of a spec already loaded (by :func:`load`): a sweep parses its spec once and
    elaborates it under many overrides (elaboration reads the spec and never changes it). ``skip``
    names passes not to run (a sweep needs no ``training`` cost): their results are absent."""
    with _gc_paused():
        return _analyze_spec(spec, overrides, source or spec.file, skip=skip)


def _analyze_spec(
    spec: NetworkSpec, overrides: Overrides, source: str, note: str | None = None, skip: Collection[str] = ()
) -> Analysis:
    diags = Collector()
    graph = elaborate(spec, overrides, diags)
    report = None
    results: Mapping[str, Any] = {}
    if graph is not None:
        passes = [
            p for p in DEFAULT_PASSES if not (p.spec_numbers and overrides.changes_network) and p.name not in skip
        ]
        results = run_passes(graph, diags, passes)
        if results["costs"] is not None:
            warnings = [d for d in diags.items if not d.is_error]
            field = results.get("receptive_field")
            report = build_report(
                graph, results["costs"], warnings, results.get("training"), final_dict(field) if field else None
            )
    found = _finished(relocate_inherited(diags.items, spec))
    return Analysis(source, spec, graph, report, found, note, overrides, results)


def _finished(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """Each diagnostic once, in file order."""
    return sorted(dedupe(diagnostics), key=Diagnostic.sort_key)


def summarize(source: str | Path) -> Report:
    """The report of a spec; raises :class:`SpecError` (with every diagnostic) if it has errors."""
    result = analyze(source)
    if result.report is None or result.errors:
        raise SpecError(result.errors or result.diagnostics)
    return result.report


@dataclass(frozen=True)
class LintResult:
    files: tuple[str, ...]
    analyses: tuple[Analysis, ...]
    usage_errors: tuple[Diagnostic, ...] = ()  # about the paths: E000 (cannot be read), E012 (a link out of a folder)

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


def collect_files(
    paths: Iterable[str | Path], extends_root: str | Path | None = None
) -> tuple[list[Path], list[Diagnostic]]:
    """Expand folders to the spec files inside them (recursively, sorted).

    A folder's files are confined as ``extends:`` paths are (:func:`archscope.paths.is_inside`,
    links followed): a link whose target leaves the folder (and ``extends_root``) is E012 at the
    link, and its target is never read: a pull request that commits ``specs/env.yaml ->
    /proc/self/environ`` gets no line of it echoed into the CI log. A file named on the command
    line is read wherever it is: the user asked for it."""
    files: list[Path] = []
    problems: list[Diagnostic] = []
    for p in paths:
        path = Path(p)
        if not str(p):
            problems.append(Diagnostic("E000", "an empty path names no spec", Span("<empty>", 1, 1), found="''"))
        elif is_dir(path):
            found = sorted(f for f in path.rglob("*") if f.suffix in SPEC_SUFFIXES and is_file(f))
            if not found:
                problems.append(Diagnostic("E000", "the folder holds no .yaml spec files", Span(str(path), 1, 1)))
            roots = [path] + ([Path(extends_root)] if extends_root is not None else [])
            for f in found:
                if any(is_inside(f, r) for r in roots):
                    files.append(f)
                else:
                    problems.append(_link_out(f, roots))
        elif is_file(path):
            files.append(path)
        else:
            bundled = resolve(str(p))
            if bundled is None and exists(path):
                problems.append(
                    Diagnostic(
                        "E000",
                        "not a regular file (a device, pipe or socket?)",
                        Span(str(p), 1, 1),
                        expected="a spec file or a folder",
                        found=str(p),
                    )
                )
            elif bundled is None:
                problems.append(
                    Diagnostic("E000", "no such file, folder or bundled spec", Span(str(p), 1, 1), found=str(p))
                )
            else:
                files.append(bundled.path)
    return files, problems


def _link_out(link: Path, roots: list[Path]) -> Diagnostic:
    return Diagnostic(
        "E012",
        "this file is a link that leaves the folder being linted; its target is not read",
        Span(str(link), 1, 1),
        expected="a spec file inside " + " or ".join(f"`{r}`" for r in roots) + " (links followed)",
        found="a link out of the folder",
        notes=("lint the target's own folder, or name the file on the command line, to check it",),
    )


def lint(
    paths: Iterable[str | Path],
    on_file: Callable[[int, int, Path], None] | None = None,
    extends_root: str | Path | None = None,
    max_layers: int | None = None,
) -> LintResult:
    """Check every spec under ``paths``: structure, shapes, and ``expect:`` numbers.

    ``on_file(done, total, path)`` is called before each file (for progress displays)."""
    files, problems = collect_files(paths, extends_root)
    analyses = []
    for i, f in enumerate(files):
        if on_file is not None:
            on_file(i, len(files), f)
        analyses.append(analyze(f, extends_root=extends_root, max_layers=max_layers))
    return LintResult(tuple(str(f) for f in files), tuple(analyses), tuple(problems))


def list_specs() -> list[BundledSpec]:
    return list(bundled().values())

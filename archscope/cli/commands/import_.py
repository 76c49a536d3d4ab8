"""`archscope import SOURCE -o NAME.yaml`: a network people already have, as a spec."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from archscope.cli.backend import backend_errors
from archscope.cli.common import ExitCode, handled, print_diagnostics
from archscope.cli.output import OutputError, write_output
from archscope.cli.overrides import _sizes

SOURCE_HELP = (
    "`py:PACKAGE.MODULE:FACTORY` or `py:FILE.py:FACTORY` (called, must return an nn.Module), `timm:NAME`, "
    "a `torch.save(model)` file (with --trust), an `.onnx` file, or an Ultralytics model `.yaml`."
)


def _inputs(input_: str | None, inputs: list[str] | None) -> dict[str, tuple[int, ...]] | tuple[int, ...] | None:
    if input_ and inputs:
        raise typer.BadParameter("give --input or --inputs, not both", param_hint="--inputs")
    if input_:
        return _sizes("--input", input_)
    if not inputs:
        return None
    out: dict[str, tuple[int, ...]] = {}
    for item in inputs:
        name, sep, shape = item.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"`{item}` is not NAME=C,H,W", param_hint="--inputs")
        out[name] = _sizes("--inputs", shape)
    return out


@handled
@backend_errors
def import_(
    source: Annotated[str, typer.Argument(help=SOURCE_HELP, metavar="SOURCE")],
    output: Annotated[
        str | None,
        typer.Option(
            "--output", "-o", rich_help_panel="Output", metavar="FILE", help="The spec to write (stdout without it)."
        ),
    ] = None,
    input_: Annotated[
        str | None,
        typer.Option(
            "--input",
            rich_help_panel="Source",
            metavar="C,H,W",
            help="The input shape without the batch (timm: from its config).",
        ),
    ] = None,
    inputs: Annotated[
        list[str] | None,
        typer.Option(
            "--inputs",
            rich_help_panel="Source",
            metavar="NAME=C,H,W",
            help="One shape per input of a forward with several.",
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", rich_help_panel="Output", help="The spec's name (default: from the source).")
    ] = None,
    kwargs: Annotated[
        str | None,
        typer.Option(
            "--kwargs",
            rich_help_panel="Source",
            metavar="JSON",
            help="Arguments of the factory: '{\"num_classes\": 10}'.",
        ),
    ] = None,
    scale: Annotated[
        str | None,
        typer.Option(
            "--scale", rich_help_panel="Source", help="Ultralytics YAML: the scale (n, s, m, l, x; default: the first)."
        ),
    ] = None,
    trust: Annotated[
        bool,
        typer.Option(
            "--trust",
            rich_help_panel="Source",
            help="Load a torch.save(model) pickle: it runs code the file names. Only for your own.",
        ),
    ] = False,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify", help="Build the written spec with the source's weights and compare outputs, params and MACs."
        ),
    ] = False,
    flat: Annotated[
        bool, typer.Option("--flat", rich_help_panel="Output", help="One layer per line: no blocks.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", rich_help_panel="Output", help="Replace FILE if it exists.")
    ] = False,
) -> None:
    """Write a network you already have (PyTorch, timm, ONNX, Ultralytics YAML) as an archscope spec.

    SOURCE is a PyTorch module's factory, a timm model, a saved model, an ONNX file or an
    Ultralytics model YAML.

    Every module and call becomes an archscope layer, named after its module path; repeated
    submodules become blocks used ×N. Anything with no archscope equivalent stops the import with
    its place and the nearest op (E301): nothing is counted as zero because it is unknown. The
    spec's `expect:` pins the source's own params and MACs, so `archscope lint` keeps it honest.
    PyTorch sources need the `torch` extra, ONNX files the `export` extra; Ultralytics YAMLs
    need neither.

    Exit codes: 0 written (and verified); 1 parts with no archscope equivalent, a source that
    cannot be traced, or a failed --verify; 2 bad usage, an unreadable source, a pickle without --trust.

    Examples:
      archscope import timm:resnet50d -o resnet50d.yaml --verify
      archscope import yolov8.yaml --scale n -o yolov8n.yaml
    """
    from archscope.lang.importers.run import import_network

    shapes = _inputs(input_, inputs)
    result = import_network(source, inputs=shapes, name=name, kwargs=kwargs, trust=trust, scale=scale, fold=not flat)
    if result.text is None or result.errors:
        print_diagnostics(list(result.diagnostics))
        usage = {"E000", "E303", "E304"}
        raise typer.Exit(ExitCode.USAGE if any(d.code in usage for d in result.errors) else ExitCode.PROBLEMS)
    warnings = [d for d in result.diagnostics if not d.is_error]
    if warnings:
        print_diagnostics(warnings)
    failed = False
    if verify:
        failed = not _verify(result)
    if output is None:
        sys.stdout.write(result.text)
    else:
        try:
            path = write_output(output, result.text, force=force)
        except OutputError as exc:
            print(f"archscope: {exc}", file=sys.stderr)
            raise typer.Exit(ExitCode.USAGE) from None
        print(f"archscope: wrote {path}: {_brief(result)}", file=sys.stderr)
    if failed:
        raise typer.Exit(ExitCode.PROBLEMS)


def _brief(result) -> str:
    analysis = result.stats.get("analysis")
    lines = result.text.count("\n") if result.text else 0
    if analysis is None or analysis.report is None:
        return f"{lines} lines"
    t = analysis.report.totals
    seconds = result.stats.get("seconds")
    took = f", {seconds:.1f} s" if seconds else ""
    return f"{t.layers} layers in {lines} lines, {t.params:,} params, {t.macs:,} MACs{took}"


def _verify(result) -> bool:
    """Print the --verify checks to stderr; True when all pass."""
    module = result.stats.get("module")
    analysis = result.stats.get("analysis")
    if module is None or analysis is None:
        print("archscope: --verify needs a PyTorch source (py:, timm:, a saved model)", file=sys.stderr)
        return False
    from archscope.torch_backend.import_check import ATOL, RTOL, check_import

    shapes = {n.name: n.shape for n in analysis.graph.inputs}
    check = check_import(analysis, module, result.stats["owner"], shapes)
    err = sys.stderr
    for out, diff, allowed in check.outputs:
        mark = "ok" if diff <= allowed else "DIFFERS"
        print(f"verify: output `{out}`: max |spec − source| = {diff:.3g} (allowed {allowed:.3g}) {mark}", file=err)
    print(f"verify: tolerance |a − b| ≤ {RTOL:g}·max|source| + {ATOL:g}, eval mode, batch 2, seed 0", file=err)
    print(
        f"verify: weights loaded into {check.layers_checked - len(check.not_loaded)} of {check.layers_checked} "
        f"layers with parameters or buffers",
        file=err,
    )
    for line in check.not_loaded:
        print(f"verify: `{line}`: the source's weights do not fit this layer", file=err)
    for line in check.param_mismatches:
        print(f"verify: counts differ: {line}", file=err)
    same = "ok" if check.macs == check.reference_macs else "DIFFERS"
    print(
        f"verify: MACs {check.macs:,} (spec) vs {check.reference_macs:,} (FlopCounterMode / 2 on the source) {same}",
        file=err,
    )
    print(f"verify: {'all agree' if check.ok else 'FAILED'}", file=err)
    return check.ok

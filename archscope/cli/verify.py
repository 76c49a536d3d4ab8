"""`archscope verify SPEC|PATH...`: prove the static numbers against the built PyTorch network."""

from __future__ import annotations

import enum
import json
from typing import Annotated

import typer

from .backend import backend_errors
from .common import ExitCode, handled, print_diagnostics, write

SOURCES = (
    "sources: shapes from a forward pass of the whole network (meta or cpu, as marked) and of each layer "
    "alone on cpu; params and buffers from the modules' numel; MACs from fvcore (1 multiply-add = 1)"
)


class VerifyFormat(str, enum.Enum):
    table = "table"
    json = "json"


def _summary_lines(r) -> list[str]:  # noqa: ANN001 - a VerifyReport (torch-backed module, imported late)
    from ..render.numbers import shape

    t = r.totals
    numbers = (
        f"{len(r.layers)} layer{'s' if len(r.layers) != 1 else ''} · input {shape(r.input)} · params {t['params']['static']:,} · "
        f"buffers {t['buffers']['static']:,} · MACs {t['macs']['static']:,}"
    )
    if r.ok:
        lines = [
            f"[green]✓[/green] {r.name}  {numbers} · all agree  [dim]{r.shape_pass.split()[0]}, {r.seconds:.1f} s[/dim]"
        ]
    else:
        bad = r.mismatches
        lines = [f"[red]✗[/red] {r.name}  {numbers} · {len(bad)} disagreement{'s' if len(bad) != 1 else ''}"]
        lines += [f"    {m}" for m in bad[:50]] + ([f"    … and {len(bad) - 50} more"] if len(bad) > 50 else [])
    notes = r.fvcore_notes()
    apart = ", ".join(f"{op} in {n} layer{'s' if n != 1 else ''}" for op, n in notes["counted_apart_layers"].items())
    skipped = ", ".join(f"{op} ×{n}" for op, n in notes["unsupported_calls"].items())
    if apart:
        lines.append(f"    [dim]fvcore also counts (not MACs, kept apart): {apart}[/dim]")
    if skipped:
        lines.append(f"    [dim]fvcore skips (unsupported): {skipped}[/dim]")
    noted: dict[str, list[str]] = {}
    for layer in r.layers:
        for note in layer.notes:
            noted.setdefault(note, []).append(layer.name)
    for note, names in noted.items():
        where = ", ".join(f"`{n}`" for n in names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        lines.append(f"    [dim]note ({where}): {note}[/dim]")
    return lines


def _layer_table(r):  # noqa: ANN001, ANN202
    from ..render.grid import Col, grid
    from ..render.numbers import shape

    cols = [
        Col("layer"),
        Col("op"),
        Col("shape"),
        Col("params", True),
        Col("MACs", True),
        Col("fvcore apart"),
        Col("fvcore skips"),
        Col(""),
    ]
    rows = []
    for layer in r.layers:
        bad = layer.mismatches(r.shape_pass)
        rows.append(
            [
                layer.name,
                layer.op,
                shape(layer.static_shape),
                f"{layer.module_params:,}",
                f"{layer.fvcore_macs:,}" if layer.fvcore_macs is not None else "?",
                " ".join(f"{op}={n:,}" for op, n in layer.fvcore_other) or "·",
                " ".join(f"{op}×{n}" for op, n in layer.unsupported) or "·",
                "✗ " + "; ".join(m.quantity for m in bad) if bad else "✓",
            ]
        )
    return grid(cols, rows, title=f"{r.name}: measured values (each equals the static one where marked ✓)")


@handled
@backend_errors
def verify(
    paths: Annotated[list[str], typer.Argument(help="Spec files, folders (searched for .yaml), or bundled names.")],
    fmt: Annotated[VerifyFormat, typer.Option("--format", "-f", help="Output format.")] = VerifyFormat.table,
    layers: Annotated[bool, typer.Option("--layers", "-l", help="Print every layer's measured numbers.")] = False,
    resolution: Annotated[
        int | None, typer.Option("--resolution", "-r", min=1, help="Verify at this input size instead of the spec's.")
    ] = None,
) -> None:
    """Build each network and check every layer: static output shape = a real forward pass,
    static params = the module's numel, static MACs = fvcore's count.

    What fvcore counts besides multiply-adds (BN, pooling) and the ops it does not support are
    listed per spec, never mixed into the comparison. Needs the `torch` extra.
    Exit codes: 0 all agree; 1 a disagreement or a spec error; 2 bad usage, torch missing.
    """
    from ..api import analyze, collect_files
    from ..render.console import console
    from ..torch_backend import verify as run_verify

    files, problems = collect_files(paths)
    if problems:
        print_diagnostics(problems)
        raise typer.Exit(ExitCode.USAGE)
    out = console()
    reports, failed = [], False
    for path in files:
        analysis = analyze(path)
        if analysis.errors or analysis.report is None:
            print_diagnostics(analysis.errors or analysis.diagnostics)
            failed = True
            continue
        report = run_verify(path, resolution=resolution) if resolution else run_verify(analysis)
        reports.append(report)
        failed |= not report.ok
        if fmt is VerifyFormat.table:
            if layers:
                out.print(_layer_table(report))
            for line in _summary_lines(report):
                out.print(line, highlight=False)
    if fmt is VerifyFormat.json:
        write(json.dumps([r.to_dict() for r in reports], indent=2))
    elif reports:
        out.print(f"[dim]{SOURCES}[/dim]", highlight=False)
        if len(files) > 1:
            ok = sum(r.ok for r in reports)
            out.print(f"{ok} of {len(files)} specs verified" + ("" if ok == len(files) else "; see ✗ above"))
    if failed:
        raise typer.Exit(ExitCode.PROBLEMS)

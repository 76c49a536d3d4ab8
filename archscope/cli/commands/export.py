"""`archscope export SPEC --to onnx|pytorch -o FILE`: the network as an ONNX file, or as a
standalone PyTorch source file."""

from __future__ import annotations

import enum
import sys
from typing import Annotated

import typer

from archscope.cli.backend import backend_errors
from archscope.cli.common import ExitCode, ExtendsRootOpt, MaxLayersOpt, exit_for, handled, print_diagnostics
from archscope.cli.output import OutputError, write_output
from archscope.cli.overrides import InputOpt, ResolutionOpt, SetOpt, overrides_from


class Target(str, enum.Enum):
    onnx = "onnx"
    pytorch = "pytorch"


@handled
@backend_errors
def export(
    spec: Annotated[str, typer.Argument(help="A spec file, a bundled name (`resnet50`) or a family (`resnet`).")],
    to: Annotated[Target, typer.Option("--to", "-t", help="What to write: an ONNX model, or PyTorch source.")],
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            rich_help_panel="Output",
            metavar="FILE",
            help="The file to write (PyTorch source: stdout without it).",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", rich_help_panel="Output", help="Replace FILE if it exists.")
    ] = False,
    resolution: ResolutionOpt = None,
    input_: InputOpt = None,
    set_: SetOpt = None,
    extends_root: ExtendsRootOpt = None,
    max_layers: MaxLayersOpt = None,
) -> None:
    """Write the network as an ONNX model or as a standalone PyTorch source file.

    ONNX: `torch.onnx.export`, checked by `onnx.checker`. PyTorch: an `nn.Module` that needs only
    torch; `build()`'s state_dict loads into it.

    FILE is written whole or not at all; an existing FILE is replaced only with --force.
    Needs the `torch` extra, and for ONNX the `export` extra.
    Exit codes: 0 written; 1 a spec error, or a network no exporter takes; 2 bad usage, a FILE that cannot be written, torch or onnx missing.

    Examples:
      archscope export resnet50 --to onnx -o resnet50.onnx
      archscope export lenet5 --to pytorch -o lenet5.py
    """
    from archscope.api import analyze

    if to is Target.onnx and output is None:
        print("archscope: an ONNX model is binary: give the file to write with -o FILE", file=sys.stderr)
        raise typer.Exit(ExitCode.USAGE)
    analysis = analyze(
        spec, overrides=overrides_from(resolution, input_, set_), extends_root=extends_root, max_layers=max_layers
    )
    if analysis.errors or analysis.report is None or analysis.graph is None:
        print_diagnostics(analysis.errors or analysis.diagnostics)
        raise typer.Exit(exit_for(analysis.errors or analysis.diagnostics))
    if to is Target.pytorch:
        from archscope.torch_backend.export import pytorch_source

        source = pytorch_source(analysis, spec)
        if output is None:
            sys.stdout.write(source)
            return
        data: str | bytes = source
    else:
        from archscope.torch_backend.export_onnx import onnx_model

        data = onnx_model(analysis, spec)
    assert output is not None  # refused above for ONNX; PyTorch source without it went to stdout
    try:
        path = write_output(output, data, force=force)
    except OutputError as exc:
        print(f"archscope: {exc}", file=sys.stderr)
        raise typer.Exit(ExitCode.USAGE) from None
    size = len(data.encode("utf-8") if isinstance(data, str) else data)
    print(f"archscope: wrote {path} ({_size(size)})", file=sys.stderr)


def _size(n: float) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError

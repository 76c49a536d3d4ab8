"""`archscope memory SPEC`: peak memory of inference or of a training step (static: no torch)."""

from __future__ import annotations

import enum
from typing import Annotated

import typer

from archscope.api import analyze
from archscope.cli.commands.bench import DType
from archscope.cli.common import (
    ExitCode,
    ExtendsRootOpt,
    MaxLayersOpt,
    exit_for,
    format_option,
    handled,
    print_diagnostics,
    write_table,
)
from archscope.cli.freezing import FreezeOpt, UnfreezeOpt, freezing
from archscope.cli.overrides import InputOpt, ResolutionOpt, SetOpt, overrides_from
from archscope.render.emit import TABLE_FORMATS, OutputFormat


class Optimizer(str, enum.Enum):
    sgd = "sgd"
    momentum = "momentum"
    adam = "adam"
    adamw = "adamw"


@handled
def memory(
    spec: Annotated[str, typer.Argument(help="A spec file, a bundled name (`resnet50`) or a family (`resnet`).")],
    batch: Annotated[int, typer.Option("--batch", "-b", min=1, help="Batch size.")] = 1,
    dtype: Annotated[
        DType, typer.Option("--dtype", help="Data type of the weights and activations (int64 indices stay 8 bytes).")
    ] = DType.float32,
    train: Annotated[
        bool, typer.Option("--train", help="A training step (forward, backward, optimizer step), not inference.")
    ] = False,
    optimizer: Annotated[
        Optimizer,
        typer.Option(
            "--optimizer",
            help="With --train: plain `sgd` keeps no state, `momentum` one tensor per parameter, `adam`/`adamw` two.",
        ),
    ] = Optimizer.sgd,
    depth: Annotated[
        int | None,
        typer.Option(
            "--depth",
            "-d",
            min=1,
            help="Collapse layers to this many levels of the dotted name (sums of bytes allocated and kept, "
            "the largest live total).",
        ),
    ] = None,
    fmt: Annotated[
        OutputFormat, format_option(*TABLE_FORMATS, help="Output format (JSON has every layer, whatever --depth).")
    ] = OutputFormat.table,
    freeze: FreezeOpt = None,
    unfreeze: UnfreezeOpt = None,
    resolution: ResolutionOpt = None,
    input_: InputOpt = None,
    set_: SetOpt = None,
    extends_root: ExtendsRootOpt = None,
    max_layers: MaxLayersOpt = None,
) -> None:
    """Peak memory of an inference pass, or of a training step with --train, and the layer where it happens.

    Replays the step over the graph: each tensor lives until its last consumer, or, in training,
    until backward has used what autograd keeps (each op declares it: a conv its input, batch norm
    its input and statistics, ReLU its output); in-place layers and views allocate nothing. Adds
    the weights and, in training, the gradients of the trainable parameters (honours --freeze)
    and the optimizer's state. Checked against PyTorch's MemTracker (see the README).

    Example:
      archscope memory resnet50 --train --optimizer adam --batch 64 --depth 1
    """
    from archscope.passes.memory import MEMORY_PASS, MemoryOptions
    from archscope.render.memory import memory_table

    if not train and optimizer is not Optimizer.sgd:
        typer.echo("archscope: error: `--optimizer` needs `--train` (inference keeps no optimizer state)", err=True)
        raise typer.Exit(ExitCode.USAGE)
    result = analyze(
        spec,
        overrides=freezing(freeze, unfreeze, overrides_from(resolution, input_, set_)),
        extends_root=extends_root,
        max_layers=max_layers,
    )
    if result.report is None or result.graph is None:
        print_diagnostics(result.diagnostics)
        raise typer.Exit(exit_for(result.diagnostics))
    print_diagnostics(result.diagnostics)
    if result.errors:
        raise typer.Exit(ExitCode.PROBLEMS)
    options = MemoryOptions(batch=batch, dtype=dtype.value, train=train, optimizer=optimizer.value)
    write_table(memory_table(result.report, result.run_pass(MEMORY_PASS, options), depth, result.note), fmt)

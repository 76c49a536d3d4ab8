"""What the picture commands share: `-o FILE`/`--force`, usage errors, and the `--plot FILE` of summary and compare."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from archscope.cli.common import ExitCode

OutputOpt = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        rich_help_panel="Output",
        help="Write to this file (atomically; an existing file only with --force).",
    ),
]
ForceOpt = Annotated[bool, typer.Option("--force", rich_help_panel="Output", help="Replace the -o file if it exists.")]
PlotOpt = Annotated[
    str | None,
    typer.Option(
        "--plot",
        rich_help_panel="Output",
        metavar="FILE",
        help="Also write a chart to FILE.svg or FILE.png (needs the plot extra).",
    ),
]
PlotForceOpt = Annotated[
    bool, typer.Option("--force", rich_help_panel="Output", help="Replace the --plot file if it exists.")
]


def check_plot(path: str | None, force: bool) -> str | None:
    """The chart format of ``--plot FILE`` (``svg``/``png``), checked before any work (as is an existing
    file without --force); a usage error otherwise."""
    if path is None:
        return None
    from archscope.render.plots import PlotError, plot_format

    try:
        fmt = plot_format(path)
    except PlotError as exc:
        raise usage_error(str(exc)) from None
    if Path(path).is_file() and not force:
        raise usage_error(f"{path}: the file exists; pass --force to replace it")
    return fmt


def write_plot(make: Callable[[], bytes], path: str, force: bool) -> None:
    """``make()`` → the chart's bytes, written to ``path``; a missing matplotlib is a usage error."""
    from archscope.cli.output import write_output
    from archscope.render.plots import PlotError

    try:
        data = make()
    except PlotError as exc:
        raise usage_error(str(exc)) from None
    write_output(path, data, force=force)


def usage_error(message: str) -> typer.Exit:
    typer.echo(f"archscope: error: {message}", err=True)
    return typer.Exit(ExitCode.USAGE)

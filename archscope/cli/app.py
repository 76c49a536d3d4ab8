"""The `archscope` command: typer wiring only; each subcommand lives in its own module."""

from __future__ import annotations

from typing import Annotated

import typer

from .. import __version__
from . import bench, compare, lint, listing, summary, verify
from .common import set_debug

app = typer.Typer(
    name="archscope",
    help="Understand, check and compare convolutional network architectures written as YAML specs.\n\n"
    "Static commands (summary, lint, compare, list, ops, schema) never import torch; "
    "build, verify and bench need the `torch` extra.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"archscope {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    no_color: Annotated[bool, typer.Option("--no-color", help="No colours (NO_COLOR is honoured too).")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    from ..render.console import set_no_color

    set_no_color(no_color)
    set_debug(debug)


app.command("summary")(summary.summary)
app.command("lint")(lint.lint)
app.command("compare")(compare.compare)
app.command("list")(listing.list_)
app.command("ops")(listing.ops)
app.command("schema")(listing.schema)
app.command("verify")(verify.verify)
app.command("bench")(bench.bench)


def main() -> None:
    app()

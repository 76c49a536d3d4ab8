"""The `archscope` command: typer wiring only; each subcommand lives in its own module."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperGroup, TyperOption

from .. import __version__
from . import (
    bench,
    calibrate,
    compare,
    conventions,
    draw,
    explain,
    export,
    field,
    lint,
    listing,
    memory,
    predict,
    report,
    summary,
    sweep,
    verify,
)
from .common import set_debug


def _set_no_color(ctx: Any, param: Any, value: bool) -> None:
    if value:
        from ..render.console import set_no_color

        set_no_color(True)


def _set_debug(ctx: Any, param: Any, value: bool) -> None:
    if value:
        set_debug(True)


# The global options, accepted after the command too (`archscope ops --no-color`), as users type them.
GLOBAL_OPTIONS = (
    ("--no-color", "No colours (NO_COLOR is honoured too).", _set_no_color),
    ("--debug", "Show tracebacks of internal errors.", _set_debug),
)


class _Group(TyperGroup):
    """Adds the global options to every command, so they work before or after its name."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            have = {opt for p in command.params for opt in getattr(p, "opts", ())}
            for flag, help_text, callback in GLOBAL_OPTIONS:
                if flag not in have:
                    command.params.append(
                        TyperOption(
                            param_decls=[flag],
                            is_flag=True,
                            default=False,
                            expose_value=False,
                            is_eager=True,
                            callback=callback,
                            help=help_text,
                        )
                    )
        return command


app = typer.Typer(
    name="archscope",
    cls=_Group,
    help="Understand, check and compare convolutional network architectures written as YAML specs.\n\n"
    "Every diagnostic has a code: `archscope explain CODE` says what it means and how to fix it.\n\n"
    "Static commands (summary, rf, memory, predict, sweep, conventions, draw, lint, compare, list, ops, schema) "
    "never import torch (sweep unless --bench); build, verify, bench, calibrate and export need the `torch` extra.",
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
app.command("rf")(field.rf)
app.command("memory")(memory.memory)
app.command("draw")(draw.draw)
app.command("report")(report.report)
app.command("conventions")(conventions.conventions)
app.command("list")(listing.list_)
app.command("ops")(listing.ops)
app.command("schema")(listing.schema)
app.command("explain")(explain.explain_command)
app.command("verify")(verify.verify)
app.command("bench")(bench.bench)
app.command("calibrate")(calibrate.calibrate)
app.command("predict")(predict.predict)
app.command("export")(export.export)
app.command("sweep")(sweep.sweep)


def main() -> None:
    from .interrupt import install

    install()  # again, for callers of this function (the `archscope` command installs it before importing)
    app()

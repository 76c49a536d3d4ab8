"""The `archscope` command: typer wiring only; each subcommand lives in its own module.

The command line imports only the module of the command it runs (``archscope summary`` never
imports `bench`'s or `report`'s): :func:`main` registers that one command, or all of them when
no known command is named (``--help``, a typo). ``app``, the whole application, is built on
first use (``from archscope.cli.app import app``, as the tests do)."""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Iterable
from typing import Annotated, Any

import typer
from typer.core import TyperGroup, TyperOption

from archscope import __version__
from archscope.cli.common import set_debug

# name → (module in archscope.cli.commands, function, panel of `archscope --help`): the order of `archscope --help`,
# each panel's commands together (a panel is listed where its first command is)
COMMANDS = {
    "summary": ("summary", "summary", "Analyse"),
    "lint": ("lint", "lint", "Analyse"),
    "compare": ("compare", "compare", "Analyse"),
    "rf": ("rf", "rf", "Analyse"),
    "memory": ("memory", "memory", "Analyse"),
    "predict": ("predict", "predict", "Analyse"),
    "conventions": ("conventions", "conventions", "Analyse"),
    "draw": ("draw", "draw", "Pictures"),
    "report": ("report", "report", "Pictures"),
    "verify": ("verify", "verify", "PyTorch"),
    "bench": ("bench", "bench", "PyTorch"),
    "calibrate": ("calibrate", "calibrate", "PyTorch"),
    "export": ("export", "export", "PyTorch"),
    "import": ("import_", "import_", "PyTorch"),
    "sweep": ("sweep", "sweep", "Explore"),
    "list": ("list_", "list_", "Reference"),
    "ops": ("ops", "ops", "Reference"),
    "schema": ("schema", "schema", "Reference"),
    "explain": ("explain", "explain_command", "Reference"),
}


def _set_no_color(ctx: Any, param: Any, value: bool) -> None:
    if value:
        from archscope.render.console import set_no_color

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


def _version(value: bool) -> None:
    if value:
        print(f"archscope {__version__}")
        raise typer.Exit()


def main_options(
    no_color: Annotated[bool, typer.Option("--no-color", help="No colours (NO_COLOR is honoured too).")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    from archscope.render.console import set_no_color

    set_no_color(no_color)
    set_debug(debug)


def command_help(doc: str) -> str:
    """A command's docstring as its ``--help``: the first line is the summary of the command list;
    each later paragraph becomes one line, for rich to wrap at the terminal's width (typer's rich mode
    keeps a docstring's line breaks, which break mid-sentence on a narrow terminal), except an
    ``Example:`` or ``Examples:`` paragraph, whose lines are commands, kept as written."""
    first, *rest = inspect.cleandoc(doc).split("\n\n")
    flow = [p if p.startswith("Example") else " ".join(line.strip() for line in p.splitlines()) for p in rest]
    return "\n\n".join([first, *flow])


def build_app(names: Iterable[str] | None = None) -> typer.Typer:
    """The application with the commands ``names`` (all of :data:`COMMANDS` when None)."""
    application = typer.Typer(
        name="archscope",
        cls=_Group,
        help="Understand, check and compare convolutional network architectures written as YAML specs.\n\n"
        "Every diagnostic has a code: `archscope explain CODE` says what it means and how to fix it.\n\n"
        "The PyTorch commands need the `torch` extra (`import` only for PyTorch sources); the others never "
        "import torch (`compare`, `report` and `sweep` unless --bench).",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    application.callback()(main_options)
    for name in COMMANDS if names is None else names:
        module, function, panel = COMMANDS[name]
        command = getattr(importlib.import_module(f"{__package__}.commands.{module}"), function)
        application.command(name, help=command_help(command.__doc__ or ""), rich_help_panel=panel)(command)
    return application


def requested(argv: list[str]) -> str | None:
    """The command ``argv`` names (its first word that is not a global option), if it is one of ours."""
    for word in argv:
        if word in ("--no-color", "--debug"):
            continue
        return word if word in COMMANDS else None
    return None


def __getattr__(name: str) -> Any:
    if name == "app":  # the whole application, built once, on first use
        application = build_app()
        globals()["app"] = application
        return application
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    from archscope.cli.interrupt import install

    install()  # again, for callers of this function (the `archscope` command installs it before importing)
    command = requested(sys.argv[1:])
    # the named command alone; none for `--version`; every one for `--help` or an unknown name
    build_app([command] if command else [] if sys.argv[1:2] == ["--version"] else None)()

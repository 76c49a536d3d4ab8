"""The `archscope` command: typer wiring only; each subcommand lives in its own module.

The command line imports only the module of the command it runs (``archscope summary`` never
imports `bench`'s or `report`'s): :func:`main` registers that one command, or all of them when
no known command is named (``--help``, a typo). ``app``, the whole application, is built on
first use (``from archscope.cli.app import app``, as the tests do)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable
from typing import Annotated, Any

import typer
from typer.core import TyperGroup, TyperOption

from .. import __version__
from .common import set_debug

# name → (module in archscope.cli, function): the order of `archscope --help`
COMMANDS = {
    "summary": ("summary", "summary"),
    "lint": ("lint", "lint"),
    "compare": ("compare", "compare"),
    "rf": ("field", "rf"),
    "memory": ("memory", "memory"),
    "draw": ("draw", "draw"),
    "report": ("report", "report"),
    "conventions": ("conventions", "conventions"),
    "list": ("listing", "list_"),
    "ops": ("listing", "ops"),
    "schema": ("listing", "schema"),
    "explain": ("explain", "explain_command"),
    "verify": ("verify", "verify"),
    "bench": ("bench", "bench"),
    "calibrate": ("calibrate", "calibrate"),
    "predict": ("predict", "predict"),
    "export": ("export", "export"),
    "import": ("importing", "import_"),
    "sweep": ("sweep", "sweep"),
}


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
    from ..render.console import set_no_color

    set_no_color(no_color)
    set_debug(debug)


def build_app(names: Iterable[str] | None = None) -> typer.Typer:
    """The application with the commands ``names`` (all of :data:`COMMANDS` when None)."""
    application = typer.Typer(
        name="archscope",
        cls=_Group,
        help="Understand, check and compare convolutional network architectures written as YAML specs.\n\n"
        "Every diagnostic has a code: `archscope explain CODE` says what it means and how to fix it.\n\n"
        "Static commands (summary, rf, memory, predict, sweep, conventions, draw, lint, compare, list, ops, "
        "schema) never import torch (sweep unless --bench); build, verify, bench, calibrate and export need the "
        "`torch` extra.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    application.callback()(main_options)
    for name in COMMANDS if names is None else names:
        module, function = COMMANDS[name]
        application.command(name)(getattr(importlib.import_module(f"{__package__}.{module}"), function))
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
    from .interrupt import install

    install()  # again, for callers of this function (the `archscope` command installs it before importing)
    command = requested(sys.argv[1:])
    # the named command alone; none for `--version`; every one for `--help` or an unknown name
    build_app([command] if command else [] if sys.argv[1:2] == ["--version"] else None)()

"""What every command shares: exit codes, the error handler, the format option, output."""

from __future__ import annotations

import enum
import functools
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from ..diagnostics import Diagnostic, SpecError
from ..render.emit import OutputFormat, emit
from ..table import Table

F = TypeVar("F", bound=Callable[..., Any])


class ExitCode(enum.IntEnum):
    OK = 0  # clean
    PROBLEMS = 1  # errors found in the input (or warnings, with --strict)
    USAGE = 2  # bad command line, or input that cannot be read
    INTERNAL = 3  # a bug in archscope


_debug = {"on": bool(os.environ.get("ARCHSCOPE_DEBUG"))}


def set_debug(on: bool) -> None:
    _debug["on"] = on


def print_diagnostics(diags: list[Diagnostic], stream=None) -> None:
    from ..render.diagnostics import format_text

    stream = stream or sys.stderr
    for d in diags:
        print(format_text(d), file=stream)


def exit_for(diags: list[Diagnostic]) -> ExitCode:
    if any(d.code == "E000" for d in diags):
        return ExitCode.USAGE
    return ExitCode.PROBLEMS if any(d.is_error for d in diags) else ExitCode.OK


def handled(fn: F) -> F:
    """Expected errors become located messages; anything else is an internal error."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except SpecError as exc:
            print_diagnostics(exc.diagnostics)
            raise typer.Exit(exit_for(exc.diagnostics)) from None
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            raise typer.Exit(130) from None
        except BrokenPipeError:
            raise typer.Exit(ExitCode.OK) from None
        except Exception as exc:  # noqa: BLE001 - the one place that catches everything
            if _debug["on"]:
                traceback.print_exc()
            else:
                print(
                    f"archscope: internal error: {type(exc).__name__}: {exc}\n"
                    "run again with --debug for the traceback, and please report it",
                    file=sys.stderr,
                )
            raise typer.Exit(ExitCode.INTERNAL) from None

    return wrapper  # type: ignore[return-value]


ExtendsRootOpt = Annotated[
    Path | None,
    typer.Option(
        "--extends-root",
        metavar="DIR",
        exists=True,
        file_okay=False,
        help="A folder that `extends:` paths may lead into, besides each spec's own folder.",
    ),
]


def write(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def format_option(*accepted: OutputFormat, help: str = "Output format.") -> Any:
    """``--format/-f`` over the CLI's one :class:`OutputFormat`, limited to ``accepted`` (as
    ``--help`` shows); any other member is a usage error."""
    names = [f.value for f in accepted]

    def check(value: OutputFormat) -> OutputFormat:
        if value not in accepted:
            raise typer.BadParameter(f"`{value.value}` is not a format of this command: {', '.join(names)}")
        return value

    return typer.Option("--format", "-f", metavar="[" + "|".join(names) + "]", callback=check, help=help)


def terminal_width() -> int:
    """The terminal's width; off a terminal, ``COLUMNS`` or 160 (as the rich consoles use)."""
    if sys.stdout.isatty():
        import shutil

        return shutil.get_terminal_size().columns
    try:
        return int(os.environ.get("COLUMNS", "160"))
    except ValueError:
        return 160


def write_table(table: Table, fmt: OutputFormat, exact: bool = False) -> None:
    """Emit ``table`` in ``fmt`` on stdout (colours only on a terminal, as :func:`use_color` says)."""
    color = False
    if fmt is OutputFormat.table:
        from ..render.grid import use_color

        color = use_color()
    write(emit(table, fmt, exact=exact, color=color, width=terminal_width()))

"""What every command shares: exit codes, the error handler, the format option, output."""

from __future__ import annotations

import enum
import errno
import functools
import io
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, ParamSpec

import typer

from archscope.cli.output import OutputError  # stdout and `-o FILE` write errors alike
from archscope.diagnostics import Diagnostic, SpecError
from archscope.render.emit import OutputFormat, emit
from archscope.results.table import Table

P = ParamSpec("P")


class ExitCode(enum.IntEnum):
    OK = 0  # clean
    PROBLEMS = 1  # errors found in the input (or warnings, with --strict)
    USAGE = 2  # bad command line, or input that cannot be read
    INTERNAL = 3  # a bug in archscope


_debug = {"on": bool(os.environ.get("ARCHSCOPE_DEBUG"))}


def set_debug(on: bool) -> None:
    _debug["on"] = on


def print_diagnostics(diags: list[Diagnostic], stream=None) -> None:
    from archscope.render.diagnostics import format_text

    stream = stream or sys.stderr
    for d in diags:
        print(format_text(d), file=stream)


def exit_for(diags: list[Diagnostic]) -> ExitCode:
    if any(d.code == "E000" for d in diags):
        return ExitCode.USAGE
    return ExitCode.PROBLEMS if any(d.is_error for d in diags) else ExitCode.OK


# errors of a write to standard output that are the destination's, not archscope's
_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EIO, errno.EFBIG, errno.EDQUOT, errno.EPIPE, errno.EBADF}


def _discard_stdout() -> None:
    """Send what is still buffered, and anything written later, to /dev/null: after a broken pipe
    or a full disk the command goes on to its exit status, and Python's own flush at exit has
    nothing to complain about."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):  # not a real file (tests)
        pass


def _flush_stdout() -> None:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _discard_stdout()  # the reader left (`| head -1`): not an error of ours, nor a success
    except OSError as exc:
        _discard_stdout()
        raise OutputError(f"cannot write the output: {exc.strerror or exc}") from None


def handled(fn: Callable[P, object]) -> Callable[P, None]:
    """Expected errors become located messages; anything else is an internal error.

    The exit status is the command's own, whatever happens to standard output: a reader that
    leaves early (`archscope lint bad.yaml | head -1`) does not turn failure into success (output
    is discarded and the command finishes), a full disk is an output error (exit 2), Ctrl-C is
    130 (see :mod:`archscope.cli.interrupt`)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        from archscope.cli.interrupt import EXIT_INTERRUPTED, exit_if_busy, interrupted_message, raising

        code: int = ExitCode.OK
        try:
            with raising():
                try:
                    fn(*args, **kwargs)
                finally:
                    _flush_stdout()
        except typer.Exit as exc:
            code = exc.exit_code
        except (typer.Abort, SystemExit):
            raise
        except SpecError as exc:
            print_diagnostics(exc.diagnostics)
            code = exit_for(exc.diagnostics)
        except KeyboardInterrupt:
            interrupted_message()
            exit_if_busy()
            code = EXIT_INTERRUPTED
        except BrokenPipeError:
            _discard_stdout()
            code = ExitCode.PROBLEMS  # the command's own status is unknown: never report success
        except OutputError as exc:  # stdout or `-o FILE` cannot be written: not the spec, not a bug
            print(f"archscope: error: {exc}", file=sys.stderr)
            code = ExitCode.USAGE
        except OSError as exc:
            if exc.errno not in _OUTPUT_ERRNOS:
                code = _internal(exc)
            else:
                _discard_stdout()
                print(f"archscope: error: cannot write the output: {exc.strerror or exc}", file=sys.stderr)
                code = ExitCode.USAGE
        except Exception as exc:  # noqa: BLE001 - the one place that catches everything
            code = _internal(exc)
        try:
            _flush_stdout()  # what the handlers above wrote
        except OutputError:
            code = max(code, ExitCode.USAGE)
        raise typer.Exit(code)

    return wrapper


def _internal(exc: BaseException) -> int:
    if _debug["on"]:
        traceback.print_exception(exc)
    else:
        print(
            f"archscope: internal error: {type(exc).__name__}: {exc}\n"
            "run again with --debug for the traceback, and please report it",
            file=sys.stderr,
        )
    return ExitCode.INTERNAL


ExtendsRootOpt = Annotated[
    Path | None,
    typer.Option(
        "--extends-root",
        rich_help_panel="Limits",
        metavar="DIR",
        exists=True,
        file_okay=False,
        help="A folder that `extends:` paths may lead into, besides each spec's own folder.",
    ),
]


MaxLayersOpt = Annotated[
    int | None,
    typer.Option(
        "--max-layers",
        rich_help_panel="Limits",
        metavar="N",
        min=1,
        max=1_000_000,
        help="The most layers a graph may have (default 10,000; ResNet-1202 has 4,210): a safety limit for "
        "untrusted input, E011 above it.",
    ),
]


def write(text: str) -> None:
    """A line (or lines) on standard output. A reader that has gone (a broken pipe) is not an error:
    the rest is discarded and the command finishes with its own exit status."""
    try:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    except BrokenPipeError:
        _discard_stdout()
    except OSError as exc:
        _discard_stdout()
        raise OutputError(f"cannot write the output: {exc.strerror or exc}") from None


JsonFlag = Annotated[bool, typer.Option("--json", help="Same as --format json.")]


def format_option(*accepted: OutputFormat, help: str = "Output format.") -> Any:
    """``--format/-f`` over the CLI's one :class:`OutputFormat`, limited to ``accepted`` (as
    ``--help`` shows); any other member is a usage error."""
    names = [f.value for f in accepted]

    def check(value: OutputFormat) -> OutputFormat:
        if value not in accepted:
            raise typer.BadParameter(f"`{value.value}` is not a format of this command: {', '.join(names)}")
        return value

    return typer.Option(
        "--format", "-f", rich_help_panel="Output", metavar="[" + "|".join(names) + "]", callback=check, help=help
    )


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
        from archscope.render.grid import use_color

        color = use_color()
    write(emit(table, fmt, exact=exact, color=color, width=terminal_width()))

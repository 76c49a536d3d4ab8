"""`archscope lint PATH...`: check specs in CI, with exit codes and file:line:col diagnostics."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from ..api import lint as run_lint
from ..render.emit import OutputFormat
from .common import ExitCode, format_option, handled

LINT_FORMATS = (OutputFormat.auto, OutputFormat.text, OutputFormat.concise, OutputFormat.github, OutputFormat.json)


@handled
def lint(
    paths: Annotated[
        list[str], typer.Argument(help="Spec files or folders (searched recursively for .yaml), or bundled names.")
    ],
    fmt: Annotated[
        OutputFormat, format_option(*LINT_FORMATS, help="`auto` is `github` inside GitHub Actions, else `text`.")
    ] = OutputFormat.auto,
    strict: Annotated[bool, typer.Option("--strict", help="Warnings fail the run too.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
) -> None:
    """Check every shape, reference and `expect:` number in the given specs.

    Exit codes: 0 clean; 1 errors found (or warnings with --strict); 2 bad usage or a file that
    cannot be read.
    """
    from ..render import diagnostics as emit

    if fmt is OutputFormat.auto:
        fmt = OutputFormat.github if os.environ.get("GITHUB_ACTIONS") == "true" else OutputFormat.text
    if sys.stderr.isatty() and not quiet:
        from rich.progress import Progress

        from ..render.console import console

        with Progress(console=console(stderr=True), transient=True) as bar:
            task = bar.add_task("linting", total=None)

            def on_file(done: int, total: int, path) -> None:
                if total > 20:
                    bar.update(task, completed=done, total=total, description=f"linting {path.name}")

            result = run_lint(paths, on_file)
    else:
        result = run_lint(paths)
    diags = [d for d in result.diagnostics if d.is_error or not quiet]
    if fmt is OutputFormat.json:
        sys.stdout.write(emit.format_json(diags) + "\n")
    else:
        line = {
            OutputFormat.text: emit.format_text,
            OutputFormat.concise: emit.format_concise,
            OutputFormat.github: emit.format_github,
        }[fmt]
        for d in diags:
            sys.stdout.write(line(d) + "\n")
        if fmt is not OutputFormat.github:
            files = len(result.files)
            sys.stderr.write(
                f"{files} {'file' if files == 1 else 'files'} checked: {result.error_count} "
                f"{'error' if result.error_count == 1 else 'errors'}, {result.warning_count} "
                f"{'warning' if result.warning_count == 1 else 'warnings'}\n"
            )
    if result.usage_errors or any(d.code == "E000" for d in result.diagnostics):
        raise typer.Exit(ExitCode.USAGE)
    if result.error_count or (strict and result.warning_count):
        raise typer.Exit(ExitCode.PROBLEMS)

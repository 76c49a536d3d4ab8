"""`archscope lint PATH...`: check specs in CI, with exit codes and file:line:col diagnostics."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from archscope.api import lint as run_lint
from archscope.cli.common import (
    ExitCode,
    ExtendsRootOpt,
    MaxLayersOpt,
    format_option,
    handled,
    print_diagnostics,
    write,
)
from archscope.render.emit import OutputFormat

LINT_FORMATS = (OutputFormat.auto, OutputFormat.text, OutputFormat.concise, OutputFormat.github, OutputFormat.json)


def _check_codes(param: typer.CallbackParam, values: list[str] | None) -> list[str] | None:
    from archscope.cli.lint_config import code_problem

    for code in values or ():
        problem = code_problem(code, param.name or "")
        if problem:
            raise typer.BadParameter(problem)
    return values


def _settings(
    select: list[str] | None,
    ignore: list[str] | None,
    strict: bool | None,
    isolated: bool,
    root: Path | None,
    max_layers: int | None = None,
) -> Any:
    """``[tool.archscope]`` (unless ``isolated``) with the command line over it; exits 2 on a bad config."""
    from archscope.cli.lint_config import ConfigError, LintConfig, load_config

    try:
        overridden = [key for key, given in (("extends-root", root), ("max-layers", max_layers)) if given is not None]
        config = LintConfig() if isolated else load_config(Path.cwd(), overridden)
    except ConfigError as exc:
        print_diagnostics(exc.diagnostics)
        raise typer.Exit(ExitCode.USAGE) from None
    return LintConfig(
        tuple(select) if select else config.select,
        config.ignore + tuple(ignore or ()),
        config.strict if strict is None else strict,
        config.path,
        root or config.extends_root,
        max_layers or config.max_layers,
    )


@handled
def lint(
    paths: Annotated[
        list[str], typer.Argument(help="Spec files or folders (searched recursively for .yaml), or bundled names.")
    ],
    fmt: Annotated[
        OutputFormat, format_option(*LINT_FORMATS, help="`auto` is `github` inside GitHub Actions, else `text`.")
    ] = OutputFormat.auto,
    strict: Annotated[
        bool | None,
        typer.Option(
            "--strict/--no-strict", rich_help_panel="Rules", help="Warnings fail the run too (default: the config's)."
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", rich_help_panel="Output", help="Print only errors.")] = False,
    select: Annotated[
        list[str] | None,
        typer.Option(
            "--select",
            rich_help_panel="Rules",
            metavar="CODE",
            callback=_check_codes,
            help="Report only these warnings (codes or prefixes).",
        ),
    ] = None,
    ignore: Annotated[
        list[str] | None,
        typer.Option(
            "--ignore",
            rich_help_panel="Rules",
            metavar="CODE",
            callback=_check_codes,
            help="Do not report these warnings.",
        ),
    ] = None,
    isolated: Annotated[
        bool, typer.Option("--isolated", rich_help_panel="Rules", help="Read no pyproject.toml.")
    ] = False,
    extends_root: ExtendsRootOpt = None,
    max_layers: MaxLayersOpt = None,
) -> None:
    """Check every shape, reference and `expect:` number in the given specs, as they are written.

    lint takes no overrides; `summary --resolution/--set` analyses a changed network.

    Settings: the `tool.archscope` table (`select`, `ignore`, `strict`, `extends-root`, `max-layers`) of the first
    pyproject.toml that has one, from the current folder upwards; the options override it. The table may
    lower `max-layers` and keep `extends-root` inside its own folder; more is given only by the options.
    Errors are always reported. Exit codes: 0 clean; 1 errors found (or warnings with --strict);
    2 bad usage, a bad configuration, or a file that cannot be read.

    Examples:
      archscope lint specs/
      archscope lint --strict --format github models/
    """
    from archscope.render import diagnostics as emit

    config = _settings(select, ignore, strict, isolated, extends_root, max_layers)
    if fmt is OutputFormat.auto:
        fmt = OutputFormat.github if os.environ.get("GITHUB_ACTIONS") == "true" else OutputFormat.text
    if sys.stderr.isatty() and not quiet:
        from rich.markup import escape
        from rich.progress import Progress

        from archscope.render.console import console
        from archscope.render.safe import oneline

        with Progress(console=console(stderr=True), transient=True) as bar:
            task = bar.add_task("linting", total=None)

            def on_file(done: int, total: int, path) -> None:
                if total > 20:
                    name = oneline(escape(path.name))  # a file name is neither markup, nor escape codes, nor lines
                    bar.update(task, completed=done, total=total, description=f"linting {name}")

            result = run_lint(paths, on_file, config.extends_root, config.max_layers)
    else:
        result = run_lint(paths, extends_root=config.extends_root, max_layers=config.max_layers)
    reported = [d for d in result.diagnostics if config.reports(d)]
    errors, warnings = sum(d.is_error for d in reported), sum(not d.is_error for d in reported)
    diags = [d for d in reported if d.is_error or not quiet]
    if fmt is OutputFormat.json:
        write(emit.format_json(diags))
    else:
        line = {
            OutputFormat.text: emit.format_text,
            OutputFormat.concise: emit.format_concise,
            OutputFormat.github: emit.format_github,
        }[fmt]
        for d in diags:
            write(line(d))
        if fmt is not OutputFormat.github:
            files = len(result.files)
            sys.stderr.write(
                f"{files} {'file' if files == 1 else 'files'} checked: {errors} "
                f"{'error' if errors == 1 else 'errors'}, {warnings} "
                f"{'warning' if warnings == 1 else 'warnings'}\n"
            )
    if any(d.code == "E000" for d in result.diagnostics):  # a path that cannot be read (a link out is E012: 1)
        raise typer.Exit(ExitCode.USAGE)
    if errors or (config.strict and warnings):
        raise typer.Exit(ExitCode.PROBLEMS)

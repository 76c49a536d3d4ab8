"""`archscope bench SPEC... --executor local|ray`: each spec at each batch size is one job of
:mod:`archscope.torch_backend.executors`, timed alone (here, or as a Ray task). The specs are analysed here
first, so a spec error is reported as every command reports it, before any job starts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from archscope.cli.common import ExitCode, write_table
from archscope.overrides import Overrides
from archscope.render.emit import OutputFormat


def bench_jobs(
    specs: list[str],
    given: Overrides,
    extends_root: Path | None,
    config: Any,
    executor: str,
    address: str | None,
    fmt: OutputFormat,
    progress_display: Callable[[], Any],
) -> None:
    from archscope.api import analyze
    from archscope.diagnostics import SpecError
    from archscope.render.bench import jobs_table
    from archscope.torch_backend.executors import BenchJob, run_jobs

    jobs: list[BenchJob] = []
    for spec in specs:
        analysis = analyze(spec, overrides=given, extends_root=extends_root)
        if analysis.errors or analysis.report is None:
            raise SpecError(analysis.errors or analysis.diagnostics)
        root = str(extends_root) if extends_root is not None else None
        for batch in config.batches:
            jobs.append(BenchJob.from_config(len(jobs), spec, given, batch, config, extends_root=root))
    with progress_display() as progress:
        report = None
        if progress is not None:

            def report(done: int, total: int) -> None:
                progress(f"{done}/{total} jobs done", done / total)

        outcomes = run_jobs(jobs, executor, address, report)
    write_table(jobs_table(jobs, outcomes), fmt)
    if any(o.error for o in outcomes):
        raise typer.Exit(ExitCode.PROBLEMS)

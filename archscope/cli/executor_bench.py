"""`archscope bench SPEC... --executor local|ray`: each spec at each batch size is one job of
:mod:`archscope.executors`, timed alone (here, or as a Ray task). The specs are analysed here
first, so a spec error is reported as every command reports it, before any job starts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from ..overrides import Overrides
from ..paths import is_file
from ..render.emit import OutputFormat
from .common import ExitCode, write_table


def _text_of(spec: str) -> str | None:
    """A spec file's text, sent with its job (a remote node then needs no copy of the file)."""
    if not is_file(Path(spec)):
        return None  # a bundled name: every node has it
    try:
        return Path(spec).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None  # the job reads it, and reports why it cannot


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
    from ..api import analyze
    from ..diagnostics import SpecError
    from ..executors import BenchJob, run_jobs
    from ..render.bench import jobs_table

    jobs = []
    for spec in specs:
        analysis = analyze(spec, overrides=given, extends_root=extends_root)
        if analysis.errors or analysis.report is None:
            raise SpecError(analysis.errors or analysis.diagnostics)
        text = _text_of(spec)
        for batch in config.batches:
            jobs.append(
                BenchJob(
                    key=len(jobs),
                    source=spec,
                    text=text,
                    overrides=given,
                    batch=batch,
                    device=config.device,
                    dtype=config.dtype,
                    threads=config.threads,
                    min_time=config.min_time,
                    min_runs=config.min_runs,
                    warmup=config.warmup,
                    channels_last=config.channels_last,
                    compile=config.compile,
                    max_call_s=config.max_call_s,
                    extends_root=str(extends_root) if extends_root is not None else None,
                )
            )
    with progress_display() as progress:
        report = None
        if progress is not None:

            def report(done: int, total: int) -> None:
                progress(f"{done}/{total} jobs done", done / total)

        outcomes = run_jobs(jobs, executor, address, report)
    write_table(jobs_table(jobs, outcomes), fmt)
    if any(o.error for o in outcomes):
        raise typer.Exit(ExitCode.PROBLEMS)

"""Where timing jobs run: ``local`` (this process, one job after the other) or ``ray`` (one Ray
task per job, on a local Ray instance or on a cluster).

One worker function, :func:`time_job`, analyses a job's spec and times it with
:func:`archscope.torch_backend.benchmark.bench_many`; both executors run that function, so a
timing is the same measurement wherever it ran. ``local`` runs the jobs one at a time, so their
timings do not disturb each other. ``ray`` submits each job as a Ray task that has a whole device
to itself: ``num_gpus=1`` on CUDA, else ``num_cpus`` = the threads it times with (by default the
CPUs of the smallest node, so one task holds a node). Ray schedules, ships the jobs and retries a
task once when its worker process dies (``max_retries=1``); nothing here queues or talks to nodes.

How a task knows its attempt: Ray keeps a task's id across retries but does not hand the attempt
number to the task (its state API, which has it, needs the dashboard). So each attempt, before it
starts timing, adds one to a counter under its task id in Ray's key-value store (the GCS, shared
by every node); the attempt reads the count it made, and the driver reads the final count of a
task that died on every attempt. A crash after the count and before the result is exactly the
case this counts.

Neither torch nor ray is imported here at module level: this module is imported by static code.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from archscope.overrides import NONE as NO_OVERRIDES
from archscope.overrides import Overrides
from archscope.paths import is_file
from archscope.torch_backend.benchmark import MAX_CALL_S, BenchConfig  # plain data: no torch until a job runs
from archscope.torch_backend.errors import BackendError

EXECUTORS = ("local", "ray")
CLUSTER_HINT = "pip install 'archscope[cluster]'"
_KV_NAMESPACE = "archscope"  # the attempt counters in Ray's key-value store
CONNECT_S = 5.0  # how long `--address HOST:PORT` may take to answer
WAIT_S = 0.1  # the driver wakes this often while Ray tasks run (Ctrl-C is handled between waits)


@dataclass(frozen=True)
class BenchJob:
    """One variant to time: plain data, picklable (a Ray task receives it)."""

    key: int  # the variant's index: results come back in key order
    source: str  # spec path or bundled name, as the user gave it
    text: str | None  # the spec's text when it is a file (so a remote node needs no copy)
    overrides: Overrides = NO_OVERRIDES
    batch: int = 1
    device: str = "auto"
    dtype: str = "float32"
    threads: int | None = None
    min_time: float = 2.0  # seconds of timed blocks
    # the rest of `bench`'s options (BenchConfig's defaults)
    min_runs: int = 10
    warmup: int = 5
    channels_last: bool = False
    compile: bool = False
    max_call_s: float | None = MAX_CALL_S  # None: `--force`
    extends_root: str | None = None  # where `extends:` paths may lead (must exist on the node too)

    # the timing options are BenchConfig's (one batch size a job): mapped here, both ways
    _TIMING: ClassVar[tuple[str, ...]] = (
        "device",
        "dtype",
        "threads",
        "min_time",
        "min_runs",
        "warmup",
        "channels_last",
        "compile",
        "max_call_s",
    )

    @classmethod
    def from_config(
        cls, key: int, source: str, overrides: Overrides, batch: int, config: BenchConfig, **more: Any
    ) -> BenchJob:
        """The job of ``source`` at ``batch`` with ``config``'s timing options (and its text, see
        :func:`spec_text`); ``more``: other fields (``extends_root``)."""
        timing = {name: getattr(config, name) for name in cls._TIMING}
        return cls(key, source, spec_text(source), overrides, batch, **timing, **more)

    def config(self) -> BenchConfig:
        """The BenchConfig that times this job (its one batch size)."""
        return BenchConfig(batches=(self.batch,), **{name: getattr(self, name) for name in self._TIMING})


def spec_text(source: str) -> str | None:
    """A spec file's text, sent with its job (a remote node then needs no copy of the file)."""
    if not is_file(Path(source)):
        return None  # a bundled name: every node has it
    try:
        return Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None  # the job reads it, and reports why it cannot


@dataclass(frozen=True)
class BenchOutcome:
    """A job's timing, or why it has none.

    ``record``: where and how it ran: ``node`` (hostname), ``node_id`` (Ray's, under ``ray``),
    ``executor``, ``attempts``, ``device``, ``device_name``, ``torch``, ``threads``, ``dtype``, and
    the static ``name``, ``params`` and ``macs`` (present whenever the spec analysed).
    ``result``: the full :class:`~archscope.torch_backend.benchmark.BenchResult` (quantiles,
    environment), ``None`` when the job failed."""

    key: int
    median_ms: float | None  # None when it failed
    error: str | None  # why it failed (one line)
    record: dict[str, Any]
    result: Any = None

    @property
    def ok(self) -> bool:
        return self.error is None


class ExecutorError(BackendError):
    """A usage problem of an executor (unknown name, ray missing, a cluster that cannot be joined): exit 2."""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def time_job(job: BenchJob) -> BenchOutcome:
    """Analyse and time one job here. Never raises for a bad job: the outcome carries the error."""
    from archscope.api import analyze

    record: dict[str, Any] = {"node": socket.gethostname(), "pid": os.getpid()}
    try:
        analysis = analyze(job.source, text=job.text, overrides=job.overrides, extends_root=job.extends_root)
        if analysis.report is None or analysis.errors:
            first = (analysis.errors or analysis.diagnostics)[0]
            return BenchOutcome(job.key, None, f"{first.span}: {first.code} {first.message}", record)
        report = analysis.report
        record.update(name=report.name, params=report.totals.params, macs=report.totals.macs)
        from archscope.torch_backend.benchmark import bench_many

        result = bench_many([analysis], job.config())[0]
    except Exception as exc:  # noqa: BLE001 - a failed job is an outcome; the others go on
        why = str(exc).strip().splitlines()[0] if isinstance(exc, BackendError) and str(exc).strip() else None
        return BenchOutcome(job.key, None, why or _first_line(exc), record)
    env = result.environment
    record.update({k: env[k] for k in ("device", "device_name", "torch", "threads", "dtype")})
    return BenchOutcome(job.key, result.timings[0].median * 1e3, None, record, result)


Work = Callable[[BenchJob], BenchOutcome]


def run_jobs(
    jobs: Sequence[BenchJob],
    executor: str = "local",
    address: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    *,
    work: Work = time_job,
) -> list[BenchOutcome]:
    """Run every job through ``executor``; the outcomes in key order, one per job.

    ``address``: with ``ray``, a running cluster to join (``auto``, ``HOST:6379``, ``ray://…``);
    without it a local Ray instance is started for the call and shut down after (a Ray already
    initialised in this process is used and left running). ``progress(done, total)`` is called
    as jobs finish. ``work`` is the function each job runs (:func:`time_job`; tests pass one
    that crashes to check the retries). Raises :class:`ExecutorError` for a usage problem."""
    if executor not in EXECUTORS:
        raise ExecutorError(f"unknown executor `{executor}`: use " + " or ".join(EXECUTORS))
    if address is not None and executor != "ray":
        raise ExecutorError("`--address` joins a Ray cluster: it needs `--executor ray`")
    if executor == "local":
        outcomes = []
        for done, job in enumerate(jobs, 1):
            outcome = work(job)
            outcome.record.update(executor="local", attempts=1)
            outcomes.append(outcome)
            if progress:
                progress(done, len(jobs))
    else:
        outcomes = _run_ray(jobs, address, progress, work)
    return sorted(outcomes, key=lambda o: o.key)


# -- ray ---------------------------------------------------------------------------------------


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ExecutorError(
            f"`--executor ray` needs Ray, which is not installed ({exc.msg}); install archscope's cluster extra: "
            f"{CLUSTER_HINT}"
        ) from None
    return ray


def _count_attempt(task_id: str) -> int:
    """Add this attempt to the task's counter in Ray's key-value store; its number (1, 2, …)."""
    from ray.experimental import internal_kv

    key = task_id.encode()
    n = int(internal_kv._internal_kv_get(key, namespace=_KV_NAMESPACE) or b"0") + 1
    internal_kv._internal_kv_put(key, str(n).encode(), overwrite=True, namespace=_KV_NAMESPACE)
    return n


def _attempts_of(task_id: str) -> int:
    from ray.experimental import internal_kv

    return int(internal_kv._internal_kv_get(task_id.encode(), namespace=_KV_NAMESPACE) or b"0")


def _forget(task_id: str) -> None:
    from ray.experimental import internal_kv

    internal_kv._internal_kv_del(task_id.encode(), namespace=_KV_NAMESPACE)


def ray_task(work: Work, job: BenchJob) -> BenchOutcome:
    """The body of a Ray task: count the attempt, run ``work`` (:func:`time_job`), record where."""
    import ray

    context = ray.get_runtime_context()
    task_id = context.get_task_id()
    assert task_id is not None  # (None only outside a task)
    attempt = _count_attempt(task_id)
    outcome = work(job)
    outcome.record.update(executor="ray", node_id=context.get_node_id(), attempts=attempt)
    return outcome


def _check_reachable(address: str) -> None:
    """A ``HOST:PORT`` (or ``ray://HOST:PORT``) that nothing answers on is an error now: Ray itself
    would keep retrying for minutes. Other forms (``auto``) are left to Ray, which answers fast."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_S).close()
    except OSError as exc:
        raise ExecutorError(
            f"cannot reach the Ray cluster at `{address}` ({exc.strerror or exc}): is `ray start --head` running "
            "there, and is the port open?"
        ) from None


def _start_ray(ray: Any, address: str | None) -> bool:
    """Join ``address`` or start a local instance; True when this call started Ray (and so stops it)."""
    import logging

    if ray.is_initialized():
        return False
    quiet = {"include_dashboard": False, "logging_level": logging.ERROR, "log_to_driver": False}
    try:
        if address is not None:
            _check_reachable(address)
            ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
        else:
            ray.init(num_cpus=os.cpu_count(), **quiet)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at `{address}`" if address else "a local Ray instance"
        hint = ""
        if address is not None and os.environ.get("RAY_AUTH_MODE") != "token":
            hint = (
                "; a cluster started by `ray start` checks a token: run with RAY_AUTH_MODE=token and the cluster's "
                "token in ~/.ray/auth_token (or RAY_AUTH_TOKEN)"
            )
        raise ExecutorError(f"cannot start or join {where}: {_first_line(exc)}{hint}") from None
    return True


def _task_options(ray: Any, job: BenchJob) -> tuple[BenchJob, dict[str, Any]]:
    """The job as its task runs it, and the task's resources: a GPU, or the CPUs it times with."""
    device = job.device
    if device == "auto":
        device = "cuda" if ray.cluster_resources().get("GPU", 0) >= 1 else "cpu"
    if device == "cuda":
        return dataclasses.replace(job, device="cuda"), {"num_gpus": 1, "num_cpus": 1}
    cpus = job.threads or _smallest_node_cpus(ray)
    return dataclasses.replace(job, device=device, threads=cpus), {"num_cpus": cpus}


def _smallest_node_cpus(ray: Any) -> int:
    counts = [int(n["Resources"].get("CPU", 0)) for n in ray.nodes() if n.get("Alive")]
    counts = [c for c in counts if c > 0]
    return min(counts) if counts else 1


def _run_ray(
    jobs: Sequence[BenchJob], address: str | None, progress: Callable[[int, int], None] | None, work: Work
) -> list[BenchOutcome]:
    ray = _import_ray()
    started = _start_ray(ray, address)
    remote = ray.remote(max_retries=1)(ray_task)
    pending: dict[Any, BenchJob] = {}
    outcomes: list[BenchOutcome] = []
    try:
        for job in jobs:
            as_run, options = _task_options(ray, job)
            pending[remote.options(**options).remote(work, as_run)] = job
        total = len(pending)
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=WAIT_S)
            for ref in ready:
                job = pending.pop(ref)
                outcomes.append(_collect(ray, ref, job))
                if progress:
                    progress(len(outcomes), total)
    except BaseException:
        for ref in pending:  # Ctrl-C (or anything else): stop what still runs
            with contextlib.suppress(Exception):  # the interrupt is what matters now
                ray.cancel(ref, force=True)
                _forget(ref.task_id().hex())
        raise
    finally:
        if started:
            ray.shutdown()
    return outcomes


def _collect(ray: Any, ref: Any, job: BenchJob) -> BenchOutcome:
    task_id = ref.task_id().hex()
    try:
        return ray.get(ref)
    except ray.exceptions.RayError as exc:  # the worker died on every attempt, the node was lost, …
        attempts = _attempts_of(task_id)
        record = {"executor": "ray", "attempts": attempts}
        return BenchOutcome(job.key, None, f"{_first_line(exc)} (attempts: {attempts})", record)
    finally:
        _forget(task_id)

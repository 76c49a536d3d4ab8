"""The timing executors (:mod:`archscope.torch_backend.executors`): local and Ray give the same static numbers,
records say where a job ran, a job whose worker dies is retried once by Ray, a failing job is an
outcome. One local Ray instance of 2 CPUs serves the whole module; specs and timings are tiny."""

from __future__ import annotations

import dataclasses
import os
import pickle
import socket
import sys

import pytest
from typer.testing import CliRunner

from archscope.cli.app import app
from archscope.overrides import Overrides
from archscope.torch_backend.executors import BenchJob, BenchOutcome, ExecutorError, run_jobs, time_job

# slow: Ray, and timing jobs; one xdist worker for the whole module (its tests share one local Ray)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ray")]

QUICK = {"min_time": 0.02, "min_runs": 2, "warmup": 1, "device": "cpu", "threads": 1, "max_call_s": None}


def jobs(*variants: tuple[int, Overrides]) -> list[BenchJob]:
    return [BenchJob(key, "lenet5", None, overrides=o, **QUICK) for key, o in variants]


@pytest.fixture(scope="module")
def ray_local():
    pytest.importorskip("torch")
    ray = pytest.importorskip("ray")
    import logging

    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    yield ray
    ray.shutdown()


# -- without ray or torch ------------------------------------------------------------------------


def test_a_job_pickles_with_its_overrides():
    job = BenchJob(3, "lenet5", "name: x", Overrides(resolution=64, params={"num_classes": 7}, freeze=("fc*",)))
    again = pickle.loads(pickle.dumps(job))
    assert again == job and dict(again.overrides.params) == {"num_classes": 7}


def test_unknown_executor_and_an_address_without_ray_are_usage_errors():
    with pytest.raises(ExecutorError, match="unknown executor `slurm`"):
        run_jobs([], "slurm")
    with pytest.raises(ExecutorError, match="needs `--executor ray`"):
        run_jobs([], "local", address="auto")


def test_without_ray_the_ray_executor_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    with pytest.raises(ExecutorError, match=r"pip install 'archscope\[cluster\]'"):
        run_jobs(jobs((0, Overrides())), "ray")
    out = CliRunner().invoke(app, ["bench", "lenet5", "--executor", "ray"])
    assert out.exit_code == 2 and "archscope[cluster]" in out.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["lenet5", "alexnet"], "several specs need `--executor"),
        (["lenet5", "--address", "auto"], "needs `--executor ray`"),
        (["lenet5", "--executor", "local", "--per-layer"], "does not go with `--executor`"),
    ],
)
def test_bench_usage_errors(args, message):
    out = CliRunner().invoke(app, ["bench", *args])
    assert out.exit_code == 2 and message in out.output


# -- local -----------------------------------------------------------------------------------------


def test_local_failing_job_is_an_outcome_and_the_others_go_on():
    pytest.importorskip("torch")
    broken = "name: broken\ninput: [1, 32, 32]\nlayers:\n  - {op: conv2d, out: 4, kernel: 50}\n"
    given = [
        BenchJob(1, "broken.yaml", broken, **QUICK),
        BenchJob(0, "lenet5", None, overrides=Overrides(params={"num_classes": 3}), **QUICK),
    ]
    seen = []
    first, second = run_jobs(given, "local", progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 2), (2, 2)]
    assert first.key == 0 and first.error is None and first.median_ms > 0
    assert first.record["params"] == 61706 - 7 * 85  # 10 → 3 classes: 7 fewer rows of 84 weights + 1 bias
    assert second.key == 1 and second.median_ms is None and second.result is None
    assert second.error.startswith("broken.yaml:4:") and "E" in second.error.split()[1]
    assert second.record["attempts"] == 1 and second.record["executor"] == "local"


# -- ray -------------------------------------------------------------------------------------------


def test_local_and_ray_give_the_same_static_columns_and_ray_records_where(ray_local):
    torch = pytest.importorskip("torch")
    from archscope.torch_backend import build

    variants = jobs((0, Overrides()), (1, Overrides(params={"num_classes": 4})))
    local = run_jobs(variants, "local")
    seen = []
    remote = run_jobs(list(reversed(variants)), "ray", progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 2), (2, 2)]
    assert [o.key for o in remote] == [0, 1]  # key order, whatever order they were given or finished in
    for a, b in zip(local, remote):
        assert a.error is None and b.error is None
        assert (a.record["params"], a.record["macs"]) == (b.record["params"], b.record["macs"])
        assert b.median_ms > 0 and b.result.timings[0].median * 1e3 == b.median_ms
    # the static count is the built network's own
    net = build("lenet5")
    assert local[0].record["params"] == sum(p.numel() for p in net.parameters())
    record = remote[0].record
    assert record["executor"] == "ray" and record["attempts"] == 1
    assert record["node"] == socket.gethostname() and record["node_id"] == ray_local.get_runtime_context().get_node_id()
    assert (record["device"], record["torch"], record["threads"]) == ("cpu", torch.__version__, 1)
    assert record["device_name"] and record["pid"] != os.getpid()


@pytest.mark.usefixtures("ray_local")
def test_a_job_whose_worker_dies_once_is_retried_and_one_that_always_dies_is_an_error(tmp_path):
    marker = tmp_path / "died-once"

    def dies_first_time(job: BenchJob) -> BenchOutcome:
        if not marker.exists():
            marker.touch()
            os._exit(1)  # the worker process dies, as a segfault or the OOM killer would end it
        return time_job(job)

    def always_dies(_job: BenchJob) -> BenchOutcome:
        os._exit(1)

    once = run_jobs(jobs((0, Overrides())), "ray", work=dies_first_time)[0]
    assert once.error is None and once.median_ms > 0
    assert once.record["attempts"] == 2 and once.record["params"] == 61706
    dead = run_jobs([dataclasses.replace(j, key=5) for j in jobs((0, Overrides()))], "ray", work=always_dies)[0]
    assert dead.key == 5 and dead.median_ms is None and dead.result is None
    assert "WorkerCrashedError" in dead.error and "(attempts: 2)" in dead.error
    assert dead.record == {"executor": "ray", "attempts": 2}


def test_an_address_where_nothing_answers_is_refused_at_once():
    from archscope.torch_backend.executors import _check_reachable

    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ExecutorError, match=rf"cannot reach the Ray cluster at `ray://127.0.0.1:{port}`"):
        _check_reachable(f"ray://127.0.0.1:{port}")
    _check_reachable("auto")  # not HOST:PORT: left to Ray


def test_bench_executor_local_prints_records_and_a_failed_job_exits_1():
    torch = pytest.importorskip("torch")
    import json

    quick = ["--min-time", "0.02", "--min-runs", "2", "--warmup", "1", "--threads", "1", "--force"]
    out = CliRunner().invoke(app, ["bench", "lenet5", "--executor", "local", "-b", "1,2", "-f", "json", *quick])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert [(d["key"], d["batch"], d["error"]) for d in data] == [(0, 1, None), (1, 2, None)]
    assert data[1]["record"]["node"] == socket.gethostname() and data[1]["record"]["attempts"] == 1
    assert data[1]["result"]["timings"][0]["batch"] == 2 and data[1]["median_ms"] > 0
    if not torch.cuda.is_available():
        out = CliRunner().invoke(app, ["bench", "lenet5", "--executor", "local", "--device", "cuda", *quick])
        assert out.exit_code == 1
        assert "failed: `lenet5` at batch 1: `--device cuda`: no CUDA GPU is available" in out.stdout

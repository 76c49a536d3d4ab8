"""`bench` and `compare --bench`: JSON/CSV fields, statistics, refusals, interleaving, CUDA.

Runs are kept tiny (`--min-time 0.05`, small specs); the numbers checked are relations that
must hold for any measurement (p10 ≤ median ≤ p90, images/s = batch / latency, GFLOP/s =
2 × MACs × batch / latency with MACs from the static analysis), and the memory estimate is
checked against a by-hand count of a tiny network.
"""

from __future__ import annotations

import csv
import io
import json

import pytest

pytestmark = pytest.mark.slow  # builds and runs networks (or processes): not in the quick subset

torch = pytest.importorskip("torch")

from typer.testing import CliRunner  # noqa: E402

import archscope  # noqa: E402
from archscope.cli.app import app  # noqa: E402
from archscope.passes.memory import MemoryOptions, memory  # noqa: E402
from archscope.render.numbers import size_bytes  # noqa: E402
from archscope.torch_backend import DeviceUnavailable, MemoryEstimateTooLarge  # noqa: E402
from archscope.torch_backend.benchmark import BenchConfig, _run_interleaved  # noqa: E402

QUICK = ["--min-time", "0.05", "--min-runs", "3", "--warmup", "1", "--device", "cpu"]


def test_json_records_environment_and_consistent_statistics():
    out = CliRunner().invoke(app, ["bench", "lenet5", "--batch", "1,3", "--threads", "1", "--format", "json", *QUICK])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    env = data["environment"]
    assert env["torch"] == torch.__version__ and env["device"] == "cpu" and env["threads"] == 1
    assert (env["dtype"], env["layout"], env["compile"], env["batches"]) == ("float32", "contiguous", False, [1, 3])
    assert env["device_name"]
    analysis = archscope.analyze("lenet5")
    totals = analysis.report.totals
    macs = totals.macs
    assert (data["macs"], data["params"], data["input"]) == (macs, totals.params, list(analysis.report.input))
    assert [t["batch"] for t in data["timings"]] == [1, 3]
    for t in data["timings"]:
        assert t["macs"] == macs
        assert t["memory_estimate"] == memory(analysis.graph, MemoryOptions(t["batch"], "float32")).peak_bytes
        assert 0 < t["p10"] <= t["p25"] <= t["median"] <= t["p75"] <= t["p90"]
        assert t["runs"] >= 3 and t["calls_per_run"] >= 1
        assert t["latency_ms"] == pytest.approx(t["median"] * 1e3)
        assert t["iqr_ms"] == pytest.approx((t["p75"] - t["p25"]) * 1e3)
        assert t["images_per_s"] == pytest.approx(t["batch"] / t["median"])
        assert t["achieved_gflops"] == pytest.approx(2 * macs * t["batch"] / t["median"] / 1e9)


def test_csv_has_one_row_per_batch_with_the_environment():
    out = CliRunner().invoke(app, ["bench", "lenet5", "--batch", "1,2", "--format", "csv", *QUICK])
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [r["batch"] for r in rows] == ["1", "2"]
    assert all(r["torch"] == torch.__version__ and r["dtype"] == "float32" for r in rows)
    assert all(r["device"] == "cpu" and r["batches"] == "1|2" for r in rows)
    macs = archscope.analyze("lenet5").report.totals.macs
    for r in rows:
        assert int(r["macs"]) == macs
        times = [float(r[k]) for k in ("p10", "p25", "median", "p75", "p90")]
        assert 0 < times[0] and times == sorted(times)
        assert float(r["images_per_s"]) == pytest.approx(int(r["batch"]) / float(r["median"]))


def test_table_output_and_bfloat16_channels_last():
    out = CliRunner().invoke(
        app, ["bench", "conv_depthwise_separable", "--dtype", "bfloat16", "--channels-last", *QUICK]
    )
    assert out.exit_code == 0, out.output
    assert "bfloat16 · channels_last" in out.output and "GFLOP/s" in out.output
    assert f"torch {torch.__version__}" in out.output
    a = archscope.analyze("conv_depthwise_separable")
    est = memory(a.graph, MemoryOptions(1, "bfloat16"))
    row = next(line for line in out.output.splitlines() if "conv_depthwise_separable" in line and "│" in line)
    cells = [c.strip() for c in row.strip("│ ").split("│")]
    assert cells[1] == "1" and cells[-1] == size_bytes(est.peak_bytes)  # batch, memory estimate in bfloat16
    blocks, calls = map(int, cells[-2].split("×"))
    assert blocks >= 3 and calls >= 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_cuda_without_a_gpu_is_a_clear_error():
    with pytest.raises(DeviceUnavailable, match="no CUDA GPU"):
        archscope.bench("lenet5", BenchConfig(device="cuda"))
    out = CliRunner().invoke(app, ["bench", "lenet5", "--device", "cuda"])
    assert out.exit_code == 2 and "no CUDA GPU" in out.output and "Traceback" not in out.output


def test_a_batch_that_cannot_fit_is_refused_before_allocating():
    with pytest.raises(MemoryEstimateTooLarge, match="batch 10000000"):
        archscope.bench("vgg16", BenchConfig(device="cpu", batches=(1, 10_000_000)))
    out = CliRunner().invoke(app, ["bench", "vgg16", "--device", "cpu", "--batch", "10000000"])
    assert out.exit_code == 2 and "at its peak" in out.output and "use a smaller batch" in out.output


def test_channels_last_on_a_1d_network_is_refused():
    out = CliRunner().invoke(app, ["bench", "tcn1d", "--channels-last", *QUICK])
    assert out.exit_code == 2 and "(C, H, W)" in out.output


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_memory_estimate_equals_what_pytorch_allocates(dtype):
    from torch.distributed._tools.mem_tracker import MemTracker

    text = "input: [10]\nlayers:\n  - {op: linear, out: 20}\n  - relu\n  - {op: linear, out: 5}\n"
    a = archscope.analyze("t.yaml", text=text)
    module = archscope.build(a).eval().to(getattr(torch, dtype))
    x = torch.randn(8, 10, dtype=getattr(torch, dtype))
    tracker = MemTracker()
    tracker.track_external(module, x)
    with tracker, torch.no_grad():
        module(x)
    measured = next(iter(tracker.get_tracker_snapshot("peak").values()))["Total"]
    est = memory(a.graph, MemoryOptions(batch=8, dtype=dtype))
    width = 4 if dtype == "float32" else 2
    assert est.weights_bytes == (10 * 20 + 20 + 20 * 5 + 5) * width
    # the input (10), the first layer's output (20, which the relu overwrites) and the last one's (5)
    assert est.peak_bytes == measured == est.weights_bytes + (10 + 20 + 5) * 8 * width


def test_blocks_are_interleaved_round_robin():
    log: list[str] = []

    class Stub:
        def __init__(self, name):
            self.label, self.name, self.blocks = name, name, []

        def warm_up(self, _calls):
            log.append(f"warm {self.name}")

        def run_block(self):
            log.append(self.name)
            self.blocks.append(0.001)

        @property
        def timed(self):
            return sum(self.blocks)

    cases = [Stub("a"), Stub("b"), Stub("c")]
    _run_interleaved(cases, BenchConfig(min_time=0.0, min_runs=3), None, "test")
    assert log == ["warm a", "warm b", "warm c", "a", "b", "c", "b", "c", "a", "c", "a", "b"]


def test_compare_bench_adds_timing_columns():
    out = CliRunner().invoke(app, ["compare", "lenet5", "alexnet_2012", "--bench", "--format", "json", *QUICK])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.stdout)
    assert [r["name"] for r in rows] == ["lenet5", "alexnet_2012"]
    assert rows[0]["latency_ratio_b1"] == 1.0
    for r in rows:
        assert r["images_per_s_b1"] == pytest.approx(1e3 / r["latency_ms_b1"])
        assert r["bench_device"] == "cpu" and r["bench_torch"] == torch.__version__
    assert rows[1]["latency_ratio_b1"] == pytest.approx(rows[1]["latency_ms_b1"] / rows[0]["latency_ms_b1"])
    table = CliRunner().invoke(app, ["compare", "lenet5", "alexnet_2012", "--bench", *QUICK])
    assert table.exit_code == 0 and "img/s @1" in table.output


def test_compile_with_inductor():
    text = (
        "input: [3, 16, 16]\nlayers:\n  - {op: conv2d, out: 8, kernel: 3, padding: 1}\n  - relu\n  - global_avgpool\n"
    )
    path = "tiny.yaml"
    analysis = archscope.analyze(path, text=text)
    from archscope.torch_backend.benchmark import _prepare

    model, x = _prepare(analysis, BenchConfig(device="cpu", compile=True), "cpu", 2)
    eager, _ = _prepare(analysis, BenchConfig(device="cpu"), "cpu", 2)
    eager.load_state_dict(model._orig_mod.state_dict())
    with torch.inference_mode():
        torch.testing.assert_close(model(x), eager(x), rtol=1e-4, atol=1e-4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
@pytest.mark.parametrize("extra", [[], ["--dtype", "float16", "--channels-last"], ["--dtype", "bfloat16"]])
def test_cuda_bench(extra):
    out = CliRunner().invoke(
        app,
        ["bench", "resnet18", "--device", "cuda", "--batch", "1,8", "--format", "json", "--min-time", "0.2", *extra],
    )
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    env = data["environment"]
    assert env["device"] == "cuda" and "synchronise" in env["timer"]
    assert env["torch"] == torch.__version__ and env["device_name"] == torch.cuda.get_device_name(0)
    dtype = extra[extra.index("--dtype") + 1] if "--dtype" in extra else "float32"
    layout = "channels_last" if "--channels-last" in extra else "contiguous"
    assert (env["dtype"], env["layout"], env["batches"]) == (dtype, layout, [1, 8])
    analysis = archscope.analyze("resnet18")
    totals = analysis.report.totals
    assert (data["macs"], data["params"]) == (totals.macs, totals.params)
    assert [t["batch"] for t in data["timings"]] == [1, 8]
    for t in data["timings"]:
        assert 0 < t["p10"] <= t["p25"] <= t["median"] <= t["p75"] <= t["p90"]
        assert t["runs"] >= 10 and t["calls_per_run"] >= 1  # the default --min-runs
        assert t["macs"] == totals.macs
        assert t["memory_estimate"] == memory(analysis.graph, MemoryOptions(t["batch"], dtype)).peak_bytes
        assert t["images_per_s"] == pytest.approx(t["batch"] / t["median"])
        assert t["achieved_gflops"] == pytest.approx(2 * totals.macs * t["batch"] / t["median"] / 1e9)


def test_memory_estimate_counts_extra_outputs_at_their_item_size():
    from torch.distributed._tools.mem_tracker import MemTracker

    text = (
        "input: [1, 4, 4]\nlayers:\n  - {op: maxpool2d, name: pool, kernel: 2, return_indices: true}\n"
        "  - {op: relu, name: r}\n  - {op: max_unpool2d, kernel: 2, in: [r, pool]}\n"
    )
    a = archscope.analyze("t.yaml", text=text)
    module = archscope.build(a).eval()
    x = torch.randn(2, 1, 4, 4)
    tracker = MemTracker()
    tracker.track_external(module, x)
    with tracker, torch.no_grad():
        module(x)
    measured = next(iter(tracker.get_tracker_snapshot("peak").values()))["Total"]
    # the unpool runs with the input (16 floats), the pool's int64 switches (4 × 8 bytes), the
    # relu's output (4; the pool's values died with the relu) and its own output (16), × batch 2
    assert memory(a.graph, MemoryOptions(batch=2)).peak_bytes == measured == (36 * 4 + 4 * 8) * 2

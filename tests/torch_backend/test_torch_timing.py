"""`bench --per-layer` and `archscope calibrate`, measured: the per-layer times, their sum and
the overhead beside the whole network's median, the warnings about missing or stale calibrations,
the calibration written to the cache, and the roofline's bytes proven against the built modules'
tensors. How close the layers' sum comes to the median, and whether the first-touch step shows,
are measurements that a loaded machine moves: `bench/per_layer.py` reports them. Runs are short
(`--min-time` ≤ 1 s, small specs); CUDA tests skip without a GPU.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

pytestmark = pytest.mark.slow  # builds and runs networks (or processes): not in the quick subset

torch = pytest.importorskip("torch")

from shared import CAL  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

import archscope  # noqa: E402
from archscope.cli.app import app  # noqa: E402
from archscope.perf import calibration  # noqa: E402
from archscope.perf.roofline import layer_work  # noqa: E402
from archscope.torch_backend.lowering import module_names  # noqa: E402

QUICK = ["--device", "cpu", "--threads", "1", "--warmup", "1", "--min-runs", "3"]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    path = tmp_path / "calibration.json"
    monkeypatch.setenv(calibration.ENV_VAR, str(path))
    return path


@pytest.mark.usefixtures("cache")
def test_layers_add_up_to_the_whole_network():
    calibration.store(replace(CAL, torch=torch.__version__, threads=1))
    out = CliRunner().invoke(app, ["bench", "resnet18", "--per-layer", "--min-time", "1", "--format", "json", *QUICK])
    assert out.exit_code == 0, out.output
    assert out.stderr == ""  # a calibration of these conditions: no warning
    data = json.loads(out.stdout)
    report = archscope.analyze("resnet18").report
    assert [layer["name"] for layer in data["layers"]] == [r.name for r in report.layers]
    total = sum(layer["ms"] for layer in data["layers"])
    assert all(layer["ms"] >= 0 for layer in data["layers"])
    # how close the layers' sum comes to the whole network's median is a measurement: bench/per_layer.py
    assert data["layers_ms"] == pytest.approx(total) and data["overhead_ms"] == pytest.approx(data["median_ms"] - total)
    flops = 2 * report.totals.macs + report.totals.ops
    assert data["flops"] == flops
    assert data["achieved_gflops"] == pytest.approx(flops / data["median_ms"] / 1e6)
    assert data["peak_share"] == pytest.approx(data["achieved_gflops"] / 50.0)
    conv1 = data["layers"][0]
    assert conv1["macs"] == report.layers[0].macs and conv1["peak_share"] == pytest.approx(
        conv1["achieved_gflops"] / 50.0
    )
    assert "hooks" in data["environment"]["timer"]
    assert conv1["bound"] == "compute" and conv1["attainable_ms"] == pytest.approx(conv1["flops"] / 50e9 * 1e3)


def test_warnings_name_the_command_to_run(cache):
    args = ["bench", "lenet5", "--per-layer", "--min-time", "0.05", *QUICK]
    missing = CliRunner().invoke(app, args)
    assert missing.exit_code == 0, missing.output
    assert "no calibration for cpu float32" in missing.stderr
    assert "`archscope calibrate --device cpu --dtype float32`" in missing.stderr
    data = json.loads(CliRunner().invoke(app, [*args, "--format", "json"]).stdout)
    assert data["peak_gflops"] is None and data["layers"][0]["peak_share"] is None
    calibration.store(replace(CAL, torch="1.0.0", threads=4))
    stale = CliRunner().invoke(app, args)
    assert stale.exit_code == 0
    assert f"torch 1.0.0, not {torch.__version__}" in stale.stderr and "4 threads, not 1" in stale.stderr
    assert "--threads 1`" in stale.stderr
    clock = CliRunner().invoke(app, [*args, "--cpu-time", "--format", "json"])
    assert clock.exit_code == 0 and "measured in elapsed time, these layers in CPU time" in clock.stderr
    assert "process_time" in json.loads(clock.stdout)["environment"]["timer"]
    cache.write_text("{not json")
    corrupt = CliRunner().invoke(app, args)
    assert corrupt.exit_code == 0 and "is not valid JSON" in corrupt.stderr and "Traceback" not in corrupt.output


@pytest.mark.usefixtures("cache")
def test_depth_groups_and_refusals():
    out = CliRunner().invoke(app, ["bench", "resnet18", "--per-layer", "--depth", "1", "--min-time", "0.05", *QUICK])
    assert out.exit_code == 0, out.output
    assert "basic ×2" in out.stdout and "whole network (median)" in out.stdout and "framework" in out.stdout
    assert "layer1.0" not in out.stdout
    two = CliRunner().invoke(app, ["bench", "lenet5", "--per-layer", "--batch", "1,2", *QUICK])
    assert two.exit_code == 2 and "one batch size" in two.stderr
    compiled = CliRunner().invoke(app, ["bench", "lenet5", "--per-layer", "--compile", *QUICK])
    assert compiled.exit_code == 2 and "--compile" in compiled.stderr


def test_calibrate_measures_and_stores(cache):
    args = ["calibrate", "--threads", "1", "--min-time", "0.02", "--batches", "1,2", "--cpu-time", "--format", "json"]
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["peak_gflops"] == max(data["gemm_gflops"], data["conv_gflops"]) > 0
    assert data["bandwidth_gbs"] == max(data["copy_gbs"], data["triad_gbs"]) > 0
    assert (data["device"], data["dtype"], data["threads"], data["torch"]) == ("cpu", "float32", 1, torch.__version__)
    assert data["cache"] == str(cache) and data["clock"] == "cpu"
    kinds = ("gemm", "grouped", "pool", "norm", "elementwise", "copy")
    coarse = {k for k in data["efficiency"] if ":" not in k}
    fine = {tuple(k.replace(":", "@").split("@")) for k in data["efficiency"] if ":" in k}
    assert coarse == {f"{k}@{b}" for k in kinds for b in (1, 2)}
    assert {kind for kind, _, _ in fine} == set(kinds) and {bound for _, bound, _ in fine} == {"compute", "memory"}
    # whether glibc's step shows is a measurement that load can hide (`bench/per_layer.py` reports
    # it); the rule that reads it is tested alone below. Stored: a threshold with its rate, or neither
    assert data["fresh_threshold_bytes"] in (0, 32 * 2**20)
    assert (data["fresh_threshold_bytes"] > 0) == (data["first_touch_gbs"] > 0)
    stored = calibration.lookup("cpu", "float32")
    assert stored is not None and stored.peak_gflops == data["peak_gflops"] and stored.threads == 1
    table = CliRunner().invoke(app, ["predict", "lenet5"])
    assert table.exit_code == 0 and "predicted latency" in table.stdout


@pytest.mark.parametrize(
    ("small", "large", "step"),
    [
        (0.001, 0.0025, False),  # 2.5x for twice the bytes: no step
        (0.001, 0.0059, False),  # just under 6x
        (0.001, 0.008, True),
        (-0.0001, 0.004, True),  # noise below the threshold: any positive cost above it is a step
        (0.001, 0.0, False),
        (0.0, -0.001, False),
    ],
)
def test_the_first_touch_rule(small: float, large: float, step: bool):
    from archscope.torch_backend.calibrate import first_touch_step

    found = first_touch_step(small, large, 48 * 2**20)
    if step:
        assert found == {"first_touch_gbs": 48 * 2**20 / large / 1e9, "fresh_threshold_bytes": 32 * 2**20}
    else:
        assert found == {"first_touch_gbs": 0.0, "fresh_threshold_bytes": 0}


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is available")
@pytest.mark.usefixtures("cache")
def test_calibrate_cuda_without_a_gpu_is_a_clear_error():
    out = CliRunner().invoke(app, ["calibrate", "--device", "cuda"])
    assert out.exit_code == 2 and "no CUDA GPU is available" in out.stderr and "Traceback" not in out.output
    bad = CliRunner().invoke(app, ["calibrate", "--batches", "0"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output


@pytest.mark.parametrize(("spec", "dtype"), [("resnet18", torch.float32), ("mobilenet_v3_small", torch.float16)])
def test_roofline_bytes_are_the_modules_tensors(spec, dtype):
    """Every layer's bytes = (its input and output tensors + its params and buffers) × the dtype's
    size, read from the built network's forward on the meta device (views move nothing)."""
    analysis = archscope.analyze(spec)
    model = archscope.build(spec, device="meta").eval().to(dtype)
    names = module_names(analysis.graph)
    modules = dict(model.named_modules())
    seen: dict[str, tuple[int, int]] = {}
    size = torch.tensor([], dtype=dtype).element_size()

    def elements(value):
        if isinstance(value, torch.Tensor):
            return value.numel()
        return sum(elements(v) for v in value) if isinstance(value, (tuple, list)) else 0

    for name, qualname in names.items():
        module = modules[qualname]

        def hook(m, args, out, name=name):
            main = out[0] if isinstance(out, tuple) else out
            seen[name] = (elements(args) + main.numel(), sum(t.numel() for t in (*m.parameters(), *m.buffers())))

        module.register_forward_hook(hook)
    with torch.inference_mode():
        model(torch.empty(3, *analysis.report.input, device="meta", dtype=dtype))
    work = layer_work(analysis.graph, 3, "float16" if dtype == torch.float16 else "float32")
    for w in work:
        if w.kernel == "view":
            assert w.bytes == 0
            continue
        activations, weights = seen[w.name]  # the batch's tensors; the weights once
        assert w.bytes == size * (activations + weights), w.name


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
@pytest.mark.usefixtures("cache")
def test_cuda_per_layer_and_calibrate():
    out = CliRunner().invoke(
        app, ["calibrate", "--device", "cuda", "--dtype", "float16", "--min-time", "0.05", "--format", "json"]
    )
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["device"] == "cuda" and data["device_name"] == torch.cuda.get_device_name(0)
    assert data["peak_gflops"] > 0 and data["bandwidth_gbs"] > 0
    args = ["bench", "resnet18", "--per-layer", "--device", "cuda", "--dtype", "float16", "--min-time", "0.5"]
    timed = CliRunner().invoke(app, [*args, "--format", "json"])
    assert timed.exit_code == 0, timed.output
    result = json.loads(timed.stdout)
    assert "CUDA events" in result["environment"]["timer"]
    total = sum(layer["ms"] for layer in result["layers"])
    assert total > 0 and result["peak_share"] is not None

"""The calibration cache (`archscope calibrate` writes it; `predict` and `bench --per-layer` read
it) and the static roofline of `predict`: no torch here (see test_torch_timing.py for the
measured side, and the bytes proven against built modules).

The cache tests point ``ARCHSCOPE_CALIBRATION`` at a temporary file: a round trip, a missing
file, corrupt files (a clear message and exit 2, never a traceback), and figures measured
under other conditions (another torch, another thread count).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import replace

import pytest
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st
from shared import CAL, imported_packages
from typer.testing import CliRunner

import archscope
from archscope.cli.app import app
from archscope.ops import REGISTRY
from archscope.ops.registry import KERNELS
from archscope.perf import calibration
from archscope.perf.calibration import CalibrationError
from archscope.perf.roofline import layer_work, predict


@pytest.fixture
def cache(tmp_path, monkeypatch):
    path = tmp_path / "sub" / "calibration.json"
    monkeypatch.setenv(calibration.ENV_VAR, str(path))
    return path


def no_traceback(text: str) -> None:
    assert "Traceback" not in text and "internal error" not in text, text


def test_round_trip_keeps_every_figure_and_other_entries(cache):
    assert calibration.load_all() == {}
    other = replace(CAL, dtype="bfloat16", gemm_gflops=80.0)
    assert calibration.store(CAL) == cache
    calibration.store(other)
    assert calibration.lookup("cpu", "float32") == CAL
    assert calibration.lookup("cpu", "bfloat16") == other
    assert calibration.lookup("cuda", "float32") is None
    data = json.loads(cache.read_text())
    assert set(data["entries"]) == {"cpu/float32", "cpu/bfloat16"}
    d = CAL.to_dict()
    assert (d["peak_gflops"], d["bandwidth_gbs"]) == (50.0, 12.5)  # the faster of each pair
    assert CAL.ridge == 4.0


def test_efficiency_is_interpolated_on_log_batch():
    assert CAL.batches == [1, 16]
    assert CAL.efficiency_at("gemm", 1) == 0.5 and CAL.efficiency_at("gemm", 16) == 0.25
    assert CAL.efficiency_at("gemm", 4) == pytest.approx(math.sqrt(0.5 * 0.25))  # halfway on log(batch)
    assert CAL.efficiency_at("grouped", 4) == pytest.approx(math.sqrt(0.1 * 0.25))
    assert CAL.efficiency_at("gemm", 256) == 0.25  # beyond the calibrated batches: the nearest
    assert CAL.efficiency_at("view", 4) == 1.0  # never fitted: moves nothing


def test_cache_path_follows_xdg_and_the_override(monkeypatch, tmp_path):
    monkeypatch.delenv(calibration.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert calibration.cache_path() == tmp_path / "archscope" / "calibration.json"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert calibration.cache_path() == tmp_path / "home" / ".cache" / "archscope" / "calibration.json"
    monkeypatch.setenv(calibration.ENV_VAR, str(tmp_path / "x.json"))
    assert calibration.cache_path() == tmp_path / "x.json"


def test_predict_without_a_calibration_says_which_command_to_run(cache):
    result = CliRunner().invoke(app, ["predict", "resnet18"])
    assert result.exit_code == 2
    assert "no calibration for cpu float32" in result.stderr
    assert "`archscope calibrate --device cpu --dtype float32`" in result.stderr
    assert str(cache) in result.stderr
    no_traceback(result.output)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('{"format": 1, "entries": {', "is not valid JSON (line 1, column 27"),
        ("[1, 2]", "has no `entries` object"),
        (
            '{"format": 1, "entries": {"cpu/float32": {"device": "cpu"}}}',
            "entry `cpu/float32`: an entry has no `dtype`",
        ),
        (
            json.dumps({"format": 1, "entries": {"cpu/float32": {**CAL.to_dict(), "gemm_gflops": "fast"}}}),
            "`gemm_gflops` is 'fast', expected a float",
        ),
        (
            json.dumps({"format": 1, "entries": {"cpu/float32": {**CAL.to_dict(), "efficiency": {"gemm": -1}}}}),
            "`efficiency` is {'gemm': -1}",
        ),
        (
            json.dumps(
                {"format": 1, "entries": {"cpu/float32": {**CAL.to_dict(), "gemm_gflops": 0, "conv_gflops": 0}}}
            ),
            "no positive peak",
        ),
    ],
)
def test_a_corrupt_cache_is_a_clear_message(cache, text, said):
    cache.parent.mkdir(parents=True)
    cache.write_text(text)
    with pytest.raises(CalibrationError, match="delete it|entry") as err:
        calibration.load_all()
    assert said in str(err.value) and str(cache) in str(err.value)
    result = CliRunner().invoke(app, ["predict", "lenet5"])
    assert result.exit_code == 2 and said in result.stderr
    no_traceback(result.output)
    calibration.store(CAL)  # `calibrate` replaces a corrupt file
    assert calibration.lookup("cpu", "float32") == CAL


def test_unreadable_bytes_and_another_layout(cache):
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"\xff\xfe{")
    with pytest.raises(CalibrationError, match="cannot be read"):
        calibration.load_all()
    cache.write_text(json.dumps({"format": 99, "entries": {}}))
    assert calibration.load_all() == {}  # another archscope's layout: measured again, not misread


def test_figures_from_another_torch_or_thread_count_are_flagged():
    assert calibration.mismatch(CAL, "2.13.0+cpu", 1) is None
    why = calibration.mismatch(CAL, "2.14.0", 4)
    assert "torch 2.13.0+cpu, not 2.14.0" in why and "1 thread, not 4" in why
    assert "`archscope calibrate --device cpu --dtype float32 --threads 4`" in why
    gpu = replace(CAL, device="cuda", device_name="GPU A", threads=2)
    assert calibration.mismatch(gpu, "2.13.0+cpu", 8) is None  # threads do not matter on a GPU
    assert "`GPU A`, not `GPU B`" in calibration.mismatch(gpu, "2.13.0+cpu", 8, "GPU B")


def test_every_op_declares_its_kind_of_kernel():
    for name, op in REGISTRY.items():
        assert op.kernel is not None, f"`{name}` declares no `kernel`"
        defaults = {a.name: a.default for a in op.attrs}
        if op.weighted and "groups" in defaults:  # convolutions: dense or grouped
            assert op.kernel({**defaults, "groups": 1}) == "gemm" and op.kernel({**defaults, "groups": 4}) == "grouped"
        else:
            assert op.kernel(defaults) in KERNELS


def test_bytes_and_flops_by_hand():
    """conv 3→8, 3×3 on 8×8 (no bias), then flatten (a view): by hand at float32 and float16."""
    a = archscope.analyze(
        "t.yaml",
        text="input: [3, 8, 8]\nlayers:\n  - {op: conv2d, out: 8, kernel: 3, bias: false}\n  - {op: flatten}\n",
    )
    conv, flat = layer_work(a.graph, batch=2, dtype="float32")
    macs = 8 * 6 * 6 * 3 * 9
    assert (conv.kernel, conv.macs, conv.flops) == ("gemm", 2 * macs, 2 * 2 * macs)
    assert conv.bytes == 4 * ((3 * 8 * 8 + 8 * 6 * 6) * 2 + 8 * 3 * 9)
    assert (flat.kernel, flat.flops, flat.bytes, flat.intensity) == ("view", 0, 0, None)
    assert layer_work(a.graph, 2, "float16")[0].bytes == conv.bytes // 2


@pytest.mark.usefixtures("cache")
def test_prediction_is_the_sum_of_its_layers_and_json_says_so():
    calibration.store(CAL)
    result = CliRunner().invoke(app, ["predict", "mobilenet_v2", "--batch", "4", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["latency_ms"] == pytest.approx(sum(r["predicted_ms"] for r in data["layers"]))
    assert data["batch"] == 4 and data["device"] == "cpu" and data["calibration"]["peak_gflops"] == 50.0
    a = archscope.analyze("mobilenet_v2")
    assert len(data["layers"]) == len(a.report.layers)
    for row, w in zip(data["layers"], layer_work(a.graph, 4)):
        assert (row["name"], row["flops"], row["bytes"]) == (w.name, w.flops, w.bytes)
        compute, memory = w.flops / 50e9, w.bytes / 12.5e9
        assert row["bound"] == ("none" if not w.flops and not w.bytes else "compute" if compute >= memory else "memory")
        assert row["attainable_ms"] == pytest.approx(max(compute, memory) * 1e3)
        expected = max(compute, memory) / CAL.efficiency_at(w.kernel, 4) + 15e-6
        assert row["predicted_ms"] == pytest.approx(expected * 1e3)
    assert data["macs_only_ms"] == pytest.approx(2 * a.report.totals.macs * 4 / 50e9 * 1e3)
    table = CliRunner().invoke(app, ["predict", "resnet18", "--depth", "1"])
    assert table.exit_code == 0 and "basic ×2" in table.stdout and "predicted latency" in table.stdout


def test_predict_imports_no_torch(cache):
    """A whole process, checked by Python's own import log (as tests/test_static_imports.py does)."""
    calibration.store(CAL)
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "archscope", "predict", "resnet18", "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, calibration.ENV_VAR: str(cache)},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = imported_packages(proc.stderr)
    assert "archscope" in imported and "yaml" in imported
    assert not imported & {"torch", "fvcore"}
    assert json.loads(proc.stdout)["latency_ms"] > 0


@pytest.mark.usefixtures("cache")
def test_predict_reports_spec_errors_and_usage():
    calibration.store(CAL)
    bad = CliRunner().invoke(app, ["predict", "no_such_spec"])
    assert bad.exit_code == 2 and "E000" in bad.output
    assert CliRunner().invoke(app, ["predict", "lenet5", "--device", "tpu"]).exit_code == 2
    missing = CliRunner().invoke(app, ["predict", "lenet5", "--dtype", "bfloat16"])
    assert missing.exit_code == 2 and "--dtype bfloat16" in missing.stderr


@settings(max_examples=25, deadline=None)
@given(batch=st.integers(1, 64), extra=st.integers(1, 64))
def test_latency_grows_with_the_batch_and_never_beats_the_roofline(batch, extra):
    graph = archscope.analyze("squeezenet1_1").graph
    small, large = predict(graph, CAL, batch), predict(graph, CAL, batch + extra)
    assert small.latency_s < large.latency_s
    assert small.attainable_s <= small.latency_s and math.isclose(
        small.macs_only_s, 2 * small.macs / 50e9, rel_tol=1e-12
    )


def test_the_fit_recovers_known_constants():
    fit_model = pytest.importorskip("archscope.torch_backend.calibrate").fit_model
    truth = {"gemm:compute@1": 0.6, "gemm:memory@1": 0.15, "pool:memory@1": 0.2, "elementwise:memory@1": 1.3}
    overhead = 40e-6
    samples = [
        (key, roof, roof / eff + overhead + fixed, fixed)
        for key, eff in truth.items()
        for roof in (1e-5, 1e-4, 1e-3, 1e-2)
        for fixed in (0.0, 3 * roof)  # first touch: known from calibration, not fitted
    ]
    eff, o_us, error = fit_model(samples)
    assert o_us == pytest.approx(40, rel=0.15)
    for key, e in truth.items():
        assert eff[key] == pytest.approx(e, rel=0.1)
    # each kind over both sides of the ridge (the fallback for a bound it had no layer of): the
    # efficiency of their summed time, here (the same roofs on both sides) the harmonic mean
    assert eff["gemm@1"] == pytest.approx(2 / (1 / 0.6 + 1 / 0.15), rel=0.1)
    assert eff["pool@1"] == pytest.approx(0.2, rel=0.1)
    assert error < 0.05


def test_an_efficiency_by_bound_falls_back_to_the_kind():
    cal = replace(CAL, efficiency={"gemm@1": 0.5, "gemm:compute@1": 0.8, "pool@1": 0.3})
    assert cal.efficiency_at("gemm", 1, "compute") == 0.8
    assert cal.efficiency_at("gemm", 1, "memory") == 0.5  # no memory-bound gemm was calibrated
    assert cal.efficiency_at("pool", 1, "memory") == 0.3 and cal.efficiency_at("pool", 1) == 0.3


def test_first_touch_is_charged_only_above_the_threshold_and_never_in_place():
    from archscope.perf.roofline import layer_work, roof

    cal = replace(CAL, first_touch_gbs=1.0, fresh_threshold_bytes=32 * 2**20)
    # 64 channels × 224² float32 = 12.8 MB a image: over 32 MiB from batch 3 on
    text = "input: [3, 224, 224]\nlayers:\n  - {op: conv2d, out: 64, kernel: 3, padding: 1}\n  - relu\n  - sigmoid\n"
    graph = archscope.analyze("t.yaml", text=text).graph
    for batch in (2, 3):
        conv, relu, sig = (roof(w, cal, batch) for w in layer_work(graph, batch))
        out_bytes = 64 * 224 * 224 * 4 * batch
        assert conv.work.fresh_bytes == out_bytes and sig.work.fresh_bytes == out_bytes
        assert relu.work.fresh_bytes == 0  # built in place: no new tensor
        expected = out_bytes / 1e9 if out_bytes > 32 * 2**20 else 0.0
        assert conv.first_touch_s == pytest.approx(expected) and sig.first_touch_s == pytest.approx(expected)
        assert relu.first_touch_s == 0.0


def test_calibrate_show_prints_the_stored_figures_without_measuring(cache):
    missing = CliRunner().invoke(app, ["calibrate", "--show"])
    assert missing.exit_code == 2 and "run `archscope calibrate --device cpu --dtype float32` first" in missing.stderr
    calibration.store(replace(CAL, first_touch_gbs=1.25, fresh_threshold_bytes=32 * 2**20))
    shown = CliRunner().invoke(app, ["calibrate", "--show", "--format", "json"])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    assert data["peak_gflops"] == CAL.peak_gflops and data["first_touch_gbs"] == 1.25
    assert data["efficiency"] == CAL.efficiency and data["cache"] == str(cache)
    table = CliRunner().invoke(app, ["calibrate", "--show"])
    assert "first touch" in table.stdout and "over 32 MiB" in table.stdout

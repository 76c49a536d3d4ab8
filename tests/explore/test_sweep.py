"""`archscope sweep`: variants (grid, random draws), the Pareto front (property-tested), the
static figures of each variant (against the bundled specs' published numbers, and the built
module's parameters in the torch test), invalid variants kept, sweep files' located errors,
W104, and EfficientNet's compound scaling reproducing the bundled B1–B7 exactly."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st
from shared import CAL
from typer.testing import CliRunner

from archscope.api import analyze
from archscope.cli.app import app
from archscope.diagnostics import SpecError
from archscope.explore.compound import coefficient_search, compound_table
from archscope.explore.sweep import (
    StaticOptions,
    VariantResult,
    analyze_variants,
    dominates,
    load_source,
    pareto,
    sorted_results,
)
from archscope.explore.sweepfile import read_sweep_text
from archscope.explore.variants import Axis, AxisError, make_variant, parse_axis, variants
from archscope.overrides import Overrides
from archscope.perf import calibration

runner = CliRunner()


@pytest.fixture
def no_calibration(tmp_path, monkeypatch):
    monkeypatch.setenv(calibration.ENV_VAR, str(tmp_path / "none.json"))


@pytest.fixture
def calibrated(tmp_path, monkeypatch):
    path = tmp_path / "calibration.json"
    monkeypatch.setenv(calibration.ENV_VAR, str(path))
    calibration.store(CAL, path)


# -- the Pareto front ---------------------------------------------------------------------


def _results(points: list[tuple[int, int]]) -> list[VariantResult]:
    return [VariantResult(make_variant(i, {}), params=x, macs=y) for i, (x, y) in enumerate(points)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), max_size=25))
def test_the_front_is_undominated_and_dominates_the_rest(points):
    front = pareto(_results(points), "params", "macs")
    for i in front:
        assert not any(dominates(q, points[i]) for q in points)
    for i in set(range(len(points))) - front:
        assert any(dominates(points[j], points[i]) for j in front)


def test_the_front_of_a_known_set_and_invalid_variants_take_no_part():
    results = _results([(1, 9), (2, 5), (3, 5), (4, 1), (4, 1), (5, 0), (6, 6)])
    assert pareto(results, "params", "macs") == {0, 1, 3, 4, 5}
    results.append(VariantResult(make_variant(7, {}), error=analyze("x.yaml", text="input: [3]\n").errors[0]))
    assert pareto(results, "params", "macs") == {0, 1, 3, 4, 5}


def test_a_maximised_metric_flips_the_front_and_the_sort():
    results = [
        VariantResult(make_variant(i, {}), macs=m, rf_size=f)
        for i, (m, f) in enumerate([(1, 100.0), (2, 300.0), (2, 200.0), (3, 250.0), (4, 900.0)])
    ]
    assert pareto(results, "macs", "rf") == {0, 1, 4}  # 2 and 3: as costly as 1 or more, a smaller field
    assert [r.variant.index for r in sorted_results(results, "rf")] == [4, 1, 3, 2, 0]


# -- axes and variants --------------------------------------------------------------------


def test_a_grid_is_the_product_in_order_and_random_draws_are_seeded_and_in_range():
    found = variants([parse_axis("width=0.5,1.0"), parse_axis("resolution=160:224:32")])
    assert [v.axes for v in found] == [{"width": w, "resolution": r} for w in (0.5, 1.0) for r in (160, 192, 224)]
    assert found[1].overrides == Overrides(width=0.5, resolution=192)
    axes = [parse_axis("width=0.25:2.0"), parse_axis("resolution=96:320"), parse_axis("batch=1,8")]
    drawn = variants(axes, random=50, seed=3)
    assert drawn == variants(axes, random=50, seed=3) and drawn != variants(axes, random=50, seed=4)
    assert all(0.25 <= v.axes["width"] <= 2.0 and 96 <= v.axes["resolution"] <= 320 for v in drawn)
    assert {v.batch for v in drawn} == {1, 8} and all(isinstance(v.axes["resolution"], int) for v in drawn)
    assert parse_axis("stages=[[2,2,2,2],[3,4,6,3]]").values == ([2, 2, 2, 2], [3, 4, 6, 3])
    assert len({v.axes["width"] for v in variants([parse_axis("width=1:2")], random=20)}) > 2  # not just 1 and 2
    with pytest.raises(AxisError, match="backwards"):
        parse_axis("width=2:1")


def test_width_and_depth_at_one_are_the_published_network_and_scale_it():
    spec = load_source("resnet50")
    found = variants([Axis("width", (1.0, 0.5)), Axis("depth", (1.0, 2.0))])
    results = analyze_variants("resnet50", found, StaticOptions(train=True), spec=spec, workers=1)
    first = results[0]
    assert (first.params, first.macs) == (25_557_032, 4_089_184_256)  # torchvision's published figures
    assert first.rf == "global (427×427)"
    assert first.train_memory_bytes > first.memory_bytes > 4 * first.params
    by_axes = {(r.variant.axes["width"], r.variant.axes["depth"]): r for r in results}
    # depth 2 doubles every stage's blocks: resnet50's [3,4,6,3] becomes [6,8,12,6]
    deeper = analyze("resnet50", params={"stages": [6, 8, 12, 6]}).report.totals
    assert (by_axes[(1.0, 2.0)].params, by_axes[(1.0, 2.0)].macs) == (deeper.params, deeper.macs)
    assert by_axes[(0.5, 1.0)].params < first.params / 3


def test_the_pool_gives_the_in_process_results():
    spec = load_source("resnet18")
    found = variants([Axis("resolution", (64, 96, 128)), Axis("num_classes", (10, 100))])
    alone = analyze_variants("resnet18", found, StaticOptions(), spec=spec, workers=1)
    pooled = analyze_variants("resnet18", found, StaticOptions(), workers=2)
    assert pooled == alone


def test_w104_for_a_width_that_changes_nothing():
    w104 = [d for d in analyze("lenet5", overrides=Overrides(width=2.0)).diagnostics if d.code == "W104"]
    assert len(w104) == 1 and "`ch()`" in w104[0].message
    assert not analyze("resnet50", overrides=Overrides(width=2.0, depth=2.0)).diagnostics
    result = runner.invoke(app, ["sweep", "lenet5", "--grid", "width=0.5,1", "--grid", "num_classes=10,20"])
    words = " ".join(result.output.split())  # the terminal table's notes wrap
    assert result.exit_code == 0 and "W104" in words and "that axis is left out" in words


# -- the command --------------------------------------------------------------------------


@pytest.mark.usefixtures("calibrated")
def test_sweep_table_golden_with_an_invalid_variant(golden):
    # lenet5 at resolution 8: the second 5×5 conv does not fit: reported, not dropped
    result = runner.invoke(
        app,
        ["sweep", "lenet5", "-g", "resolution=8,28,32", "-g", "num_classes=10,100", "--sort", "predicted_ms"],
        env={"NO_COLOR": "1", "COLUMNS": "120"},  # the golden's width, whatever the process was given
    )
    assert result.exit_code == 0, result.output
    assert "6 variants: 4 analysed, 2 invalid (listed below)" in result.output
    assert "invalid #0 (resolution 8, num_classes 10): E102" in result.output
    golden("sweep_lenet5_table", result.output)


@pytest.mark.usefixtures("no_calibration")
def test_sweep_json_has_every_variant_and_the_front():
    result = runner.invoke(
        app, ["sweep", "lenet5", "-g", "resolution=8:32:12", "-f", "json", "--pareto", "params,macs"]
    )
    data = json.loads(result.output)
    assert data["variants"] == 3 and data["invalid"] == 1 and data["pareto"] == ["params", "macs"]
    errors = [r for r in data["results"] if "error" in r]
    assert errors[0]["axes"] == {"resolution": 8} and errors[0]["error"]["code"] == "E102"
    valid = [r for r in data["results"] if "error" not in r]
    assert [r["axes"]["resolution"] for r in valid] == [20, 32]  # sorted by macs
    assert [(r["params"], r["macs"]) for r in valid][1] == (61_706, 416_520)  # lenet5's own input: its expect
    assert [r["pareto"] for r in valid] == [True, False]


@pytest.mark.usefixtures("no_calibration")
def test_usage_errors():
    cases = [
        (["sweep", "resnet50"], "at least one axis"),
        (["sweep", "resnet50", "-g", "widht=0.5"], "did you mean `width`"),
        (["sweep", "resnet50", "-g", "width=0.5", "--sort", "predicted_ms"], "`archscope calibrate`"),
        (["sweep", "resnet50", "-g", "width=0.5:1"], "LO:HI:STEP"),
        (["sweep", "resnet50", "-g", "resolution=1.5"], "positive integers"),
        (["sweep", "resnet50", "-g", "width=1", "--pareto", "macs"], "two different metrics"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and message in result.output, (args, result.output)


@pytest.mark.usefixtures("no_calibration")
def test_a_sweep_file_runs_and_its_errors_are_located(tmp_path):
    good = tmp_path / "s.yaml"
    good.write_text("spec: resnet18\ngrid:\n  resolution: [64, 128]\nsort: params\npareto: [params, memory]\n")
    result = runner.invoke(app, ["sweep", str(good), "-f", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["pareto"] == ["params", "memory"]
    (tmp_path / "mine.yaml").write_text((ROOT / "specs" / "lenet5.yaml").read_text())
    beside = tmp_path / "beside.yaml"
    beside.write_text("spec: mine.yaml\ngrid: {num_classes: [10, 20]}\n")
    result = runner.invoke(app, ["sweep", str(beside), "-f", "json"])
    assert result.exit_code == 0 and json.loads(result.output)["results"][0]["params"] == 61_706
    with pytest.raises(SpecError) as found:
        read_sweep_text("spec: resnet50\ngird: {width: [0.5]}\nrandom: 0\nsort: flops\n", "s.yaml")
    assert [(d.code, d.span.line, d.span.col) for d in found.value.diagnostics] == [
        ("E014", 2, 1),
        ("E014", 3, 9),
        ("E014", 4, 7),
    ]
    assert "did you mean `grid`" in found.value.diagnostics[0].message
    bad = tmp_path / "bad.yaml"
    bad.write_text("spec: resnet50\ngrid:\n  width: [0.5, -1]\n  colour: [1]\n")
    result = runner.invoke(app, ["sweep", str(bad)])
    assert result.exit_code == 1 and "bad.yaml:3:10: error E015" in result.output


@pytest.mark.usefixtures("no_calibration")
def test_bench_sends_each_valid_variant_to_the_executors_and_marks_the_measured_front(monkeypatch):
    """The interface of `archscope.torch_backend.executors` (BenchJob, run_jobs, BenchOutcome), stood in for here;
    the real executors are tested on their own, and end to end below when installed."""
    import sys
    import types
    from dataclasses import dataclass

    sent = []

    @dataclass(frozen=True)
    class BenchJob:
        key: int
        source: str
        text: str | None
        overrides: Overrides
        batch: int = 1
        device: str = "auto"
        dtype: str = "float32"
        threads: int | None = None
        min_time: float = 2.0

    @dataclass(frozen=True)
    class BenchOutcome:
        key: int
        median_ms: float | None
        error: str | None
        record: dict

    def run_jobs(jobs, **_where):  # executor=, address=, progress=: one process here
        sent.extend(jobs)
        return [
            BenchOutcome(j.key, None if j.batch == 4 else 10.0 / j.key, "out of memory" if j.batch == 4 else None, {})
            for j in jobs
        ]

    fake = types.ModuleType("archscope.torch_backend.executors")
    fake.BenchJob, fake.BenchOutcome, fake.run_jobs = BenchJob, BenchOutcome, run_jobs
    fake.spec_text = lambda _source: None  # a bundled name: no text to send
    monkeypatch.setitem(sys.modules, "archscope.torch_backend.executors", fake)
    args = [
        "sweep",
        "lenet5",
        "-g",
        "resolution=8,28,32",
        "-g",
        "batch=1,4",
        "--bench",
        "--min-time",
        "0.5",
        "-f",
        "json",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert [(j.key, j.batch, j.overrides.resolution, j.min_time, j.device) for j in sent] == [
        (2, 1, 28, 0.5, "cpu"),
        (3, 4, 28, 0.5, "cpu"),
        (4, 1, 32, 0.5, "cpu"),
        (5, 4, 32, 0.5, "cpu"),
    ]  # the invalid resolution 8 is not sent
    data = json.loads(result.output)
    assert data["pareto"] == ["macs", "measured_ms"]
    measured = {r["index"]: r.get("measured_ms") for r in data["results"] if "error" not in r}
    assert measured == {2: 5.0, 3: None, 4: 2.5, 5: None}
    assert {r["index"] for r in data["results"] if r.get("pareto")} == {2, 4}  # 28: fewer MACs; 32: faster
    assert [r["bench_error"] for r in data["results"] if "bench_error" in r] == ["out of memory"] * 2


@pytest.mark.usefixtures("no_calibration")
def test_bench_end_to_end_with_the_real_executors():
    pytest.importorskip("archscope.torch_backend.executors")  # first: without it, no need to import torch
    pytest.importorskip("torch")
    args = ["sweep", "lenet5", "-g", "resolution=28,32", "--bench", "--min-time", "0.1", "-f", "json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["pareto"] == ["macs", "measured_ms"]
    assert all(r["measured_ms"] > 0 for r in data["results"])
    import socket

    import torch

    records = [r["bench"] for r in data["results"]]  # where each variant was measured
    assert {(r["node"], r["executor"], r["attempts"], r["torch"]) for r in records} == {
        (socket.gethostname(), "local", 1, torch.__version__)
    }
    # each measured network is the variant: its params as the sweep analysed them (lenet5 at 28: 44,426)
    assert [r["params"] for r in records] == [r["params"] for r in data["results"]]
    assert data["results"][0]["params"] == 44_426 and data["results"][1]["params"] > 44_426


# -- compound scaling ---------------------------------------------------------------------


def test_the_released_compound_table_reproduces_the_bundled_b1_to_b7_exactly():
    rows = compound_table()
    assert [r.phi for r in rows] == list(range(8))
    assert all(r.matches for r in rows)  # params and MACs = each spec's expect: (torchvision's figures)
    assert (rows[7].params, rows[7].macs) == (66_347_960, 37_745_884_192)
    assert rows[1].raw == (1.1, 1.2, 258)  # α^φ etc. are not the released B1 (1.0, 1.1, 240)


def test_coefficients_near_the_constraint_about_double_the_macs_per_step():
    found = coefficient_search(values=(1.0, 1.1, 1.2, 1.15), tolerance=0.1, steps=1, workers=1)
    paper = next(c for c in found if (c.alpha, c.beta, c.gamma) == (1.2, 1.1, 1.15))
    assert paper.flops_factor == pytest.approx(1.92, abs=1e-3)
    assert 2.2 < paper.growth < 2.8  # rounding up channels and repeats: more than α·β²·γ² at φ=1
    assert len(found) == 16 and all(1.9 <= c.flops_factor <= 2.1 for c in found)
    # at φ=1 rounding repeats up makes depth grow in lumps (1.1 × 1 block = 2 blocks): never below α·β²·γ²
    assert all(c.flops_factor < c.growth < 1.8 * c.flops_factor for c in found)


def _phi_rows(output: str) -> list[tuple[int, int, int, str]]:
    return [(r["phi"], r["params"], r["macs"], r["matches"]) for r in json.loads(output)]


def test_sweep_compound_is_a_subcommand_with_only_its_own_options():
    result = runner.invoke(app, ["sweep", "compound", "--phi", "0..1", "-f", "json"])
    assert result.exit_code == 0, result.output
    # efficientnet_b0 and b1: torchvision's figures (the bundled specs' expect:)
    assert _phi_rows(result.stdout) == [(0, 5_288_548, 385_814_752, "yes"), (1, 7_794_184, 686_802_832, "yes")]
    assert "note:" not in result.stderr
    flagged = runner.invoke(app, ["sweep", "--no-color", "compound", "--phi", "0..1", "-f", "json"])
    assert flagged.exit_code == 0 and flagged.stdout == result.stdout  # a global option before the subcommand
    grid_only = runner.invoke(app, ["sweep", "compound", "--grid", "width=1"])
    compound_only = runner.invoke(app, ["sweep", "resnet50", "-g", "width=1", "--phi", "1..2"])
    assert grid_only.exit_code == compound_only.exit_code == 2
    assert "No such option: --grid" in grid_only.output and "No such option: --phi" in compound_only.output
    other = runner.invoke(app, ["sweep", "compound", "resnet50"])
    assert other.exit_code == 2 and "scales `efficientnet_b0`" in other.output and "not `resnet50`" in other.output
    beyond = runner.invoke(app, ["sweep", "compound", "--phi", "0..13"])
    assert beyond.exit_code == 2 and "φ runs from 0 to 12" in beyond.output


def test_the_old_compound_spelling_still_works_with_a_note_naming_the_new_one():
    new = runner.invoke(app, ["sweep", "compound", "efficientnet_b0", "--phi", "0..1", "-f", "json"])
    old = runner.invoke(app, ["sweep", "efficientnet_b0", "--compound", "--phi", "0..1", "-f", "json"])
    assert old.exit_code == 0 and old.stdout == new.stdout  # the same rows, and nothing else on stdout
    assert old.stderr.splitlines() == [
        "archscope: note: `sweep SPEC --compound` is now `archscope sweep compound SPEC`; "
        "the old spelling goes in the next release"
    ]
    both = runner.invoke(app, ["sweep", "efficientnet_b0", "--compound", "--coefficients", "-f", "json"])
    assert "`archscope sweep compound SPEC --coefficients`" in both.stderr
    coefficients = runner.invoke(app, ["sweep", "compound", "--coefficients", "-f", "json"])
    assert coefficients.exit_code == both.exit_code == 0 and "note:" not in coefficients.stderr
    assert both.stdout == coefficients.stdout and len(json.loads(both.stdout)) > 10


def test_sweep_compound_help_shows_its_own_usage_and_the_sweep_help_lists_it():
    sweep = runner.invoke(app, ["sweep", "--help"], env={"COLUMNS": "120"})
    compound = runner.invoke(app, ["sweep", "compound", "--help"], env={"COLUMNS": "120"})
    assert _usage(sweep.output) == "Usage: archscope sweep [OPTIONS] SPEC" and "COMMAND" not in sweep.output
    assert "│ compound " in sweep.output
    assert _usage(compound.output) == "Usage: archscope sweep compound [OPTIONS] [SPEC]"
    assert "--grid" not in compound.output


def _usage(output: str) -> str:
    """The usage line, with the argument's metavar as typer 0.26 (the declared lower bound) prints
    it: later releases print `SPEC` as `{spec}` and `[SPEC]` as `[spec]`."""
    line = " ".join(next(line for line in output.splitlines() if "Usage:" in line).split())
    return line.replace("{spec}", "SPEC").replace("[spec]", "[SPEC]")


def test_a_scaled_variant_matches_the_module_pytorch_builds():
    axes = {"width": 0.3, "depth": 0.34, "resolution": 40}  # one block per stage (rep rounds up), 24-wide stem
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    import archscope
    from archscope.api import analyze_spec

    spec = load_source("resnet50")
    variant = make_variant(0, axes)
    static = analyze_variants("resnet50", [variant], StaticOptions(), spec=spec, workers=1)[0]
    net = archscope.build(analyze_spec(spec, variant.overrides)).eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        net(torch.zeros(1, 3, axes["resolution"], axes["resolution"]))
    assert static.params == sum(p.numel() for p in net.parameters())
    assert static.macs * 2 == counter.get_total_flops()  # conv and linear: 2 FLOPs per MAC


def test_the_plot_draws_the_front_and_labels_the_reference_nets():
    pytest.importorskip("matplotlib")
    from archscope.explore.sweep import run_sweep
    from archscope.render.plots import sweep_plot

    found = run_sweep(
        "lenet5", [Axis("resolution", (28, 32)), Axis("num_classes", (10, 100))], metrics=("params", "macs")
    )
    svg = sweep_plot(found, [("lenet5", 61_706.0, 416_520.0)]).decode()
    assert "Pareto front" in svg and "lenet5" in svg and "4 variants, 1 on the front" in svg


def test_the_graph_says_which_multipliers_the_spec_applies() -> None:
    """Dropped sweep axes come from this fact, not from the wording of W104."""
    import archscope

    assert archscope.analyze("lenet5").graph.scaled == frozenset()
    assert archscope.analyze("resnet50").graph.scaled == {"width", "depth"}
    assert archscope.analyze("yolov8n").graph.scaled == {"width"}  # its repeats are written out, not rep()

"""`archscope draw`: the diagram model (boxes, ×N collapse, skips, inputs and outputs) against the
report's own totals, golden Mermaid and DOT text, SVG/PNG through Graphviz, and bad input."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from shared import transcript

from archscope.api import analyze
from archscope.results.diagram import build_diagram

FPN = "tests/golden/inputs/fpn_neck.yaml"
HAS_DOT = shutil.which("dot") is not None
try:
    import graphviz  # noqa: F401  (the `draw` extra)

    HAS_GRAPHVIZ = True
except ImportError:
    HAS_GRAPHVIZ = False

GOLDEN = {
    "draw_resnet50_mermaid": ["draw", "resnet50"],
    "draw_resnet50_dot": ["draw", "resnet50", "--format", "dot"],
    "draw_resnet18_depth2_mermaid": ["draw", "resnet18", "--depth", "2"],
    "draw_fpn_neck_mermaid": ["draw", FPN],
    "draw_fpn_neck_dot": ["draw", FPN, "--format", "dot"],
    "draw_unet_dot": ["draw", "unet", "-f", "dot"],
}


@pytest.mark.parametrize("name", list(GOLDEN))
def test_golden(cli, golden, monkeypatch, name):
    monkeypatch.chdir(ROOT)
    args = GOLDEN[name]
    golden(name, transcript(cli(*args, env={"NO_COLOR": "1", "COLUMNS": "120"}), args))


def _diagram(spec: str, depth: int | None = None, expand: bool = False):
    a = analyze(spec)
    assert a.ok and a.graph is not None and a.report is not None
    return a, build_diagram(a.graph, depth, expand)


def test_resnet50_draws_as_its_stages():
    a, d = _diagram("resnet50")
    blocks = [(b.name, b.what, b.layers) for b in d.boxes if b.kind == "block"]
    assert blocks == [
        ("layer1", "bottleneck ×3", 32),  # 12 layers in the first block (projection), 10 in the others
        ("layer2", "bottleneck ×4", 42),
        ("layer3", "bottleneck ×6", 62),
        ("layer4", "bottleneck ×3", 32),
    ]
    assert len(d.boxes) == 13  # input, 4 stem layers, 4 stages, avgpool, flatten, fc, output
    layer4 = next(b for b in d.boxes if b.name == "layer4")
    assert layer4.shape == (2048, 7, 7)
    assert layer4.params == sum(r.params for r in a.report.layers if r.name.startswith("layer4."))


@pytest.mark.parametrize("spec", ["resnet50", "unet", "yolov8n", "densenet121", "googlenet", "efficientnet_b0"])
@pytest.mark.parametrize(("depth", "expand"), [(None, False), (2, False), (None, True), (1, True)])
def test_boxes_add_up_to_the_report_and_arrows_go_forward(spec, depth, expand):
    a, d = _diagram(spec, depth, expand)
    layers = [b for b in d.boxes if b.kind in ("layer", "block")]
    assert sum(b.params for b in layers) == a.report.totals.params
    assert sum(b.macs for b in layers) == a.report.totals.macs
    assert sum(b.layers for b in layers) == len(a.report.layers)
    order = {b.id: i for i, b in enumerate(d.boxes)}
    assert all(order[x.src] < order[x.dst] for x in d.arrows)  # topological: no arrow back
    assert len({(x.src, x.dst) for x in d.arrows}) == len(d.arrows)
    if expand and depth is None:
        assert len(layers) == len(a.report.layers)
        assert all(b.count == 1 for b in d.boxes)


def test_depth_collapses_only_identical_instances():
    _, d = _diagram("resnet50", depth=2)
    names = [(b.name, b.count) for b in d.boxes if b.kind == "block"]
    assert names[:2] == [("layer1.0", 1), ("layer1.1–2", 2)]  # layer1.0 has the projection shortcut
    assert ("layer3.1–5", 5) in names


def test_skips_are_the_residuals_and_the_concats():
    _, d = _diagram("resnet18", expand=True)
    skips = [x for x in d.arrows if x.skip]
    assert len(skips) == 8 and {x.merge for x in skips} == {"residual"}  # one per basic block
    _, d = _diagram("unet")
    skips = [(d.box(x.src).name, d.box(x.dst).name, x.merge) for x in d.arrows if x.skip]
    assert skips == [(src, f"up{i + 1}_cat", "concat") for i, src in enumerate(["down3", "down2", "down1", "inc"])]


def test_several_inputs_and_outputs_are_boxes():
    _, d = _diagram(FPN)
    assert [(b.name, b.shape) for b in d.boxes if b.kind == "input"] == [
        ("p3", (32, 16, 16)),
        ("p4", (64, 8, 8)),
        ("p5", (64, 4, 4)),
    ]
    assert [b.name for b in d.boxes if b.kind == "output"] == ["out3", "out4", "out5"]


@pytest.mark.skipif(not (HAS_DOT and HAS_GRAPHVIZ), reason="Graphviz's `dot` or the graphviz package is missing")
def test_svg_and_png(cli, tmp_path: Path):
    svg = cli("draw", "resnet50", "--format", "svg")
    assert svg.exit_code == 0 and "<svg" in svg.stdout and "bottleneck ×6" in svg.stdout
    out = tmp_path / "r.png"
    assert cli("draw", "resnet50", "-o", str(out)).exit_code == 0  # the format from the suffix
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_dot_it_says_how_to_install_it(cli, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` anywhere
    out = tmp_path / "r.svg"
    result = cli("draw", "resnet50", "-o", str(out))
    assert result.exit_code == 2 and not out.exists()
    assert "apt-get install graphviz" in result.stderr and "--format dot" in result.stderr
    assert cli("draw", "resnet50", "-f", "dot").exit_code == 0  # text formats still work


def test_without_the_graphviz_package_it_says_how_to_install_it(cli, tmp_path: Path, monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # `import graphviz` fails
    out = tmp_path / "r.png"
    result = cli("draw", "resnet50", "-o", str(out))
    assert result.exit_code == 2 and not out.exists()
    assert "pip install 'archscope[draw]'" in result.stderr and "apt-get install graphviz" in result.stderr


BROKEN = "input: [3, 8, 8]\nlayers:\n  - {op: conv2d, out: 4, kernel: 9}\n"


def test_bad_input(cli, tmp_path: Path):
    spec = tmp_path / "bad.yaml"
    spec.write_text(BROKEN)
    out = tmp_path / "bad.mmd"
    result = cli("draw", str(spec), "-o", str(out))
    assert result.exit_code == 1 and "E1" in result.stderr and not out.exists()  # diagnostics, no picture
    result = cli("draw", "resnet18", "--format", "gif")
    assert result.exit_code == 2 and "gif" in result.stderr
    result = cli("draw", "resnet18", "-o", str(tmp_path / "r.jpg"))
    assert result.exit_code == 2 and "give --format" in result.stderr
    target = tmp_path / "r.mmd"
    target.write_text("mine")
    result = cli("draw", "resnet18", "-o", str(target))
    assert result.exit_code == 2 and "pass --force" in result.stderr and target.read_text() == "mine"
    assert cli("draw", "resnet18", "-o", str(target), "--force").exit_code == 0
    assert target.read_text().startswith("flowchart TD")
    result = cli("draw", "resnet18", "-o", str(tmp_path / "missing" / "r.mmd"))
    assert result.exit_code == 2 and "does not exist" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml", "r.mmd"]  # nothing half-written

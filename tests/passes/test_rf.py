"""The static receptive field (passes/receptive_field.py) and `archscope rf`: anchors from the literature,
Araujo et al.'s closed form along a path, unions on merges, global ops, and the CLI formats.
(PyTorch's gradients check the same numbers in test_torch_rf.py.)"""

from __future__ import annotations

import csv
import io
import json
from fractions import Fraction

import pytest
from conftest import analyze_text, net
from typer.testing import CliRunner

import archscope
from archscope.cli.app import app


def fields(source: str, text: str | None = None):
    analysis = archscope.analyze(source, text=text)
    assert analysis.ok, [d.message for d in analysis.errors]
    return analysis.passes["receptive_field"]


def by_name(result, name: str):
    return next(layer for layer in result.layers if layer.name == name)


@pytest.mark.parametrize(
    ("spec", "layer", "size"),
    [
        ("resnet50", "layer4.2.relu3", 427),  # torchvision's ResNet-50 (stride in the 3×3)
        ("resnet18", "layer4.1.relu2", 435),
        ("vgg16", "stage.4.pool", 212),
        ("alexnet", "avgpool", 195),
        ("mobilenet_v2", "last_conv.relu6", 491),
    ],
)
def test_anchors(spec: str, layer: str, size: int):
    result = fields(spec)
    assert by_name(result, layer).size == (size, size)
    assert result.widest is not None and result.widest.size == (size, size)
    assert result.final is not None and result.final.is_global  # a classifier: global pooling or a linear layer


@pytest.mark.parametrize(
    "convs",
    [
        [(7, 2, 3, 1), (3, 2, 1, 1), (3, 1, 1, 1), (3, 2, 1, 1)],
        [(3, 1, 0, 2), (5, 3, 1, 1), (2, 2, 0, 1), (3, 1, 2, 3)],
        [(1, 2, 0, 1), (4, 1, 3, 2), (3, 3, 0, 1)],
    ],
)
def test_a_chain_follows_the_closed_form(convs):
    """Araujo, Norris, Sim (Distill 2019): r += d(k−1)·j; centre += (d(k−1)/2 − p)·j; j ×= s."""
    layers = [f"{{op: conv2d, out: 2, kernel: {k}, stride: {s}, padding: {p}, dilation: {d}}}" for k, s, p, d in convs]
    result = fields("chain.yaml", net(*layers, input="[1, 200, 200]"))
    r, j, c = 1, 1, Fraction(0)
    for (k, s, p, d), layer in zip(convs, result.layers):
        r, c, j = r + d * (k - 1) * j, c + (Fraction(d * (k - 1), 2) - p) * j, j * s
        assert layer.size == (r, r) and layer.stride == (j, j) and layer.center == (c, c)


def test_a_transposed_conv_has_a_fractional_stride():
    result = fields(
        "up.yaml",
        net(
            "{op: conv2d, name: down, out: 2, kernel: 3, stride: 2, padding: 1}",
            "{op: conv_transpose2d, name: up, out: 2, kernel: 3, stride: 3}",
            input="[1, 32, 32]",
        ),
    )
    up = by_name(result, "up")
    assert up.stride == (Fraction(2, 3), Fraction(2, 3))
    assert up.size == (3, 3)  # each output unit reads one input unit of `up`: the 3×3 of `down`


def test_branches_that_disagree_are_noted_and_united():
    text = net(
        "{op: conv2d, name: a, out: 2, kernel: 3}",
        "{op: zeropad2d, name: pad, in: input, padding: [2, 0, 2, 0]}",
        "{op: conv2d, name: b, in: pad, out: 2, kernel: 5}",
        "{op: add, name: sum, in: [a, b]}",
        input="[1, 16, 16]",
    )
    result = fields("branches.yaml", text)
    assert by_name(result, "a").center == (1, 1) and by_name(result, "b").center == (0, 0)
    assert by_name(result, "sum").size == (5, 5)  # units −2…2 ∪ 0…2
    assert any("`sum`: its inputs' fields are not aligned" in n for n in result.notes)


def test_aligned_residuals_have_no_note():
    assert fields("resnet50").notes == ()


def test_squeeze_excitation_makes_the_field_global():
    result = fields("efficientnet_b0")
    first_scale = next(layer for layer in result.layers if layer.op == "mul")
    assert first_scale.is_global
    assert all(layer.is_global for layer in result.layers[result.layers.index(first_scale) :] if not layer.flat)


def test_a_spatial_concat_has_no_static_field_and_says_why():
    text = net("{op: conv2d, name: a, out: 2, kernel: 3}", "{op: concat, name: c, in: [a, a], dim: 1}")
    result = analyze_text(text).passes["receptive_field"]
    assert "spatial dim" in by_name(result, "c").unknown


def test_adaptive_pooling_is_a_window_or_global():
    result = fields("vgg16")  # 7×7 → 7×7: a 1×1 window
    assert by_name(result, "avgpool").size == (212, 212)
    result = fields("r.yaml", net("{op: adaptive_avgpool2d, name: p, output_size: 3}", input="[1, 7, 7]"))
    assert by_name(result, "p").size == (3, 3)  # windows 0–2, 2–4, 4–6: stride 7/3
    assert by_name(result, "p").stride == (Fraction(7, 3), Fraction(7, 3))


runner = CliRunner()


def test_rf_json_has_every_layer_and_the_final_field():
    result = runner.invoke(app, ["rf", "resnet50", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    layer = next(row for row in data["layers"] if row["name"] == "layer4.2.relu3")
    assert layer["size"] == [427, 427] and layer["stride"] == [32, 32] and layer["center"] == [0, 0]
    assert layer["global"] is False
    fc = data["layers"][-1]
    assert fc["global"] is True
    assert data["receptive_field"]["global"] is True and data["receptive_field"]["size"] is None
    assert data["receptive_field"]["widest"]["size"] == [427, 427]


def test_rf_table_depth_csv_markdown_and_overrides():
    table = runner.invoke(app, ["rf", "resnet50", "--depth", "1"])
    assert table.exit_code == 0
    assert "427×427" in table.output and "global" in table.output
    assert "│ layer4 " in table.output and "│ layer4.2" not in table.output
    rows = list(
        csv.DictReader(
            line
            for line in io.StringIO(runner.invoke(app, ["rf", "vgg16", "-f", "csv"]).output)
            if not line.startswith("#")
        )
    )
    assert rows[0]["size"] == "3|3" and rows[-1]["global"] == "True"
    markdown = runner.invoke(app, ["rf", "deconvnet", "-f", "markdown"]).output
    assert "| `classifier` |" in markdown and "100×100" in markdown
    small = json.loads(runner.invoke(app, ["rf", "deconvnet", "--resolution", "32", "-f", "json"]).output)
    assert small["input"] == [3, 32, 32] and small["receptive_field"]["size"] == [100, 100]


def test_summary_and_compare_carry_the_final_field():
    data = json.loads(runner.invoke(app, ["summary", "deconvnet", "--format", "json"]).output)
    assert data["totals"]["receptive_field"]["size"] == [100, 100]
    rows = json.loads(runner.invoke(app, ["compare", "resnet50", "deconvnet", "--format", "json"]).output)
    assert [r["receptive_field"] for r in rows] == ["global (427×427)", "100×100"]

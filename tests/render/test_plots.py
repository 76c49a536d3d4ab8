"""`summary --plot` and `compare --plot`: charts through matplotlib, optional and off the static path."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("matplotlib")


def test_summary_plot_svg_and_png(cli, tmp_path: Path):
    svg = tmp_path / "layers.svg"
    result = cli("summary", "resnet50", "--depth", "1", "--plot", str(svg))
    assert result.exit_code == 0 and "layer4" in result.stdout  # the table as usual
    text = svg.read_text("utf-8")
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    assert "ResNet-50: per layer" in text
    assert [name for name in ("layer1", "layer2", "layer3", "layer4") if f">{name}<" in text] == [
        "layer1",
        "layer2",
        "layer3",
        "layer4",
    ]  # each stage named under the axis
    png = tmp_path / "layers.png"
    assert cli("summary", "lenet5", "--plot", str(png)).exit_code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_compare_plot(cli, tmp_path: Path):
    out = tmp_path / "scatter.svg"
    result = cli("compare", "resnet50", "mobilenet_v2", "vgg16", "--plot", str(out))
    assert result.exit_code == 0
    text = out.read_text("utf-8")
    assert all(f">{name}<" in text for name in ("resnet50", "mobilenet_v2", "vgg16"))
    assert ">params<" in text and ">MACs<" in text and "latency" not in text


def test_compare_plot_with_latency(cli, tmp_path: Path):
    pytest.importorskip("torch")
    out = tmp_path / "scatter.svg"
    args = ("--bench", "--device", "cpu", "--min-time", "0", "--min-runs", "1", "--warmup", "1", "--threads", "1")
    result = cli("compare", "lenet5", "lenet5", *args, "--plot", str(out))
    assert result.exit_code == 0, result.output
    assert "latency (ms, batch 1)" in out.read_text("utf-8")


def test_bad_plot_arguments(cli, tmp_path: Path):
    result = cli("summary", "lenet5", "--plot", str(tmp_path / "x.gif"))
    assert result.exit_code == 2 and ".svg or .png" in result.stderr and result.stdout == ""  # before any work
    existing = tmp_path / "x.svg"
    existing.write_text("mine")
    result = cli("compare", "lenet5", "resnet18", "--plot", str(existing))
    assert result.exit_code == 2 and "pass --force" in result.stderr and existing.read_text() == "mine"
    assert cli("compare", "lenet5", "resnet18", "--plot", str(existing), "--force").exit_code == 0
    assert "<svg" in existing.read_text()
    result = cli("summary", "lenet5", "--plot", str(tmp_path / "missing" / "x.png"))
    assert result.exit_code == 2 and "does not exist" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.svg"]

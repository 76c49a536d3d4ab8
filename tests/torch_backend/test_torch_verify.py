"""`verify` on every bundled spec, and its reports when a static rule is wrong.

The bundled specs are found by globbing ``specs/*.yaml``, so a new spec is verified without
anyone adding it here. The checks compare archscope's numbers with torch (a real forward
pass, ``numel``) and fvcore; the wrong-rule tests patch a cost rule and expect verify to
name the layer, both numbers and the source.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # builds and runs networks (or processes): not in the quick subset

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

from typer.testing import CliRunner  # noqa: E402

import archscope  # noqa: E402
from archscope.cli.app import app  # noqa: E402
from archscope.ops import REGISTRY  # noqa: E402
from archscope.ops.registry import Cost  # noqa: E402

SPECS = sorted((Path(__file__).resolve().parents[2] / "specs").glob("*.yaml"))
LENET = """name: lenet
input: [1, 32, 32]
layers:
  - {op: conv2d, name: c1, out: 6, kernel: 5}
  - tanh
  - {op: avgpool2d, kernel: 2}
  - {op: conv2d, name: c3, out: 16, kernel: 5}
  - tanh
  - {op: avgpool2d, kernel: 2}
  - flatten
  - {op: linear, name: f5, out: 120}
  - tanh
  - {op: linear, name: f6, out: 84}
  - tanh
  - {op: linear, name: output, out: 10}
"""
C1_MACS = 5 * 5 * 1 * 6 * 28 * 28  # 5×5 kernels, 1 → 6 channels, 28×28 outputs


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_every_bundled_spec_verifies(path):
    report = archscope.verify(path)
    assert report.ok, "\n".join(map(str, report.mismatches))
    analysis = archscope.analyze(path)
    assert [layer.name for layer in report.layers] == [row.name for row in analysis.report.layers]
    assert report.output_forward == analysis.report.output_shape
    assert all(layer.real_shape == layer.static_shape for layer in report.layers)
    assert report.totals["macs"]["fvcore"] == analysis.report.totals.macs


def test_verify_counts_what_torch_counts():
    """Independent of verify's own bookkeeping: numel of the built module and a real forward."""
    report = archscope.verify("resnet18")
    net = archscope.build("resnet18").eval()
    assert report.totals["params"]["module"] == sum(p.numel() for p in net.parameters())
    with torch.no_grad():
        out = net(torch.randn(1, 3, 224, 224))
    assert report.output_forward == tuple(out.shape[1:])
    notes = report.fvcore_notes()
    assert notes["counted_apart_layers"]["batch_norm"] == sum(1 for layer in report.layers if layer.op == "batchnorm2d")
    assert "aten::max_pool2d" in notes["unsupported_calls"]


def _wrong_conv_macs(monkeypatch):
    op = REGISTRY["conv2d"]

    def cost(a, inputs, out):
        right = op.cost(a, inputs, out)
        return Cost(right.params, right.buffers, right.macs + 1, right.ops)

    monkeypatch.setitem(REGISTRY, "conv2d", dataclasses.replace(op, cost=cost))


def test_a_wrong_mac_rule_is_reported_with_layer_numbers_and_source(monkeypatch):
    _wrong_conv_macs(monkeypatch)
    report = archscope.verify("lenet.yaml", text=LENET)
    assert not report.ok
    bad = [m for m in report.mismatches if m.quantity == "macs"]
    assert [m.layer for m in bad] == ["c1", "c3"]
    assert (bad[0].static, bad[0].real, bad[0].source) == (C1_MACS + 1, C1_MACS, "fvcore")
    assert str(bad[0]) == f"`c1`: macs {C1_MACS + 1:,} (archscope) ≠ {C1_MACS:,} (fvcore)"


def test_a_wrong_param_rule_is_reported(monkeypatch):
    op = REGISTRY["linear"]

    def cost(a, inputs, out):
        right = op.cost(a, inputs, out)
        return Cost(right.params - 1, right.buffers, right.macs, right.ops)

    monkeypatch.setitem(REGISTRY, "linear", dataclasses.replace(op, cost=cost))
    report = archscope.verify("lenet.yaml", text=LENET)
    params = [m for m in report.mismatches if m.quantity == "params"]
    assert {m.layer for m in params} == {"f5", "f6", "output"}
    assert all(m.source == "module numel" and m.real == m.static + 1 for m in params)


def test_cli_exit_codes_and_messages(monkeypatch, tmp_path):
    runner = CliRunner()
    ok = runner.invoke(app, ["verify", "lenet5", "tcn1d"])
    assert ok.exit_code == 0, ok.output
    assert "✓ lenet5" in ok.output and "2 of 2 specs verified" in ok.output
    as_json = runner.invoke(app, ["verify", "lenet5", "--format", "json"])
    data = json.loads(as_json.output)
    assert data[0]["ok"] is True and data[0]["layers"][0]["macs"]["fvcore"] == data[0]["layers"][0]["macs"]["static"]
    missing = runner.invoke(app, ["verify", "no_such_spec"])
    assert missing.exit_code == 2
    spec = tmp_path / "lenet.yaml"
    spec.write_text(LENET)
    _wrong_conv_macs(monkeypatch)
    bad = runner.invoke(app, ["verify", str(spec)])
    assert bad.exit_code == 1
    assert f"`c1`: macs {C1_MACS + 1:,} (archscope) ≠ {C1_MACS:,} (fvcore)" in bad.output


def test_verify_at_another_resolution_recomputes_the_static_numbers():
    report = archscope.verify("resnet18", resolution=64)
    assert report.ok and report.input == (3, 64, 64) and report.output_forward == (1000,)
    assert report.totals["macs"]["static"] == report.totals["macs"]["fvcore"]
    assert report.totals["macs"]["static"] < archscope.analyze("resnet18").report.totals.macs

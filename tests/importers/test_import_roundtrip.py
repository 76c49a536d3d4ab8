"""Every bundled spec → ``archscope export --to pytorch`` → ``archscope import`` gives the same
network: the same params, buffers, MACs and output shape for every layer (matched by the module
path the export gives it), and the same outputs with the same weights.

The export is a real file imported as ``py:FILE.py:CLASS``, exactly as a user would. Each spec runs
at the smallest input among 32, 64, 96, 128, 160, 224 that it accepts (its own when none): the
counts per layer follow the same rules at every size, and big networks stay quick on a CPU.
"""

from __future__ import annotations

import re

import pytest

pytest.importorskip("torch", reason="pip install 'archscope[torch]'")

import archscope
from archscope.lang.importers.run import import_network
from archscope.torch_backend.export import pytorch_source
from archscope.torch_backend.import_check import check_import

pytestmark = pytest.mark.slow

SIZES = (32, 64, 96, 128, 160, 224)


def smallest(name: str) -> archscope.Analysis:
    for size in SIZES:
        analysis = archscope.analyze(name, resolution=size)
        if not analysis.errors:
            return analysis
    return archscope.analyze(name)


# a ViT without its attention: every token op, and linear on tokens, imported back by the same path,
# with their names and (L, E) shapes
TOKENS = """name: tokens
input: [3, 32, 32]
layers:
  - {op: conv2d, name: conv_proj, out: 8, kernel: 16, stride: 16}
  - {op: reshape, name: patches, shape: [8, -1]}
  - {op: permute, name: tokens, dims: [1, 0]}
  - {op: class_token, name: class_token}
  - {op: position_embedding, name: pos_embedding}
  - {op: layer_norm, name: ln, eps: 0.000001}
  - {op: linear, name: linear_1, out: 16}
  - {op: gelu, name: act}
  - {op: linear, name: linear_2, out: 8}
  - {op: select, name: cls}
  - {op: linear, name: head, out: 10}
"""


@pytest.mark.parametrize("name", [s.name for s in archscope.list_specs()])
def test_export_then_import_gives_the_same_network(name: str, tmp_path, monkeypatch) -> None:
    original = smallest(name)
    _round_trip(original, name, tmp_path, monkeypatch)


def test_token_ops_import_back(tmp_path, monkeypatch) -> None:
    original = archscope.analyze("tokens.yaml", text=TOKENS)
    imported = _round_trip(original, "tokens", tmp_path, monkeypatch)
    assert [(n.op, n.name) for n in imported.graph.nodes][3:] == [
        ("class_token", "class_token"),
        ("position_embedding", "pos_embedding"),
        ("layer_norm", "ln"),
        ("linear", "linear_1"),
        ("gelu", "act"),
        ("linear", "linear_2"),
        ("select", "cls"),
        ("linear", "head"),
    ]
    assert [n.shape for n in imported.graph.nodes][3:5] == [(5, 8), (5, 8)]


def _round_trip(original: archscope.Analysis, name: str, tmp_path, monkeypatch) -> archscope.Analysis:
    """``original`` exported as PyTorch source, imported back, and checked against it and the module."""
    assert not original.errors
    source = pytorch_source(original, name)
    path = tmp_path / f"exported_{name}.py"
    path.write_text(source)
    cls = re.findall(r"^class (\w+)\(nn\.Module\):", source, re.M)[-1]
    shapes = {n.name: tuple(n.shape) for n in original.graph.inputs}
    given = shapes if len(shapes) > 1 else next(iter(shapes.values()))
    monkeypatch.chdir(tmp_path)
    result = import_network(f"py:{path.name}:{cls}", inputs=given, fold=False)
    assert result.text is not None and not result.errors, [d.message for d in result.diagnostics][:5]
    imported = result.stats["analysis"]
    a, b = original.report.totals, imported.report.totals
    assert (b.params, b.buffers, b.macs) == (a.params, a.buffers, a.macs)
    rows = {row.name: row for row in original.report.layers}
    origin = {layer.name: layer.origin for layer in result.stats["network"].layers}
    for row in imported.report.layers:
        # a call traced inside a helper module (Reshape's `Tensor.reshape`) has the origin `layer:call`
        want = rows[origin.get(row.name, row.name).split(":")[0]]
        assert (row.params, row.buffers, row.macs, row.output_shape) == (
            want.params,
            want.buffers,
            want.macs,
            want.output_shape,
        ), row.name
    check = check_import(imported, result.stats["module"], result.stats["owner"], shapes)
    assert check.ok, check
    return imported

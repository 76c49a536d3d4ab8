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


@pytest.mark.parametrize("name", [s.name for s in archscope.list_specs()])
def test_export_then_import_gives_the_same_network(name: str, tmp_path, monkeypatch) -> None:
    original = smallest(name)
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
        want = rows[origin.get(row.name, row.name)]
        assert (row.params, row.buffers, row.macs, row.output_shape) == (
            want.params,
            want.buffers,
            want.macs,
            want.output_shape,
        ), row.name
    check = check_import(imported, result.stats["module"], result.stats["owner"], shapes)
    assert check.ok, check

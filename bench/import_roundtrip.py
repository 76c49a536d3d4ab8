"""Every bundled spec through ONNX and back: export → import → the same network?

    pip install 'archscope[export]'
    python bench/import_roundtrip.py [--specs resnet50 unet] [--keep DIR]

For each spec: `export --to onnx` (archscope/torch_backend/export_onnx.py: the TorchScript exporter in
eval mode, the torch.export one where that fails), then `import_onnx` of the file, then compare:

- params: the imported spec's count (archscope's cost rules on the imported layers) against the
  spec's, corrected for what the exporter folds: a batchnorm that reads a conv that nothing else
  reads is folded into it (its 2·C parameters go; the conv gains a C bias if it had none), so
  imported = spec − Σ folded (2·C − C·[conv had no bias]); the file keeps the other batchnorms.
  The torch.export exporter (onnxscript's rewriter) then drops a bias that is all zeros, as the
  folded bias of a freshly initialised batchnorm is: there imported = spec − Σ folded 2·C.
- expect.params: the file's own count (initializer elements), which must equal the imported spec's.
- output shapes: every output of the imported spec against the spec's.

Prints a table (spec, params spec / expected after folding / imported, BN kept, shapes equal,
seconds to export and to import); exits 1 if any spec fails.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@dataclass
class Row:
    spec: str
    params: int = 0  # the spec's
    expected: int = 0  # after the exporter's folding
    imported: int = 0  # the imported spec's (archscope's count)
    file_params: int = 0  # expect.params: the file's own count
    bn_kept: int = 0
    bn_folded: int = 0
    shapes_equal: bool = False
    export_s: float = 0.0
    import_s: float = 0.0
    error: str = ""
    exporter: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and self.shapes_equal and self.imported == self.expected == self.file_params


def folded_batchnorms(graph) -> list:
    """The batchnorm nodes an exporter folds: each reads a conv node that nothing else reads."""
    out = []
    for node in graph.nodes:
        if node.op.startswith("batchnorm") and len(node.inputs) == 1:
            src = node.inputs[0]
            if src.op.startswith("conv") and "transpose" not in src.op and src.users == 1:
                out.append(node)
    return out


def expected_params(graph, total: int, zero_bias_dropped: bool) -> int:
    """The spec's parameters after the folding: each folded batchnorm's 2·C go, and its conv gains
    a bias of C where it had none (unless the exporter drops all-zero biases)."""
    for bn in folded_batchnorms(graph):
        c = bn.shape[0]
        total -= 2 * c if bn.attrs.get("affine", True) else 0
        total += 0 if bn.inputs[0].attrs.get("bias", True) or zero_bias_dropped else c
    return total


def roundtrip(name: str, folder: Path) -> Row:
    """Export the bundled spec ``name`` to ``folder``, import it back, compare."""
    import onnx

    from archscope.api import analyze
    from archscope.lang.bundled import bundled
    from archscope.lang.importers.onnx import import_onnx
    from archscope.torch_backend.export_onnx import onnx_model

    row = Row(name)
    analysis = analyze(str(bundled()[name].path))
    row.params = analysis.report.totals.params
    started = time.perf_counter()
    try:
        data = onnx_model(analysis, name)
    except Exception as e:  # noqa: BLE001 - reported in the table
        row.error = f"export: {type(e).__name__}: {str(e)[:120]}"
        return row
    row.export_s = time.perf_counter() - started
    path = folder / f"{name}.onnx"
    path.write_bytes(data)
    del data
    nodes = onnx.load(str(path), load_external_data=False).graph.node
    row.bn_kept = sum(1 for n in nodes if n.op_type == "BatchNormalization")
    dynamo = any(p.key.startswith("pkg.torch.onnx") for n in nodes for p in n.metadata_props)
    row.exporter = "torch.export" if dynamo else "TorchScript"
    del nodes
    started = time.perf_counter()
    result = import_onnx(path, name=name)
    row.import_s = time.perf_counter() - started
    if result.errors or result.text is None:
        row.error = "; ".join(f"{d.code} {d.message[:160]}" for d in result.diagnostics[:3])
        return row
    imported = result.stats["analysis"]
    row.imported = imported.report.totals.params
    row.file_params = imported.graph.expect["params"].value if "params" in imported.graph.expect else -1
    row.bn_folded = len(folded_batchnorms(analysis.graph))
    row.expected = expected_params(analysis.graph, row.params, zero_bias_dropped=dynamo)
    total_bn = sum(1 for n in analysis.graph.nodes if n.op.startswith("batchnorm"))
    if total_bn - row.bn_folded != row.bn_kept:
        row.error = f"{total_bn} batchnorms, {row.bn_folded} foldable, but the file keeps {row.bn_kept}"
    ours = [s for _, s in analysis.report.outputs] or [analysis.report.output_shape]
    theirs = [s for _, s in imported.report.outputs] or [imported.report.output_shape]
    row.shapes_equal = [tuple(s) for s in ours] == [tuple(s) for s in theirs]
    return row


def main(argv: list[str] | None = None) -> int:
    import archscope

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--specs", nargs="*", help="bundled spec names (default: every one)")
    parser.add_argument("--keep", type=Path, help="keep the .onnx files in this folder")
    args = parser.parse_args(argv)
    names = args.specs or [s.name for s in archscope.list_specs()]
    print(
        f"{'spec':30} {'params':>12} {'expected':>12} {'imported':>12} {'file says':>12} {'BN kept':>8} "
        f"{'shapes':>6} {'exporter':>12} {'export s':>8} {'import s':>8}  result"
    )
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            row = roundtrip(name, folder)
            if not args.keep:
                (folder / f"{name}.onnx").unlink(missing_ok=True)
            failed += not row.ok
            verdict = "ok" if row.ok else (row.error or "MISMATCH")
            print(
                f"{row.spec:30} {row.params:>12,} {row.expected:>12,} {row.imported:>12,} {row.file_params:>12,} "
                f"{row.bn_kept:>8} {'yes' if row.shapes_equal else 'no':>6} {row.exporter:>12} {row.export_s:>8.1f} "
                f"{row.import_s:>8.1f}  {verdict}",
                flush=True,
            )
    print(f"{len(names) - failed} of {len(names)} specs round-trip")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Import timm CNNs with `archscope import timm:NAME --verify` and print a table.

Run with a Python that has timm (a reference venv, not a dependency of archscope):
    PYTHONPATH=. /path/to/venv/bin/python bench/import_timm.py [NAME | py:MODULE:FACTORY ...]
For each model: did the import succeed, does `--verify` agree (outputs, per-layer params, MACs =
FlopCounterMode / 2), is `lint --strict` clean on the written spec, its line count, and the
import time; with `--torchinfo`, the time of `torchinfo.summary` on the same model in the same run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

MODELS = [
    "resnet50",
    "resnet18", "resnet50d", "seresnet50", "resnext50_32x4d", "mobilenetv2_100", "mobilenetv3_large_100",
    "efficientnet_b0", "tf_efficientnet_lite0", "densenet121", "vgg11_bn", "regnetx_002", "regnety_004",
    "mnasnet_100", "fbnetc_100", "spnasnet_100", "convnext_atto", "gernet_s", "selecsls42b", "hardcorenas_a",
    "tinynet_a",
]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=MODELS)
    parser.add_argument("--torchinfo", action="store_true")
    parser.add_argument("--flat", action="store_true")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    from archscope.api import lint
    from archscope.lang.importers.run import import_network
    from archscope.torch_backend.import_check import check_import

    print("| model | import | verify | lint --strict | layers | spec lines | params | MACs | import s | torchinfo s |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|---:|")
    failures = 0
    for name in args.names:
        started = time.perf_counter()
        source = name if ":" in name else f"timm:{name}"  # or any source: py:torchvision.models:resnet50
        result = import_network(source, inputs=(3, 224, 224) if name.startswith("py:") else None, fold=not args.flat)
        took = time.perf_counter() - started
        if result.text is None or result.errors:
            failures += 1
            reasons = "; ".join(f"{d.code} {d.message[:120]}" for d in result.errors[:3])
            print(f"| {name} | FAILED: {reasons} | | | | | | | {took:.1f} | |", flush=True)
            continue
        analysis = result.stats["analysis"]
        shapes = {n.name: n.shape for n in analysis.graph.inputs}
        check = check_import(analysis, result.stats["module"], result.stats["owner"], shapes)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{result.name}.yaml"
            path.write_text(result.text)
            linted = lint([str(path)])
            strict_clean = not any(a.diagnostics for a in linted.analyses)
        info = ""
        if args.torchinfo:
            import torchinfo

            t0 = time.perf_counter()
            torchinfo.summary(result.stats["module"], input_size=(1, *next(iter(shapes.values()))), verbose=0)
            info = f"{time.perf_counter() - t0:.1f}"
        t = analysis.report.totals
        failures += not (check.ok and strict_clean)
        print(
            f"| {name} | ok | {'agree' if check.ok else 'DIFFERS'} | {'clean' if strict_clean else 'NOT clean'} "
            f"| {t.layers} | {result.text.count(chr(10))} | {t.params:,} | {t.macs:,} | {took:.1f} | {info} |",
            flush=True,
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

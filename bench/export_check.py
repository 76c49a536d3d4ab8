"""`archscope export` on every bundled spec: the PyTorch file and the ONNX model against `build()`.

    python bench/export_check.py [--specs resnet50 vgg16 ...] [--resolution 64] [--to pytorch onnx]

For each spec (default: all of specs/), at `--resolution` (default 64; the spec's own size where
the network does not fit that one, e.g. Inception v3's fixed-size auxiliary head), with the
network archscope builds (eval mode, seed 0):
- pytorch: the exported file is written, imported, `build()`'s state_dict loaded into it
  (strict=True); the parameters are compared by name, and the outputs on one random input
  (torch.equal: the same modules in the same order give the same bits);
- onnx: the model is exported and checked (onnx.checker), then run with onnxruntime on the same
  input; the largest absolute difference from PyTorch's output is printed (float32 kernels of
  two libraries: ~1e-5 of the output's scale is agreement).
Prints one row per spec: resolution, params, seconds to export, whether the file agrees, the
ONNX file's size and its difference. Exits 1 if a spec fails. tests/torch_backend/test_export.py runs the same
check on a subset that covers every op of the bundled specs.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from archscope.api import analyze, list_specs  # noqa: E402
from archscope.torch_backend.export import class_name, pytorch_source  # noqa: E402
from archscope.torch_backend.export_onnx import onnx_model  # noqa: E402
from archscope.torch_backend.lowering import lower_graph  # noqa: E402


def analysis_at(name: str, resolution: int):
    result = analyze(name, resolution=resolution)
    if result.errors:
        return analyze(name), "own"
    return result, str(resolution)


def _tuple(out):
    return out if isinstance(out, tuple) else (out,)


def check_pytorch(analysis, folder: Path, name: str, built, inputs, expected) -> tuple[float, bool]:
    start = time.perf_counter()
    source = pytorch_source(analysis, name)
    seconds = time.perf_counter() - start
    path = folder / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"exported_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    torch.manual_seed(1)  # different initial weights: the loaded ones must replace them all
    net = getattr(module, class_name(analysis.graph))().eval()
    net.load_state_dict(built.state_dict(), strict=True)
    same_params = dict(net.named_parameters()).keys() == dict(built.named_parameters()).keys() and all(
        torch.equal(p, q) for (_, p), (_, q) in zip(sorted(net.named_parameters()), sorted(built.named_parameters()))
    )
    with torch.no_grad():
        got = _tuple(net(*inputs))
    same_out = len(got) == len(expected) and all(torch.equal(a, b) for a, b in zip(got, expected))
    return seconds, same_params and same_out


def check_onnx(analysis, name: str, built, inputs, expected) -> tuple[float, int, float]:
    import onnxruntime

    start = time.perf_counter()
    data = onnx_model(analysis, name, model=built)
    seconds = time.perf_counter() - start
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    feed = {arg.name: x.numpy() for arg, x in zip(session.get_inputs(), inputs)}
    got = session.run(None, feed)
    diff = max(float((torch.from_numpy(a) - b).abs().max()) for a, b in zip(got, expected))
    return seconds, len(data), diff


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--specs", nargs="*", help="bundled names or paths (default: every bundled spec)")
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--to", nargs="*", default=["pytorch", "onnx"], choices=["pytorch", "onnx"])
    args = parser.parse_args()
    names = args.specs or [s.name for s in list_specs()]
    folder = Path(tempfile.mkdtemp(prefix="archscope-export-"))
    print(
        f"{'spec':<32} {'res':>4} {'params':>12} {'py s':>6} {'py ok':>5} {'onnx s':>7} {'onnx MB':>8} {'max |Δ|':>9}"
    )
    failed = 0
    for name in names:
        analysis, res = analysis_at(name, args.resolution)
        torch.manual_seed(0)
        built = lower_graph(analysis.graph).eval()
        inputs = [torch.randn(1, *n.shape) for n in analysis.graph.inputs]
        with torch.no_grad():
            expected = _tuple(built(*inputs))
        row = f"{name:<32} {res:>4} {analysis.report.totals.params:>12,}"
        try:
            if "pytorch" in args.to:
                seconds, ok = check_pytorch(analysis, folder, name, built, inputs, expected)
                failed += not ok
                row += f" {seconds:>6.2f} {'yes' if ok else 'NO':>5}"
            else:
                row += f" {'':>6} {'':>5}"
            if "onnx" in args.to:
                seconds, size, diff = check_onnx(analysis, name, built, inputs, expected)
                scale = max(float(e.abs().max()) for e in expected) or 1.0
                failed += diff > 1e-4 * max(scale, 1.0)
                row += f" {seconds:>7.2f} {size / 1e6:>8.2f} {diff:>9.1e}"
        except Exception as exc:  # noqa: BLE001 - a spec that fails is reported, not hidden
            failed += 1
            row += f"  error: {type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''}"
        print(row, flush=True)
    print(f"{len(names) - failed} of {len(names)} agree")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""What several test files share that is not a fixture: a made-up calibration, the import log
reader of the static-import tests, the golden transcript, and values for every op's required
attributes. (Fixtures and the spec helpers are in conftest.py.)"""

from __future__ import annotations

from conftest import ROOT

from archscope.ops import REGISTRY
from archscope.perf.calibration import Calibration

CAL = Calibration(
    device="cpu",
    dtype="float32",
    device_name="Test CPU",
    torch="2.13.0+cpu",
    threads=1,
    gemm_gflops=50.0,
    conv_gflops=40.0,
    copy_gbs=10.0,
    triad_gbs=12.5,
    efficiency={
        **{f"{kind}@1": 0.5 for kind in ("gemm", "grouped", "pool", "norm", "elementwise", "copy")},
        **{f"{kind}@16": 0.25 for kind in ("gemm", "grouped", "pool", "norm", "elementwise", "copy")},
        "grouped@1": 0.1,
    },
    layer_overhead_us=10.0,
    framework_overhead_us=5.0,
    fit_median_error=0.2,
    fit_layers=60,
    measured_at="2026-11-30T00:00:00+00:00",
)


def imported_packages(stderr: str) -> set[str]:
    """Top-level packages in a ``python -X importtime`` log."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name and not name.startswith("imported package"):
                names.add(name.split(".")[0])
    return names


def transcript(result, args: list[str]) -> str:
    """The command, its stdout, its stderr (if any) and its exit code, as one text."""
    text = f"$ archscope {' '.join(args)}\n{result.stdout}"
    if result.stderr:
        text += f"--- stderr\n{result.stderr}"
    text += f"--- exit {result.exit_code}\n"
    return text.replace(str(ROOT), "<root>")


SIZES = (4, 6, 6, 6, 6)  # channels 4, then 6 per dimension: every window below fits
RANKS = (1, 2, 3, 4, 5)

# values for each op's required attributes
REQUIRED = {
    "conv1d": {"out": 3, "kernel": 3},
    "conv2d": {"out": 3, "kernel": 3},
    "conv_transpose1d": {"out": 3, "kernel": 3},
    "conv_transpose2d": {"out": 3, "kernel": 3},
    "conv3d": {"out": 3, "kernel": 3},
    "conv_transpose3d": {"out": 3, "kernel": 3},
    "maxpool3d": {"kernel": 2},
    "avgpool3d": {"kernel": 2},
    "group_norm": {"groups": 2},
    "channel_shuffle": {"groups": 2},
    "pixel_shuffle": {"upscale": 2},
    "pixel_unshuffle": {"downscale": 2},
    "upsample": {"scale": 2},  # optional, but one of `scale` and `size` is needed
    "linear": {"out": 5},
    "lrn": {"size": 3},
    "zeropad2d": {"padding": [1, 2, 0, 3]},
    "maxpool1d": {"kernel": 2},
    "maxpool2d": {"kernel": 2},
    "avgpool1d": {"kernel": 2},
    "avgpool2d": {"kernel": 2},
    "max_unpool2d": {"kernel": 2},
    "split": {"sections": 1},
    "std_conv2d": {"out": 3, "kernel": 3},
    "scale": {"value": 1.5},
    "reshape": {"shape": [2, -1]},
    "permute": {"dims": [0, 2, 1]},
    "transpose": {"dim0": 0, "dim1": 1},
    "multihead_attention": {"heads": 2},
}


def attrs_of(name: str) -> dict:
    """The op's defaults and the values above, normalised by each attribute's type."""
    op = REGISTRY[name]
    given = REQUIRED.get(name, {})
    return {a.name: a.type(given[a.name]) if a.name in given else a.default for a in op.attrs}

"""The calibration cache: what `archscope calibrate` measured on this machine (imports no torch).

One JSON file holds one entry per device and dtype (``cpu/float32``, ``cuda/bfloat16``), each
with the figures measured and the conditions they were measured under (torch version, CPU
threads, device name). The file lives in the user's cache directory:
``$ARCHSCOPE_CALIBRATION`` if set (a file path; tests use it), else
``$XDG_CACHE_HOME/archscope/calibration.json``, else ``~/.cache/archscope/calibration.json``.

Readers (`bench --per-layer`, `predict`) take the stored figures as they are and say when
there are none, when the file cannot be read, or when it was measured under other conditions
(another torch, another thread count); they never measure anything themselves.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from archscope.atomic import replace_file

ENV_VAR = "ARCHSCOPE_CALIBRATION"
FORMAT = 1  # the file's layout; another value is read as "no calibration"
DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2}
# every number an entry holds is finite and at least this (0 unless named): a rate, a time, a count
# or an error is never negative, NaN or infinite (json reads `NaN` and `Infinity` as floats)
MINIMUM = {"threads": 1}


class CalibrationError(Exception):
    """The cache file exists but cannot be used; the message says which file and what to do."""


@dataclass(frozen=True)
class Calibration:
    """One device and dtype, as measured. Rates are per second: GFLOP/s (1 FLOP = one multiply
    or one add) and GB/s (10⁹ bytes, read + written)."""

    device: str  # cpu | cuda
    dtype: str
    device_name: str
    torch: str
    threads: int
    gemm_gflops: float  # an n×n matrix product
    conv_gflops: float  # a large 3×3 convolution
    copy_gbs: float  # dst.copy_(src) of a tensor far larger than the caches
    triad_gbs: float  # a = b + s·c (STREAM's triad)
    # the per-layer model of `predict`, fitted on synthetic layers (torch_backend/calibrate.py):
    # time = max(FLOPs / peak, bytes / bandwidth) / efficiency(kind of kernel, batch) + overheads;
    # keys `kind@batch` (`gemm@16`): fitted at each batch size the layers were timed at, over all
    # the kind's layers; `kind:bound@batch` (`gemm:compute@16`): over those on that side of the ridge
    efficiency: dict[str, float] = field(default_factory=dict)
    layer_overhead_us: float = 0.0  # per layer: the call, dispatch and allocation
    framework_overhead_us: float = 0.0  # per layer: the network's forward between layers
    fit_median_error: float = 0.0  # |predicted / measured − 1| over the synthetic layers, median
    fit_layers: int = 0
    measured_at: str = ""  # UTC, ISO 8601
    # wall: elapsed time; cpu: the process's CPU time (time.process_time), for a busy shared
    # machine, where elapsed time measures the machine's share rather than the kernels (1 thread)
    clock: str = "wall"
    # the CPU's allocator returns an output larger than `fresh_threshold_bytes` to the system when
    # it is freed (glibc's mmap threshold, 32 MiB at most), so each call faults its pages in again,
    # at `first_touch_gbs`; 0: not measured, or no such step (CUDA's caching allocator)
    first_touch_gbs: float = 0.0
    fresh_threshold_bytes: int = 0

    @property
    def key(self) -> str:
        return entry_key(self.device, self.dtype)

    @property
    def peak_gflops(self) -> float:
        return max(self.gemm_gflops, self.conv_gflops)

    @property
    def bandwidth_gbs(self) -> float:
        return max(self.copy_gbs, self.triad_gbs)

    @property
    def ridge(self) -> float:
        """The arithmetic intensity (FLOP/byte) above which a layer is compute-bound."""
        return self.peak_gflops / self.bandwidth_gbs

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "peak_gflops": self.peak_gflops, "bandwidth_gbs": self.bandwidth_gbs}

    @classmethod
    def from_dict(cls, d: Any, where: str) -> Calibration:
        if not isinstance(d, dict):
            raise CalibrationError(f"{where}: an entry is not a JSON object")
        known = {f.name: f for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        for name, f in known.items():
            if name not in d:
                if f.default is MISSING and f.default_factory is MISSING:  # a required field
                    raise CalibrationError(f"{where}: an entry has no `{name}`")
                continue
            value = d[name]
            if name == "efficiency":
                if not isinstance(value, dict) or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0
                    for v in value.values()
                ):
                    raise CalibrationError(
                        f"{where}: `efficiency` is {value!r}, expected kinds of kernel → numbers > 0"
                    )
                kwargs[name] = {str(k): float(v) for k, v in value.items()}
                continue
            want = str(f.type)  # "str", "int" or "float" (annotations are strings here)
            ok = (
                isinstance(value, str)
                if want == "str"
                else isinstance(value, int) and not isinstance(value, bool)
                if want == "int"
                else isinstance(value, (int, float)) and not isinstance(value, bool)
            )
            if not ok:
                raise CalibrationError(f"{where}: `{name}` is {value!r}, expected a {want}")
            if want in ("int", "float") and not (math.isfinite(value) and value >= MINIMUM.get(name, 0)):
                raise CalibrationError(
                    f"{where}: `{name}` is {value!r}, expected a finite number ≥ {MINIMUM.get(name, 0)}"
                )
            kwargs[name] = float(value) if want == "float" else value
        cal = cls(**kwargs)
        if cal.peak_gflops <= 0 or cal.bandwidth_gbs <= 0:
            raise CalibrationError(f"{where}: the `{cal.key}` entry has no positive peak or bandwidth")
        return cal

    def efficiency_at(self, kind: str, batch: int, bound: str | None = None) -> float:
        """The fitted efficiency of ``kind`` at ``batch`` (of its layers on ``bound``'s side of the
        ridge where calibration had such layers, else of all its layers): between two calibrated
        batch sizes, interpolated on log(batch); outside them, the nearest; 1.0 for a kind never
        fitted (a view, which moves nothing)."""
        points = self._points(f"{kind}:{bound}") if bound else []
        return self._interpolate(points or self._points(kind), batch)

    def _points(self, kind: str) -> list[tuple[int, float]]:
        return sorted(
            (int(b), e)
            for key, e in self.efficiency.items()
            for k, _, b in [key.partition("@")]
            if k == kind and b.isdigit()
        )

    @staticmethod
    def _interpolate(points: list[tuple[int, float]], batch: int) -> float:
        if not points:
            return 1.0
        if batch <= points[0][0]:
            return points[0][1]
        for (b0, e0), (b1, e1) in zip(points, points[1:]):
            if batch <= b1:
                w = math.log(batch / b0) / math.log(b1 / b0)
                return math.exp((1 - w) * math.log(e0) + w * math.log(e1))
        return points[-1][1]

    @property
    def batches(self) -> list[int]:
        return sorted({int(key.partition("@")[2]) for key in self.efficiency if key.partition("@")[2].isdigit()})

    def conditions(self) -> str:
        clock = ", CPU time" if self.clock == "cpu" else ""
        return f"{self.device_name}, {self.threads} thread{'s' * (self.threads != 1)}, torch {self.torch}{clock}"


def entry_key(device: str, dtype: str) -> str:
    return f"{device}/{dtype}"


def cache_path() -> Path:
    """Where the cache lives (see the module docstring)."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "archscope" / "calibration.json"


def calibrate_command(device: str, dtype: str, threads: int | None = None) -> str:
    """The command line that measures what is missing."""
    return f"archscope calibrate --device {device} --dtype {dtype}" + (f" --threads {threads}" if threads else "")


def load_all(path: Path | None = None) -> dict[str, Calibration]:
    """Every entry of the cache file; {} when there is none. A file that exists but is not a
    calibration cache raises :class:`CalibrationError` with the file's name and the fix."""
    path = path or cache_path()
    fix = "delete it, or run `archscope calibrate` to write a new one (it replaces the file)"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise CalibrationError(f"the calibration cache `{path}` cannot be read ({exc}): {fix}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CalibrationError(
            f"the calibration cache `{path}` is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}): {fix}"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("entries"), dict):
        raise CalibrationError(f"the calibration cache `{path}` has no `entries` object: {fix}")
    if data.get("format") != FORMAT:
        return {}  # another archscope's layout: measured again, rather than misread
    out = {}
    for key, entry in data["entries"].items():
        cal = Calibration.from_dict(entry, f"the calibration cache `{path}`, entry `{key}`")
        out[cal.key] = cal
    return out


def lookup(device: str, dtype: str, path: Path | None = None) -> Calibration | None:
    """The stored figures for ``device`` and ``dtype``, or None."""
    return load_all(path).get(entry_key(device, dtype))


def store(cal: Calibration, path: Path | None = None) -> Path:
    """Add or replace ``cal``'s entry, keeping the others (a corrupt file is replaced); atomic
    (:func:`archscope.atomic.replace_file`)."""
    path = path or cache_path()
    try:
        entries = load_all(path)
    except CalibrationError:
        entries = {}
    entries[cal.key] = cal
    data = {"format": FORMAT, "entries": {k: asdict(v) for k, v in sorted(entries.items())}}
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_file(path, (json.dumps(data, indent=2) + "\n").encode("utf-8"))  # a fresh temporary, never a planted link
    return path


def mismatch(cal: Calibration, torch_version: str, threads: int, device_name: str | None = None) -> str | None:
    """Why the stored figures may not describe this run (None: same conditions)."""
    diffs = []
    if cal.torch != torch_version:
        diffs.append(f"torch {cal.torch}, not {torch_version}")
    if cal.device == "cpu" and cal.threads != threads:
        diffs.append(f"{cal.threads} thread{'s' * (cal.threads != 1)}, not {threads}")
    if device_name is not None and cal.device_name != device_name:
        diffs.append(f"`{cal.device_name}`, not `{device_name}`")
    if not diffs:
        return None
    threads_opt = threads if cal.device == "cpu" else None
    return (
        f"the {cal.key} calibration was measured with {'; '.join(diffs)}: the % of peak compares with "
        f"those conditions; run `{calibrate_command(cal.device, cal.dtype, threads_opt)}` to measure these"
    )


def missing_message(device: str, dtype: str, path: Path | None = None) -> str:
    return (
        f"no calibration for {device} {dtype} in `{path or cache_path()}`: "
        f"run `{calibrate_command(device, dtype)}` first"
    )

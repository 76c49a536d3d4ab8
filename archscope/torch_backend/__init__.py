"""The PyTorch backend: :func:`build` a spec into a network, :func:`verify` that the static
numbers are the network's numbers, :func:`bench` its inference speed.

This package imports no torch itself; each function imports it when called and raises
:class:`TorchMissing` (with the ``pip install 'archscope[torch]'`` command) when it is absent.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archscope.torch_backend.errors import (
    BackendError,
    DeviceUnavailable,
    LoweringError,
    MemoryEstimateTooLarge,
    TorchMissing,
)

if TYPE_CHECKING:
    from archscope.api import Analysis
    from archscope.torch_backend.benchmark import BenchConfig, BenchResult
    from archscope.torch_backend.verify_results import VerifyReport

__all__ = [
    "BackendError",
    "DeviceUnavailable",
    "LoweringError",
    "MemoryEstimateTooLarge",
    "TorchMissing",
    "bench",
    "bench_many",
    "build",
    "verify",
]


def build(source: str | Path | Analysis, **kwargs: Any) -> Any:
    """See :func:`archscope.torch_backend.lowering.build`."""
    from archscope.torch_backend.errors import require_torch

    require_torch("`build`")
    from archscope.torch_backend.lowering import build as _build

    return _build(source, **kwargs)


def verify(source: str | Path | Analysis, **kwargs: Any) -> VerifyReport:
    """See :func:`archscope.torch_backend.verification.verify`."""
    from archscope.torch_backend.errors import require_torch

    require_torch("`verify`")
    from archscope.torch_backend.verification import verify as _verify

    return _verify(source, **kwargs)


def bench(source: str | Path | Analysis, config: BenchConfig | None = None, **kwargs: Any) -> BenchResult:
    """See :func:`archscope.torch_backend.benchmark.bench`."""
    from archscope.torch_backend.errors import require_torch

    require_torch("`bench`")
    from archscope.torch_backend.benchmark import bench as _bench

    return _bench(source, config, **kwargs)


def bench_many(
    sources: Sequence[str | Path | Analysis], config: BenchConfig | None = None, **kwargs: Any
) -> list[BenchResult]:
    """See :func:`archscope.torch_backend.benchmark.bench_many` (interleaved timing of several networks)."""
    from archscope.torch_backend.errors import require_torch

    require_torch("`bench`")
    from archscope.torch_backend.benchmark import bench_many as _bench_many

    return _bench_many(sources, config, **kwargs)

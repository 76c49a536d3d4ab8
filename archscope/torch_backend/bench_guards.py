"""The guards of a benchmark: a forward call too slow to time is refused before it runs (estimated
from static MACs and this machine's measured rate), and Ctrl-C during a forward call stops it at
once (the call runs in a worker thread).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from archscope.torch_backend.errors import ForwardTooSlow, require_torch

if TYPE_CHECKING:  # (benchmark.py imports this module)
    from archscope.torch_backend.benchmark import BenchConfig


def measured_rate(device: str, dtype: str) -> float:
    """Multiply-accumulates per second of this machine: the best of a few 3×3 convolutions
    (64 → 64 channels on 56×56, 116 M MACs, ResNet's commonest layer), after one warm-up."""
    torch = require_torch()
    kind = getattr(torch, dtype)
    macs = 64 * 64 * 9 * 56 * 56
    with torch.inference_mode():
        x = torch.randn(1, 64, 56, 56, device=device, dtype=kind)
        w = torch.randn(64, 64, 3, 3, device=device, dtype=kind)
        best = float("inf")
        for _ in range(4):
            start = time.perf_counter()
            torch.nn.functional.conv2d(x, w, padding=1)
            if device == "cuda":
                torch.cuda.synchronize()
            best = min(best, time.perf_counter() - start)
    return macs / max(best, 1e-9)


def check_call_time(analyses: list[Any], config: BenchConfig, device: str) -> None:
    """Refuse (:class:`ForwardTooSlow`) when one forward call of a network at a batch size is
    estimated above ``config.max_call_s``: static MACs × batch ÷ :func:`measured_rate`. The rate
    is a dense convolution's, the best case, so the estimate errs low: it stops the hopeless
    cases (a 10-minute forward that warm-up alone would repeat five times), not the borderline."""
    if config.max_call_s is None:
        return
    rate = measured_rate(device, config.dtype)
    for a in analyses:
        for batch in config.batches:
            seconds = a.report.totals.macs * batch / rate
            if seconds > config.max_call_s:
                raise ForwardTooSlow(
                    f"`{a.report.name}` at batch {batch}: one forward call would take about {seconds:,.0f} s "
                    f"({a.report.totals.macs * batch / 1e9:,.1f} GMACs at the {rate / 1e9:,.1f} GMAC/s measured on "
                    f"{device}), and timing makes many; the limit is {config.max_call_s:g} s a call: use a "
                    "smaller batch or input, or `--force`"
                )


def interruptible(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` in a worker thread while the main thread waits for it.

    Python delivers Ctrl-C to the main thread, between bytecodes: while the main thread itself
    runs a forward pass (one long call into torch), SIGINT waits until the call returns. Waiting
    in short joins instead, the main thread raises KeyboardInterrupt within ~50 ms; the worker is
    a daemon thread, abandoned mid-call, and the process exits.

    The main thread waits on an event, never in ``Thread.join``: a KeyboardInterrupt raised inside
    ``join`` marks the thread as stopped while it still runs (CPython 3.11's bpo-45274 handling),
    and the CLI, seeing no live worker, would let the interpreter finalise under a running torch
    call, which aborts the process ("terminate called without an active exception")."""
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            outcome["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread as it is
            outcome["error"] = exc
        finally:
            done.set()

    worker = threading.Thread(target=run, name="archscope-timing", daemon=True)
    worker.start()
    while not done.wait(0.05):
        pass
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]

"""What PyTorch itself allocates: one inference pass or one training step of a built network,
measured with ``torch.distributed._tools.mem_tracker.MemTracker`` (it works on CPU and counts
every tensor storage by kind: parameters, buffers, gradients, activations, temporaries,
optimizer state). The proof of the static model, :mod:`archscope.passes.memory`
(``tests/passes/test_torch_memory.py``, ``bench/memory_check.py``).

A training step is measured in its steady state, as a training loop runs it: one step first
(which creates the optimizer's state), ``zero_grad()`` (gradients freed), then the measured
step. The loss is the sum of every output.
"""

from __future__ import annotations

import warnings
from typing import Any

from archscope.torch_backend.errors import require_torch

MODES = ("infer", "sgd", "momentum", "adam", "adamw")


def _optimizer(torch: Any, params: Any, mode: str) -> Any:
    if mode == "sgd":
        return torch.optim.SGD(params, lr=1e-3)
    if mode == "momentum":
        return torch.optim.SGD(params, lr=1e-3, momentum=0.9)
    if mode == "adam":
        return torch.optim.Adam(params, lr=1e-6)
    if mode == "adamw":
        return torch.optim.AdamW(params, lr=1e-6)
    raise ValueError(f"unknown mode `{mode}`: one of {', '.join(MODES)}")


class _NoHook:
    def remove(self) -> None:
        pass


def _skip_frozen(tracker: Any, module: Any) -> None:
    """MemTracker registers a gradient hook on every parameter, which PyTorch refuses for a frozen
    one (``requires_grad=False``); mark those as hooked already (a frozen parameter has no
    gradient to track)."""
    for param in module.parameters():
        if not param.requires_grad:
            tracker._param_to_grad_hook_handles[param] = (_NoHook(), _NoHook())


def measured_peak(module: Any, inputs: list[Any], mode: str) -> dict[str, int]:
    """MemTracker's peak snapshot (bytes by kind, and ``Total``) of one inference pass (``mode``
    ``infer``: eval mode, no grad) or one steady-state training step with an optimizer
    (``sgd``, ``momentum``, ``adam``, ``adamw``)."""
    torch = require_torch("measuring memory")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torch.distributed._tools.mem_tracker import MemTracker

    def snapshot(tracker: Any) -> dict[str, int]:
        peak = tracker.get_tracker_snapshot("peak")
        return {getattr(k, "value", k): v for device in peak.values() for k, v in device.items()}

    if mode == "infer":
        module.eval()
        tracker = MemTracker()
        _skip_frozen(tracker, module)
        tracker.track_external(module, *inputs)
        with tracker, torch.no_grad():
            module(*inputs)
        return snapshot(tracker)
    module.train()
    opt = _optimizer(torch, [p for p in module.parameters() if p.requires_grad], mode)

    def step() -> None:
        out = module(*inputs)
        outs = out if isinstance(out, tuple) else (out,)
        sum(o.sum() for o in outs).backward()
        opt.step()
        opt.zero_grad()

    step()
    tracker = MemTracker()
    _skip_frozen(tracker, module)
    tracker.track_external(module, opt, *inputs)
    with tracker:
        step()
    return snapshot(tracker)

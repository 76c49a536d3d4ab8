"""The headline number of each peer counting tool on a built network: the oracle of ``--convention``.

Each tool runs as its README tells a user to run it, on the module :func:`build` makes (in eval
mode), with batch 1 and random float inputs of the spec's input shapes:

- ``fvcore``: ``FlopCountAnalysis(net, inputs).total()`` (one fused multiply-add = 1 "flop");
- ``ptflops``: ``get_model_complexity_info(net, shape, as_strings=False)``'s MACs, with the
  ``pytorch`` backend (ptflops 0.7.5's default, named here so a later default cannot change it);
- ``thop``: ``profile(net, inputs)``'s first number (MACs);
- ``torchinfo``: ``summary(net, input_data=inputs).total_mult_adds``;
- ``flop_counter``: PyTorch's ``FlopCounterMode(display=False)`` around a forward pass,
  ``get_total_flops()`` (FLOPs: 2 per multiply-add).

Nothing here is used by a static command: ``--convention`` sums rules declared on the ops
(:mod:`archscope.passes.conventions`); this module is what the tests and
``bench/conventions_check.py`` compare those sums with. It imports torch and the tools lazily.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from archscope.torch_backend.errors import require_torch
from archscope.torch_backend.lowering import checked_analysis, lower_graph

TOOLS = ("fvcore", "ptflops", "thop", "torchinfo", "flop_counter")
PTFLOPS_BACKEND = "pytorch"


def built(source: Any, *, text: str | None = None, seed: int = 0) -> tuple[Any, list[Any]]:
    """The built network of a spec (a name, a path or an :class:`~archscope.api.Analysis`), in eval
    mode, and random batch-1 inputs of its input shapes.

    The modules are made on the meta device and then given zeroed CPU storage: the counts depend
    on the modules and shapes only, and this skips the weight initialisation (15 s for
    regnet_y_128gf's 645M parameters) and the slow denormals uninitialised memory may hold."""
    torch = require_torch("peer counts")
    analysis = checked_analysis(source, text=text)
    assert analysis.graph is not None
    generator = torch.Generator().manual_seed(seed)
    with torch.device("meta"):
        net = lower_graph(analysis.graph)
    net = net.to_empty(device="cpu").eval()
    with torch.no_grad():
        for tensor in [*net.parameters(), *net.buffers()]:
            tensor.zero_()
    inputs = [torch.randn(1, *(node.shape or ()), generator=generator) for node in analysis.graph.inputs]
    return net, inputs


def _fvcore(net: Any, inputs: list[Any]) -> int:
    from archscope.torch_backend.errors import require_fvcore

    fvnn = require_fvcore()
    analysis = fvnn.FlopCountAnalysis(net, tuple(inputs))
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    return int(analysis.total())


def _ptflops(net: Any, inputs: list[Any]) -> int:
    from ptflops import get_model_complexity_info

    names = list(net.meta["archscope"]["inputs"])
    shape = tuple(inputs[0].shape[1:])
    constructor = None
    if len(inputs) > 1:  # several inputs: ptflops calls net(**constructor(shape))
        constructor = lambda _shape: dict(zip(names, inputs))  # noqa: E731
    out = io.StringIO()
    macs, _ = get_model_complexity_info(
        net,
        shape,
        as_strings=False,
        print_per_layer_stat=False,
        input_constructor=constructor,
        backend=PTFLOPS_BACKEND,
        ost=out,
    )
    if macs is None:  # ptflops prints the exception and returns None
        raise RuntimeError(f"ptflops failed: {out.getvalue().strip()}")
    return int(macs)


def _thop(net: Any, inputs: list[Any]) -> int:
    from thop import profile

    macs, _ = profile(net, inputs=tuple(inputs), verbose=False)
    return int(macs)


def _torchinfo(net: Any, inputs: list[Any]) -> int:
    from torchinfo import summary

    return int(summary(net, input_data=list(inputs), verbose=0).total_mult_adds)


def _flop_counter(net: Any, inputs: list[Any]) -> int:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as mode:
        net(*inputs)
    return int(mode.get_total_flops())


COUNTERS: dict[str, Callable[[Any, list[Any]], int]] = {
    "fvcore": _fvcore,
    "ptflops": _ptflops,
    "thop": _thop,
    "torchinfo": _torchinfo,
    "flop_counter": _flop_counter,
}
MODULES = {"fvcore": "fvcore", "ptflops": "ptflops", "thop": "thop", "torchinfo": "torchinfo", "flop_counter": "torch"}


def installed(tool: str) -> bool:
    """Whether ``tool`` imports here (thop 0.1.1 imports distutils, which Python 3.12 lacks)."""
    import importlib

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            importlib.import_module(MODULES[tool])
    except ImportError:
        return False
    return True


def peer_count(source: str | Path | Any, tool: str, *, text: str | None = None) -> int:
    """``tool``'s headline number for the network of ``source`` (see the module docstring)."""
    torch = require_torch("peer counts")
    net, inputs = built(source, text=text)
    return count_built(net, inputs, tool, torch)


def count_built(net: Any, inputs: list[Any], tool: str, torch: Any = None) -> int:
    """``tool``'s headline number for a built network and its inputs (tools print and warn: both silenced)."""
    torch = torch or require_torch("peer counts")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
            torch.no_grad(),
        ):
            warnings.simplefilter("ignore")
            return COUNTERS[tool](net, inputs)
    finally:
        torch.set_num_threads(threads)
